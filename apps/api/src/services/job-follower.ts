import type { Queue } from 'bullmq';
import type { ModelKind } from '@model-manager/core';
import type { FetchService, JobView } from './fetch-service.js';
import type { JobEvent, JobEventHub } from './job-events.js';

/** Full re-check period: a completion missed while the events connection reconnected costs at most this. */
const RECHECK_MS = 2000;

export interface JobProgress {
  jobId: string;
  bytes: number;
  totalBytes: number | null;
  bytesPerSec: number;
}

export interface FollowHandlers {
  progress(progress: JobProgress): void;
  /** Once per job, with its final view (completed or failed). */
  finished(view: JobView): void;
  /** After the last job finished, or the API is shutting down (`shutdown` true). */
  end(shutdown: boolean): Promise<void> | void;
}

/**
 * Follows jobs until each has finished: progress from the queue's events, completion confirmed by
 * reading the job (an event alone could be a retried attempt's), and a re-read of every pending
 * job now and then, as the JobWaiter does. Handlers run one at a time, in the order events came.
 */
export class JobFollower {
  private readonly pending: Set<string>;
  private chain: Promise<void> = Promise.resolve();
  private timer: NodeJS.Timeout | undefined;
  private unsubscribe: (() => void) | undefined;
  private stopped = false;

  constructor(
    private readonly deps: { queue: Queue; fetches: FetchService; events: JobEventHub },
    /** The jobs to follow, with the model each fetches (to name a job that disappeared). */
    private readonly jobs: ReadonlyMap<string, { kind: ModelKind; name: string }>,
    private readonly handlers: FollowHandlers,
    private readonly onError: (err: unknown) => void,
  ) {
    this.pending = new Set(jobs.keys());
  }

  start(): void {
    this.unsubscribe = this.deps.events.subscribe(
      [...this.pending],
      (jobId, event) => this.onEvent(jobId, event),
      () => this.enqueue(() => this.finish(true)),
    );
    // Subscribed after the caller's first read: whatever finished in between is caught here.
    this.enqueue(() => this.recheck());
    this.timer = setInterval(() => this.enqueue(() => this.recheck()), RECHECK_MS);
  }

  /** Lets go of everything (client gone, stream ended); safe to call more than once. */
  stop(): void {
    this.stopped = true;
    clearInterval(this.timer);
    this.unsubscribe?.();
  }

  private onEvent(jobId: string, event: JobEvent): void {
    if (event.type === 'progress') {
      const data = (typeof event.data === 'object' && event.data) || {};
      const p = data as { bytes?: number; totalBytes?: number | null; bytesPerSec?: number };
      const progress = {
        jobId,
        bytes: p.bytes ?? 0,
        totalBytes: p.totalBytes ?? null,
        bytesPerSec: p.bytesPerSec ?? 0,
      };
      this.enqueue(() => {
        if (this.pending.has(jobId)) this.handlers.progress(progress);
      });
    } else this.enqueue(() => this.check(jobId));
  }

  private enqueue(step: () => Promise<void> | void): void {
    this.chain = this.chain
      .then(() => (this.stopped ? undefined : step()))
      .catch((err: unknown) => {
        this.stop();
        this.onError(err);
      });
  }

  private async recheck(): Promise<void> {
    const ids = [...this.pending];
    const states = await Promise.all(ids.map((id) => this.deps.queue.getJobState(id)));
    for (const [i, state] of states.entries()) {
      if (state === 'completed' || state === 'failed' || state === 'unknown') await this.check(ids[i]!);
    }
  }

  private async check(jobId: string): Promise<void> {
    if (!this.pending.has(jobId) || this.stopped) return;
    const view = (await this.deps.fetches.view(jobId)) ?? this.removed(jobId);
    if (view.status !== 'completed' && view.status !== 'failed') return;
    this.pending.delete(jobId);
    this.handlers.finished(view);
    if (this.pending.size === 0) await this.finish(false);
  }

  private async finish(shutdown: boolean): Promise<void> {
    if (this.stopped) return;
    this.stop();
    await this.handlers.end(shutdown);
  }

  /** A job removed (from the dashboard, say) before it finished: it will never complete. */
  private removed(jobId: string): JobView {
    const { kind, name } = this.jobs.get(jobId)!;
    return {
      jobId,
      kind,
      name,
      status: 'failed',
      progress: { bytes: 0, totalBytes: null },
      attempts: 0,
      error: { code: 'NOT_FOUND', message: `job ${jobId} was removed before it finished` },
    };
  }
}
