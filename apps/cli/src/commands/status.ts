import { expectShape } from '../args.js';
import { print, type Command } from '../context.js';
import { formatBytes, formatError } from '../format.js';

/** status JOB: where one job stands; exit 1 when it failed. */
export const statusCommand: Command = async (ctx) => {
  expectShape(ctx.args, [], ['JOB']);
  const job = await ctx.client.job(ctx.args.positionals[0]!);
  print(ctx, job, () => {
    const { bytes, totalBytes } = job.progress;
    const size = totalBytes ? `${formatBytes(bytes)} / ${formatBytes(totalBytes)} (${Math.floor((100 * bytes) / totalBytes)}%)` : formatBytes(bytes);
    // Maintenance jobs (verify, scan) may name no model.
    const what = [job.kind, job.name].filter(Boolean).join('/') || 'maintenance';
    const lines = [`job ${job.jobId}  ${what}  ${job.status}  ${size}  attempts ${job.attempts}`];
    if (job.model) lines.push(`path   ${job.model.path}`, `sha256 ${job.model.sha256}`);
    if (job.error) lines.push(`error  ${formatError(job.error)}`);
    if (job.lastError) lines.push(`last attempt: ${formatError(job.lastError)}`);
    if (job.result !== undefined) lines.push(`result ${JSON.stringify(job.result)}`);
    return lines.join('\n');
  });
  return job.status === 'failed' ? 1 : 0;
};
