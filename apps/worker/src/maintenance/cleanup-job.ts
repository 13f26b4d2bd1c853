import type { Job } from 'bullmq';
import type { MaintenanceJobData } from '@model-manager/core';
import type { CleanupReport } from '@model-manager/registry';
import type { MaintenanceDeps } from './maintenance-deps.js';

/**
 * A `cleanup` job (the CLEANUP_CRON schedule, or one added by hand): quota eviction. What it
 * removed and why is logged, written to the job's log and returned, so the dashboard shows it.
 */
export async function processCleanupJob(
  job: Job<MaintenanceJobData<'cleanup'>>,
  deps: MaintenanceDeps,
): Promise<CleanupReport> {
  const report = await deps.cleanup.run({ quota: true, dryRun: job.data.dryRun, trigger: job.data.trigger });
  const verb = report.dryRun ? 'would remove' : 'removed';
  for (const m of report.removed) await job.log(`${verb} ${m.kind}/${m.name} (${m.fileSize} bytes): ${m.reason}`);
  for (const m of report.skipped) await job.log(`kept ${m.kind}/${m.name}: ${m.reason}`);
  await job.log(`${verb} ${report.removed.length} models, ${report.freedBytes} bytes; limits hold: ${report.fits}`);
  return report;
}
