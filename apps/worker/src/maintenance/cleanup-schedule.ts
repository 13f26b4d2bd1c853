import type { Queue } from 'bullmq';
import { CLEANUP_SCHEDULER_ID, type Config, type Logger, type MaintenanceJobData } from '@model-manager/core';

/**
 * Registers (or updates) the quota eviction schedule on the maintenance queue; CLEANUP_CRON=off
 * removes it. Every worker does this at start: an upsert of the same id is idempotent.
 */
export async function scheduleCleanup(queue: Queue, config: Config, logger: Logger): Promise<void> {
  if (config.CLEANUP_CRON.trim().toLowerCase() === 'off') {
    await queue.removeJobScheduler(CLEANUP_SCHEDULER_ID);
    logger.info('scheduled cleanup is off (CLEANUP_CRON=off)');
    return;
  }
  const data: MaintenanceJobData<'cleanup'> = { trigger: 'schedule', dryRun: false };
  await queue.upsertJobScheduler(
    CLEANUP_SCHEDULER_ID,
    { pattern: config.CLEANUP_CRON },
    { name: 'cleanup', data, opts: { removeOnComplete: { count: 100 }, removeOnFail: { count: 100 } } },
  );
  logger.info({ cron: config.CLEANUP_CRON }, 'scheduled cleanup registered');
}
