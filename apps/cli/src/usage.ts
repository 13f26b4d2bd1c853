/** A mistake in the command line: exit code 2 and the usage text. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}

export const USAGE = `Usage: model-manager COMMAND [options]

Commands:
  fetch KIND REF [--name NAME] [--sha256 H] [--mirror URL]... [--wait]
                                       fetch one model (also: fetch KIND NAME URL)
  prefetch FILE [--wait]               queue a batch: a JSON list of ModelRef (or {"items": [...]}),
                                       or lines "KIND REF [NAME]" (# starts a comment line)
  status JOB                           show one job
  ls [--kind KIND]                     list the models on the volume
  stats                                counts, sizes, disk usage, cache hit rate
  gc [--dry-run] [--max-age-days N] [--keep-popular N] [--quota]
                                       delete old or least valuable models
  verify [--kind KIND] [--name NAME] [--refetch] [--wait]
                                       re-hash files against the registry
  scan [--wait]                        reconcile the registry with the folders
  pin KIND NAME | unpin KIND NAME      keep a model through every cleanup, or stop

KIND is checkpoint, lora or embedding. REF is an http(s):// URL or a reference:
hf:OWNER/REPO/PATH[@REVISION], civitai:VERSION_ID or urn:air:ECOSYSTEM:TYPE:civitai:MODEL@VERSION.
NAME defaults to the file's name without its extension.

Options for every command:
  --api-url URL    the API (default: $API_URL, else http://127.0.0.1:3000)
  --token TOKEN    bearer token for the API (default: $API_TOKEN)
  --json           print exactly one JSON document on stdout
  -h, --help       this text

Exit codes: 0 all went well, 1 something failed (a job, a request), 2 usage error.`;
