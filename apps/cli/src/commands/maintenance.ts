import type {
  CleanupResult,
  JobView,
  ModelManagerClient,
  ScanResult,
  VerifyRequest,
  VerifyResult,
} from '@model-manager/client';
import { expectShape, modelKind } from '../args.js';
import { print, type Command, type CommandContext } from '../context.js';
import { formatBytes, formatError, table } from '../format.js';

const list = (title: string, lines: string[]) =>
  lines.length === 0 ? [] : [`${title}:`, ...lines.map((l) => `  ${l}`)];

/** What a verify found; a mismatched or missing file is a problem (exit 1). */
function describeVerify(r: VerifyResult): { text: string; problems: boolean } {
  const text = [
    `checked ${r.checked}: ${r.ok} ok, ${r.mismatched.length} mismatched, ${r.missing.length} missing`,
    ...list(
      'mismatched',
      r.mismatched.map((m) => `${m.kind}/${m.name}  expected ${m.expected}  got ${m.actual}`),
    ),
    ...list(
      'missing',
      r.missing.map((m) => `${m.kind}/${m.name}`),
    ),
    ...list(
      'quarantined',
      r.quarantined.map((m) => `${m.kind}/${m.name}  ${m.path}`),
    ),
    ...list(
      're-fetching',
      r.refetchJobs.map((id) => `job ${id}`),
    ),
  ].join('\n');
  return { text, problems: r.mismatched.length > 0 || r.missing.length > 0 };
}

function describeScan(r: ScanResult): { text: string; problems: boolean } {
  const text = [
    `adopted ${r.adopted.length}, dropped ${r.dropped.length}, size drift ${r.sizeDrift.length}, skipped ${r.skipped?.length ?? 0}`,
    ...list(
      'adopted',
      r.adopted.map((m) => `${m.kind}/${m.name}  ${formatBytes(m.fileSize)}  ${m.path}`),
    ),
    ...list(
      'dropped (file gone)',
      r.dropped.map((m) => `${m.kind}/${m.name}`),
    ),
    ...list(
      'size drift',
      r.sizeDrift.map((m) => `${m.kind}/${m.name}  registered ${m.registered} B, on disk ${m.actual} B`),
    ),
    // A service older than this CLI leaves these out.
    ...list(
      'skipped (not adopted)',
      (r.skipped ?? []).map((m) => `${m.kind}/${m.file}  ${m.reason}`),
    ),
    ...list(
      'unreadable registry entries (treated as absent)',
      (r.unreadable ?? []).map((m) => `${m.kind}/${m.name}  ${m.reason}`),
    ),
  ].join('\n');
  return { text, problems: false };
}

/**
 * A cleanup's answer (gc, or a scheduled cleanup job's result): what went and why, what quota
 * eviction had to keep, and whether the limits hold now. Still over a limit is a problem (exit 1).
 */
export function describeCleanup(result: CleanupResult): { text: string; problems: boolean } {
  const verb = result.dryRun ? 'would remove' : 'removed';
  const lines: string[] = [];
  if (result.removed.length === 0) lines.push(`nothing to remove${result.dryRun ? ' (dry run)' : ''}`);
  else {
    const rows = result.removed.map((m) => [m.kind, m.name, formatBytes(m.fileSize), m.reason ?? '']);
    lines.push(table(['KIND', 'NAME', 'SIZE', 'REASON'], rows));
    const noun = result.removed.length === 1 ? 'model' : 'models';
    lines.push(
      `${verb} ${result.removed.length} ${noun}, ${formatBytes(result.freedBytes)}${result.dryRun ? ' (dry run: nothing was deleted)' : ''}`,
    );
  }
  lines.push(
    ...list(
      'kept',
      (result.skipped ?? []).map((m) => `${m.kind}/${m.name}  ${m.reason}`),
    ),
  );
  if (result.fits === false)
    lines.push(
      'still over CACHE_MAX_BYTES or under MIN_FREE_BYTES: everything else is pinned, leased, too young or being fetched',
    );
  return { text: lines.join('\n'), problems: result.fits === false };
}

/** A finished maintenance job's result for people; undefined for a fetch job or one without a result. */
export function describeMaintenance(job: JobView): { text: string; problems: boolean } | undefined {
  if (job.status !== 'completed' || job.result === undefined) return undefined;
  if (job.job === 'verify') return describeVerify(job.result as VerifyResult);
  if (job.job === 'scan') return describeScan(job.result as ScanResult);
  if (job.job === 'cleanup') return describeCleanup(job.result as CleanupResult);
  return undefined;
}

/** Queues a maintenance job; with --wait, follows it and prints its result. */
async function runMaintenance(
  ctx: CommandContext,
  what: string,
  start: (client: ModelManagerClient) => Promise<{ jobId: string }>,
): Promise<number> {
  const { jobId } = await start(ctx.client);
  if (!ctx.args.values.wait) {
    print(ctx, { jobId }, () => `${what} queued as job ${jobId} (follow it: model-manager status ${jobId})`);
    return 0;
  }
  if (!ctx.json) ctx.stderr.write(`${what}: job ${jobId} running…\n`);
  const [job] = await ctx.client.waitFor([jobId]);
  const outcome = describeMaintenance(job!) ?? { text: `${what} failed: ${formatError(job!.error)}`, problems: true };
  print(ctx, job, () => outcome.text);
  return outcome.problems ? 1 : 0;
}

/** verify [--kind K] [--name N] [--refetch] [--wait]: exit 1 when a file is corrupt or missing. */
export const verifyCommand: Command = async (ctx) => {
  const { values } = ctx.args;
  expectShape(ctx.args, ['kind', 'name', 'refetch', 'wait'], []);
  const request: VerifyRequest = {};
  if (values.kind !== undefined) request.kind = modelKind(values.kind, '--kind');
  if (values.name !== undefined) request.name = values.name;
  if (values.refetch) request.refetch = true;
  return runMaintenance(ctx, 'verify', (client) => client.verify(request));
};

/** scan [--wait]: adopt hand-copied files, drop entries whose file is gone. */
export const scanCommand: Command = async (ctx) => {
  expectShape(ctx.args, ['wait'], []);
  return runMaintenance(ctx, 'scan', (client) => client.scan());
};
