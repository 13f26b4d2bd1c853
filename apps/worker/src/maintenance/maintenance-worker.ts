import { Worker, type Job } from 'bullmq';
import { MAINTENANCE_QUEUE, maintenanceJobCatalog, type MaintenanceJobName } from '@model-manager/core';
import { processCleanupJob } from './cleanup-job.js';
import type { MaintenanceDeps } from './maintenance-deps.js';
import { processScanJob } from './scan-job.js';
import { processVerifyJob } from './verify-job.js';

type MaintenanceProcessor = (job: Job, deps: MaintenanceDeps) => Promise<unknown>;

/** One processor per maintenance job name, each in its own file beside this one. */
const processors: Partial<Record<MaintenanceJobName, MaintenanceProcessor>> = {
  cleanup: processCleanupJob,
  verify: processVerifyJob,
  scan: processScanJob,
};

/**
 * The worker for the `model-maintenance` queue: one job at a time per process (upkeep reads
 * or rewrites the whole volume; running two at once only makes both slower).
 */
export function createMaintenanceWorker(deps: MaintenanceDeps): Worker {
  const worker = new Worker(
    MAINTENANCE_QUEUE,
    async (job: Job) => {
      const name = job.name as MaintenanceJobName;
      const schema = maintenanceJobCatalog[name];
      const processor = processors[name];
      if (!schema || !processor) throw new Error(`UNKNOWN_JOB: no maintenance job is called "${job.name}"`);
      const data = schema.parse(job.data);
      return processor(Object.assign(job, { data }), deps);
    },
    { name: deps.workerName, connection: deps.redis, prefix: deps.config.QUEUE_PREFIX, concurrency: 1 },
  );
  // Its errors are logged by the caller, with the rest of the connection's (see connectionLog).
  return worker;
}
