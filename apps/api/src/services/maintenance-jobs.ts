import { randomUUID } from 'node:crypto';
import { Job, type Queue } from 'bullmq';
import {
  maintenanceJobCatalog,
  parseFailedReason,
  type ErrorInfo,
  type MaintenanceJobData,
  type MaintenanceJobName,
  type ModelKind,
} from '@model-manager/core';
import type { Registry } from '@model-manager/registry';
import { publicStatus, type PublicStatus } from './fetch-service.js';

/** A maintenance job as GET /v1/jobs/:id shows it: the JobView shape, with `result` instead of `model`. */
export interface MaintenanceJobView {
  jobId: string;
  /** Which maintenance job: cleanup, verify or scan. */
  job: string;
  /** The model (or kind) a verify was limited to. */
  kind?: ModelKind;
  name?: string;
  status: PublicStatus;
  /** As the job reports it; verify and scan: `{ checked, total }`. */
  progress: Record<string, unknown>;
  attempts: number;
  result?: unknown;
  error?: ErrorInfo;
}

/** Adds maintenance jobs (ids `<name>-<uuid>`) and shows them. */
export class MaintenanceJobs {
  constructor(
    private readonly queue: Queue,
    private readonly registry: Registry,
  ) {}

  async add<N extends MaintenanceJobName>(name: N, data: MaintenanceJobData<N>): Promise<string> {
    const job = await this.queue.add(name, maintenanceJobCatalog[name].parse(data), {
      jobId: `${name}-${randomUUID()}`,
      // Upkeep is asked for again rather than retried: a half-done run reports what it found.
      attempts: 1,
      removeOnComplete: { age: 24 * 3600, count: 1000 },
      removeOnFail: { age: 7 * 24 * 3600, count: 1000 },
    });
    return job.id!;
  }

  async view(jobId: string): Promise<MaintenanceJobView | null> {
    // State first, as FetchService.view does: a job read before it finished and its state read
    // after would show "completed" with no result (one Lua script writes both, so this way round
    // a final state always comes with its result or reason).
    const state = await this.queue.getJobState(jobId);
    const job = await Job.fromId(this.queue, jobId);
    if (!job) return null;
    const status = publicStatus(state);
    const data = (job.data ?? {}) as { kind?: ModelKind; name?: string };
    const view: MaintenanceJobView = {
      jobId,
      job: job.name,
      ...(data.kind ? { kind: data.kind } : {}),
      ...(data.name ? { name: data.name } : {}),
      status,
      progress:
        typeof job.progress === 'object' && job.progress !== null ? (job.progress as Record<string, unknown>) : {},
      attempts: job.attemptsStarted ?? job.attemptsMade,
    };
    if (status === 'completed') {
      view.result = job.returnvalue;
      // The job rewrote the registry: whoever reads this answer next must see its work.
      this.registry.invalidate();
    }
    if (status === 'failed') view.error = parseFailedReason(job.failedReason);
    return view;
  }
}
