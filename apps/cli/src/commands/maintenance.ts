import type { JobView, ModelManagerClient, ScanResult, VerifyRequest, VerifyResult } from '@model-manager/client';
import { expectShape, modelKind } from '../args.js';
import { print, type Command, type CommandContext } from '../context.js';
import { formatBytes, formatError } from '../format.js';

const list = (title: string, lines: string[]) => (lines.length === 0 ? [] : [`${title}:`, ...lines.map((l) => `  ${l}`)]);

/** Queues a maintenance job; with --wait, follows it and prints its result. */
async function runMaintenance(
  ctx: CommandContext,
  what: string,
  start: (client: ModelManagerClient) => Promise<{ jobId: string }>,
  describe: (job: JobView) => { text: string; problems: boolean },
): Promise<number> {
  const { jobId } = await start(ctx.client);
  if (!ctx.args.values.wait) {
    print(ctx, { jobId }, () => `${what} queued as job ${jobId} (follow it: model-manager status ${jobId})`);
    return 0;
  }
  if (!ctx.json) ctx.stderr.write(`${what}: job ${jobId} running…\n`);
  const [job] = await ctx.client.waitFor([jobId]);
  const outcome = job!.status === 'completed' ? describe(job!) : { text: `${what} failed: ${formatError(job!.error)}`, problems: true };
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
  return runMaintenance(ctx, 'verify', (client) => client.verify(request), (job) => {
    const r = job.result as VerifyResult;
    const text = [
      `checked ${r.checked}: ${r.ok} ok, ${r.mismatched.length} mismatched, ${r.missing.length} missing`,
      ...list('mismatched', r.mismatched.map((m) => `${m.kind}/${m.name}  expected ${m.expected}  got ${m.actual}`)),
      ...list('missing', r.missing.map((m) => `${m.kind}/${m.name}`)),
      ...list('quarantined', r.quarantined.map((m) => `${m.kind}/${m.name}  ${m.path}`)),
      ...list('re-fetching', r.refetchJobs.map((id) => `job ${id}`)),
    ].join('\n');
    return { text, problems: r.mismatched.length > 0 || r.missing.length > 0 };
  });
};

/** scan [--wait]: adopt hand-copied files, drop entries whose file is gone. */
export const scanCommand: Command = async (ctx) => {
  expectShape(ctx.args, ['wait'], []);
  return runMaintenance(ctx, 'scan', (client) => client.scan(), (job) => {
    const r = job.result as ScanResult;
    const text = [
      `adopted ${r.adopted.length}, dropped ${r.dropped.length}, size drift ${r.sizeDrift.length}`,
      ...list('adopted', r.adopted.map((m) => `${m.kind}/${m.name}  ${formatBytes(m.fileSize)}  ${m.path}`)),
      ...list('dropped (file gone)', r.dropped.map((m) => `${m.kind}/${m.name}`)),
      ...list('size drift', r.sizeDrift.map((m) => `${m.kind}/${m.name}  registered ${m.registered} B, on disk ${m.actual} B`)),
    ].join('\n');
    return { text, problems: false };
  });
};
