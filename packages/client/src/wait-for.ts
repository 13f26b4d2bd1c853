import type { ServerSentEvent } from './sse.js';
import type { BatchView, JobProgress, JobView } from './types.js';

/** What waiting needs from the client: JSON GETs and an events stream, both under one abort signal. */
export interface EventsTransport {
  getJson<T>(path: string, signal: AbortSignal): Promise<T>;
  /** The stream, or `null` when the API has no events route (an older server: poll instead). */
  openEvents(path: string, signal: AbortSignal): Promise<AsyncIterable<ServerSentEvent> | null>;
}

export interface WaitCallbacks {
  onProgress?: (progress: JobProgress) => void;
  /** Each job as it completes or fails (in a batch: every job that had one, not the cached items). */
  onJobSettled?: (job: JobView) => void;
}

/** How long one poll may hang on the API (`?wait=`), which is also how often progress is seen without events. */
const POLL_WAIT_SECONDS = 2;
/** A stream that ended without its final event (API restart, proxy timeout) is opened again after this. */
const RECONNECT_DELAY_MS = 1000;

const isFinal = (job: JobView) => job.status === 'completed' || job.status === 'failed';
const jobPath = (jobId: string) => `/v1/jobs/${encodeURIComponent(jobId)}`;
const batchPath = (batchId: string) => `/v1/batches/${encodeURIComponent(batchId)}`;

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) return reject(signal.reason);
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal.reason);
    };
    signal.addEventListener('abort', onAbort, { once: true });
  });
}

/**
 * Reads a stream to its final event; a connection cut mid-stream (API restart, proxy) counts as
 * an end without one, so the caller asks the API where things stand instead of failing the wait.
 */
async function untilCut<T>(signal: AbortSignal, read: () => Promise<T | undefined>): Promise<T | undefined> {
  try {
    return await read();
  } catch (err) {
    if (signal.aborted || err instanceof SyntaxError) throw err;
    return undefined;
  }
}

/** Speed from two successive polls, for the API without events (whose polls carry no speed). */
function progressFromPolls(
  job: JobView,
  previous: { bytes: number; at: number } | undefined,
  now: number,
): JobProgress {
  const seconds = previous ? (now - previous.at) / 1000 : 0;
  const bytes = job.progress.bytes ?? 0;
  const bytesPerSec = previous && seconds > 0 ? Math.max(0, (bytes - previous.bytes) / seconds) : null;
  return {
    jobId: job.jobId,
    kind: job.kind,
    name: job.name,
    bytes,
    totalBytes: job.progress.totalBytes ?? null,
    bytesPerSec,
  };
}

/** Polls GET /v1/jobs/:id?wait= until the job has finished, reporting progress after every poll. */
async function pollJob(
  transport: EventsTransport,
  jobId: string,
  signal: AbortSignal,
  callbacks: WaitCallbacks,
): Promise<JobView> {
  let previous: { bytes: number; at: number } | undefined;
  for (;;) {
    const job = await transport.getJson<JobView>(`${jobPath(jobId)}?wait=${POLL_WAIT_SECONDS}`, signal);
    if (isFinal(job)) {
      callbacks.onJobSettled?.(job);
      return job;
    }
    const now = Date.now();
    if (job.status === 'active') callbacks.onProgress?.(progressFromPolls(job, previous, now));
    previous = { bytes: job.progress.bytes ?? 0, at: now };
  }
}

/** Follows one job: its events stream when the API has one, else polling. */
export async function followJob(
  transport: EventsTransport,
  jobId: string,
  signal: AbortSignal,
  callbacks: WaitCallbacks,
): Promise<JobView> {
  for (;;) {
    const stream = await transport.openEvents(`${jobPath(jobId)}/events`, signal);
    if (!stream) return pollJob(transport, jobId, signal, callbacks);
    let identity: Pick<JobView, 'kind' | 'name'> | undefined;
    const final = await untilCut(signal, async () => {
      for await (const message of stream) {
        if (message.event === 'state') {
          const job = JSON.parse(message.data) as JobView;
          identity = { kind: job.kind, name: job.name };
          if (isFinal(job)) return job;
        } else if (message.event === 'progress') {
          callbacks.onProgress?.({ ...identity, ...(JSON.parse(message.data) as JobProgress) });
        } else if (message.event === 'completed' || message.event === 'failed') {
          return JSON.parse(message.data) as JobView;
        }
      }
      return undefined;
    });
    if (final) {
      callbacks.onJobSettled?.(final);
      return final;
    }
    // Ended (or cut) without a final event: the job may have finished meanwhile.
    const job = await transport.getJson<JobView>(jobPath(jobId), signal);
    if (isFinal(job)) {
      callbacks.onJobSettled?.(job);
      return job;
    }
    await sleep(RECONNECT_DELAY_MS, signal);
  }
}

/** Follows a batch to its end: its events stream when the API has one, else each of its jobs by polling. */
export async function followBatch(
  transport: EventsTransport,
  batchId: string,
  signal: AbortSignal,
  callbacks: WaitCallbacks,
): Promise<BatchView> {
  const settled = new Set<string>();
  const settle = (job: JobView) => {
    if (settled.has(job.jobId)) return;
    settled.add(job.jobId);
    callbacks.onJobSettled?.(job);
  };
  for (;;) {
    const stream = await transport.openEvents(`${batchPath(batchId)}/events`, signal);
    if (!stream) {
      const view = await transport.getJson<BatchView>(batchPath(batchId), signal);
      const running = view.jobs.flatMap((item) =>
        item.jobId && (item.status === 'queued' || item.status === 'active') ? [item.jobId] : [],
      );
      await Promise.all(
        running.map((jobId) => pollJob(transport, jobId, signal, { ...callbacks, onJobSettled: settle })),
      );
      return transport.getJson<BatchView>(batchPath(batchId), signal);
    }
    const done = await untilCut(signal, async () => {
      for await (const message of stream) {
        if (message.event === 'progress') callbacks.onProgress?.(JSON.parse(message.data) as JobProgress);
        else if (message.event === 'completed' || message.event === 'failed')
          settle(JSON.parse(message.data) as JobView);
        else if (message.event === 'done') return JSON.parse(message.data) as BatchView;
      }
      return undefined;
    });
    if (done) return done;
    const view = await transport.getJson<BatchView>(batchPath(batchId), signal);
    if (view.done) return view;
    await sleep(RECONNECT_DELAY_MS, signal);
  }
}
