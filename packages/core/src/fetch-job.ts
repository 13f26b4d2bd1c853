import { randomUUID } from 'node:crypto';
import type { Config } from './config.js';
import { modelKey } from './redis-keys.js';
import type { FetchModelJobData, ModelRef, SourceRecord } from './schemas.js';

/** What the API learnt of the file before queueing it (from the host's metadata). */
export interface KnownBeforehand {
  /** The size the host published. */
  expectedSize?: number;
  /** Where the file comes from, for the registry entry. */
  source?: SourceRecord;
  /** Why no SHA-256 is known, when none is (none given or published, metadata unavailable and why). */
  unverifiedReason?: string;
}

/**
 * The data and options of a `fetch-model` job, shared by the API and by the worker's verify job
 * (which re-fetches corrupt models), so a job added by either is the same job.
 */
export function fetchJobData(ref: ModelRef, known: KnownBeforehand = {}): FetchModelJobData {
  const data: FetchModelJobData = {
    kind: ref.kind,
    name: ref.name,
    url: ref.url,
    requestedAt: Date.now(),
    requestId: randomUUID(),
  };
  if (ref.sha256) data.sha256 = ref.sha256;
  if (ref.mirrors?.length) data.mirrors = ref.mirrors;
  if (known.expectedSize !== undefined) data.expectedSize = known.expectedSize;
  if (known.source) data.source = known.source;
  if (!ref.sha256 && known.unverifiedReason) data.unverifiedReason = known.unverifiedReason;
  return data;
}

export function fetchJobOptions(
  config: Pick<Config, 'DOWNLOAD_ATTEMPTS' | 'DOWNLOAD_BACKOFF_MS'>,
  ref: ModelRef,
  priority: number,
) {
  return {
    deduplication: { id: modelKey(ref.kind, ref.name) },
    priority,
    attempts: config.DOWNLOAD_ATTEMPTS,
    // The workers' backoff strategy: exponential with jitter, at least the origin's Retry-After.
    backoff: { type: 'model-fetch', delay: config.DOWNLOAD_BACKOFF_MS },
    removeOnComplete: { age: 24 * 3600, count: 10_000 },
    removeOnFail: { age: 7 * 24 * 3600, count: 10_000 },
  };
}
