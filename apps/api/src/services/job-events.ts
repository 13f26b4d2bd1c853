import { EventEmitter } from 'node:events';
import type { QueueEvents } from 'bullmq';

/** What the queue says about one job: its worker's progress report, or that it finished. */
export type JobEvent = { type: 'progress'; data: unknown } | { type: 'completed' | 'failed' };

const channel = (jobId: string) => `job:${jobId}`; // never 'error' or 'close', whatever the id

/**
 * Fans the API's one QueueEvents stream out to the clients following jobs (SSE), by job id, so
 * a thousand open streams cost a thousand listeners, not a thousand Redis connections.
 */
export class JobEventHub {
  private readonly emitter = new EventEmitter();
  private closed = false;

  constructor(queueEvents: QueueEvents) {
    this.emitter.setMaxListeners(0);
    queueEvents.on('progress', ({ jobId, data }) => this.emitter.emit(channel(jobId), { type: 'progress', data }));
    queueEvents.on('completed', ({ jobId }) => this.emitter.emit(channel(jobId), { type: 'completed' }));
    queueEvents.on('failed', ({ jobId }) => this.emitter.emit(channel(jobId), { type: 'failed' }));
  }

  /**
   * Calls `listener` for every event of these jobs and `onClose` when the API shuts down (at once
   * if it already is). Returns the function that removes both.
   */
  subscribe(
    jobIds: readonly string[],
    listener: (jobId: string, event: JobEvent) => void,
    onClose: () => void,
  ): () => void {
    const bound = jobIds.map((id) => [channel(id), (event: JobEvent) => listener(id, event)] as const);
    for (const [name, fn] of bound) this.emitter.on(name, fn);
    this.emitter.on('close', onClose);
    if (this.closed) queueMicrotask(onClose);
    return () => {
      for (const [name, fn] of bound) this.emitter.off(name, fn);
      this.emitter.off('close', onClose);
    };
  }

  /** Listeners held by open streams (0 when every stream is gone): tells a leak. */
  listenerCount(): number {
    return this.emitter.eventNames().reduce((n, name) => n + this.emitter.listenerCount(name), 0);
  }

  /** Ends every open stream (shutdown). */
  close(): void {
    this.closed = true;
    this.emitter.emit('close');
  }
}
