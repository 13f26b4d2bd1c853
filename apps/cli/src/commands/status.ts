import type { JobView } from '@model-manager/client';
import { expectShape } from '../args.js';
import { print, type Command } from '../context.js';
import { formatBytes, formatError } from '../format.js';
import { describeMaintenance } from './maintenance.js';

/** "1.0 MiB / 2.0 MiB (50%)" for a download, "3 of 7 models checked" for a verify or scan. */
function progressOf(job: JobView): string {
  const p = job.progress;
  if (job.job !== undefined) return p.total === undefined ? '' : `${p.checked ?? 0} of ${p.total} models checked`;
  const bytes = p.bytes ?? 0;
  return p.totalBytes
    ? `${formatBytes(bytes)} / ${formatBytes(p.totalBytes)} (${Math.floor((100 * bytes) / p.totalBytes)}%)`
    : formatBytes(bytes);
}

/** status JOB: where one job stands; exit 1 when it failed, or a verify found a bad file. */
export const statusCommand: Command = async (ctx) => {
  expectShape(ctx.args, [], ['JOB']);
  const job = await ctx.client.job(ctx.args.positionals[0]!);
  const maintenance = describeMaintenance(job);
  print(ctx, job, () => {
    // A maintenance job is named by what it is (verify, scan, cleanup) and what it was limited to.
    const what = [job.job, [job.kind, job.name].filter(Boolean).join('/')].filter(Boolean).join(' ');
    const lines = [
      [`job ${job.jobId}`, what, job.status, progressOf(job), `attempts ${job.attempts}`].filter(Boolean).join('  '),
    ];
    if (job.model) lines.push(`path   ${job.model.path}`, `sha256 ${job.model.sha256}`);
    if (job.error) lines.push(`error  ${formatError(job.error)}`);
    if (job.lastError) lines.push(`last attempt: ${formatError(job.lastError)}`);
    if (maintenance) lines.push(maintenance.text);
    else if (job.result !== undefined) lines.push(`result ${JSON.stringify(job.result)}`);
    return lines.join('\n');
  });
  return job.status === 'failed' || maintenance?.problems ? 1 : 0;
};
