import type { RedisClient } from './redis-connection.js';
import { MODEL_KINDS, type ModelKind } from './volume-layout.js';
import { serviceKeys } from './redis-keys.js';

/**
 * Service counters live in one Redis hash per QUEUE_PREFIX (the one GET /v1/stats reads), so they
 * add up across every worker and API process and survive restarts. Workers and the eviction code
 * write them; the API renders them as Prometheus metrics.
 */

/** Upper bounds (seconds) of the download duration histogram: small LoRAs to multi-GB checkpoints. */
export const DOWNLOAD_DURATION_BUCKETS = [1, 5, 15, 30, 60, 120, 300, 600, 1800, 3600] as const;

/** `completed`: downloaded and published; `linked`: the same bytes were on the volume; `failed`: failed for good. */
export const DOWNLOAD_OUTCOMES = ['completed', 'linked', 'failed'] as const;
export type DownloadOutcome = (typeof DOWNLOAD_OUTCOMES)[number];

/** Reasons the eviction code removes a model for (as in the `reason` of a cleanup answer). */
export const EVICTION_REASONS = ['age', 'max-bytes', 'min-free'] as const;

/** The hosts whose metadata the API asks, and what each lookup gave. */
export const METADATA_HOSTS = ['huggingface', 'civitai'] as const;
/** `fetched`: the host answered; `cached`: Redis had it; `unavailable`: no usable answer (download unverified); `refused`: not found or a token needed. */
export const METADATA_RESULTS = ['fetched', 'cached', 'unavailable', 'refused'] as const;
export type MetadataHost = (typeof METADATA_HOSTS)[number];
export type MetadataResult = (typeof METADATA_RESULTS)[number];

const EVICTIONS = 'evictions:';
const field = {
  downloads: (kind: string, outcome: string) => `downloads:${kind}:${outcome}`,
  bucket: (kind: string, le: string) => `download_seconds:${kind}:le:${le}`,
  sum: (kind: string) => `download_seconds:${kind}:sum`,
  count: (kind: string) => `download_seconds:${kind}:count`,
  evictions: (reason: string) => `${EVICTIONS}${reason}`,
  metadata: (host: string, result: string) => `source_metadata:${host}:${result}`,
};

export interface DownloadRecord {
  kind: ModelKind;
  outcome: DownloadOutcome;
  /** Bytes fetched from the origin by this attempt (not those resumed from disk). */
  bytes?: number;
  /** How long the download took; only completed downloads go into the histogram. */
  seconds?: number;
}

/** Counts one finished download. Best effort: a Redis hiccup loses a count, never a job. */
export async function recordDownload(redis: RedisClient, prefix: string, record: DownloadRecord): Promise<void> {
  const key = serviceKeys(prefix).stats;
  const multi = redis.multi().hincrby(key, field.downloads(record.kind, record.outcome), 1);
  // The totals GET /v1/stats has always shown.
  if (record.outcome === 'completed') multi.hincrby(key, 'downloads_succeeded', 1);
  if (record.outcome === 'failed') multi.hincrby(key, 'downloads_failed', 1);
  if (record.bytes) multi.hincrby(key, 'downloads_bytes', record.bytes);
  if (record.outcome === 'completed' && record.seconds !== undefined) {
    // One field per bucket (not cumulative): one write per download; the reader sums them up.
    const le = DOWNLOAD_DURATION_BUCKETS.find((b) => record.seconds! <= b);
    multi.hincrby(key, field.bucket(record.kind, le === undefined ? '+Inf' : String(le)), 1);
    multi.hincrbyfloat(key, field.sum(record.kind), record.seconds);
    multi.hincrby(key, field.count(record.kind), 1);
  }
  await multi.exec().catch(() => {});
}

/** Counts models removed by eviction or cleanup, by reason (`age`, `max-bytes`, `min-free`, ...). */
export async function recordEviction(redis: RedisClient, prefix: string, reason: string, count = 1): Promise<void> {
  if (count <= 0) return;
  await redis.hincrby(serviceKeys(prefix).stats, field.evictions(reason), count);
}

/** The counter of metadata lookups of one host with one result (counted through PendingCounters). */
export function metadataLookupField(host: MetadataHost, result: MetadataResult): string {
  return field.metadata(host, result);
}

/** The counters of cache lookups by fetch, batch and prepare requests (counted through PendingCounters). */
export const CACHE_LOOKUP_FIELDS = { hit: 'cache_hits', miss: 'cache_misses' } as const;

export interface DurationHistogram {
  /** Cumulative counts per upper bound, `+Inf` last. */
  buckets: Array<{ le: string; count: number }>;
  sum: number;
  count: number;
}

export interface CounterSnapshot {
  downloads: Array<{ kind: ModelKind; outcome: DownloadOutcome; count: number }>;
  downloadBytes: number;
  durations: Array<{ kind: ModelKind; histogram: DurationHistogram }>;
  cacheHits: number;
  cacheMisses: number;
  evictions: Array<{ reason: string; count: number }>;
  metadataLookups: Array<{ host: MetadataHost; result: MetadataResult; count: number }>;
}

/** The counters hash (HGETALL) as numbers; every kind and outcome is listed, at 0 when never counted. */
export function readCounters(hash: Record<string, string>): CounterSnapshot {
  const n = (key: string) => Number(hash[key] ?? 0);
  const evictionReasons = new Set<string>(EVICTION_REASONS);
  for (const key of Object.keys(hash)) if (key.startsWith(EVICTIONS)) evictionReasons.add(key.slice(EVICTIONS.length));
  return {
    downloads: MODEL_KINDS.flatMap((kind) =>
      DOWNLOAD_OUTCOMES.map((outcome) => ({ kind, outcome, count: n(field.downloads(kind, outcome)) })),
    ),
    downloadBytes: n('downloads_bytes'),
    durations: MODEL_KINDS.map((kind) => {
      let running = 0;
      const buckets = [...DOWNLOAD_DURATION_BUCKETS.map(String), '+Inf'].map((le) => {
        running += n(field.bucket(kind, le)); // Prometheus buckets are cumulative
        return { le, count: running };
      });
      return { kind, histogram: { buckets, sum: n(field.sum(kind)), count: n(field.count(kind)) } };
    }),
    cacheHits: n(CACHE_LOOKUP_FIELDS.hit),
    cacheMisses: n(CACHE_LOOKUP_FIELDS.miss),
    evictions: [...evictionReasons].map((reason) => ({ reason, count: n(field.evictions(reason)) })),
    metadataLookups: METADATA_HOSTS.flatMap((host) =>
      METADATA_RESULTS.map((result) => ({ host, result, count: n(field.metadata(host, result)) })),
    ),
  };
}
