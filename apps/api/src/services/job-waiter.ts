import { EventEmitter } from 'node:events';
import type { Queue, QueueEvents } from 'bullmq';

const FINISHED = new Set(['completed', 'failed', 'unknown']);
/** Full re-check period: covers events missed while the events connection reconnected. Longer for long lists. */
const recheckMs = (pending: number) => 2000 + 10 * pending;

/**
 * Waits for jobs to finish. One QueueEvents stream per process feeds every waiter; each waiter
 * also re-reads job states now and then, so a missed event costs at most RECHECK_MS.
 */
export class JobWaiter {
  private readonly finished = new EventEmitter();
  private closed = false;

  constructor(
    private readonly queue: Queue,
    queueEvents: QueueEvents,
  ) {
    this.finished.setMaxListeners(0);
    queueEvents.on('completed', ({ jobId }) => this.finished.emit('finished', jobId));
    queueEvents.on('failed', ({ jobId }) => this.finished.emit('finished', jobId));
  }

  /** Ends every wait now (shutdown): waiting requests answer with where their jobs stand. */
  close(): void {
    this.closed = true;
    this.finished.emit('close');
  }

  /** Resolves true when every job finished, false when the time ran out or the signal fired. */
  async waitFor(jobIds: readonly string[], timeoutMs: number, signal?: AbortSignal): Promise<boolean> {
    const pending = new Set(jobIds);
    if (pending.size === 0) return true;
    const deadline = Date.now() + timeoutMs;
    let wake: (() => void) | undefined;
    const onFinished = (jobId: string) => {
      if (pending.delete(jobId) && pending.size === 0) wake?.();
    };
    const onAbort = () => wake?.();
    this.finished.on('finished', onFinished);
    this.finished.on('close', onAbort);
    signal?.addEventListener('abort', onAbort);
    try {
      while (pending.size > 0 && Date.now() < deadline && !signal?.aborted && !this.closed) {
        const woken = new Promise<void>((resolve) => {
          wake = resolve;
        });
        const states = await Promise.all(
          [...pending].map(async (id) => [id, await this.queue.getJobState(id)] as const),
        );
        for (const [id, state] of states) if (FINISHED.has(state)) pending.delete(id);
        if (pending.size === 0) break;
        let timer: NodeJS.Timeout | undefined;
        await Promise.race([
          woken,
          new Promise<void>((resolve) => {
            timer = setTimeout(resolve, Math.max(0, Math.min(recheckMs(pending.size), deadline - Date.now())));
          }),
        ]);
        clearTimeout(timer);
      }
      return pending.size === 0;
    } finally {
      this.finished.off('finished', onFinished);
      this.finished.off('close', onAbort);
      signal?.removeEventListener('abort', onAbort);
    }
  }
}
