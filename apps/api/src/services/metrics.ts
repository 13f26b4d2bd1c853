import { statfs } from 'node:fs/promises';
import type { JobType, Queue } from 'bullmq';
import { Counter, Gauge, Registry as PromRegistry, type Metric } from 'prom-client';
import {
  KIND_DIRS,
  MODEL_KINDS,
  readCounters,
  serviceKeys,
  type CounterSnapshot,
  type RedisClient,
} from '@model-manager/core';
import { summarize, unreadableEntries, type Registry } from '@model-manager/registry';

export interface MetricsSources {
  prefix: string;
  modelsDir: string;
  redis: RedisClient;
  registry: Registry;
  /** Every queue whose job counts are shown (label `queue`). */
  queues: readonly Queue[];
  /** Adds this process's not yet flushed cache lookups to Redis, so a scrape is up to the moment. */
  flushLookups: () => Promise<void>;
}

/** BullMQ states folded into the ones an operator watches: a prioritized job is waiting too. */
const QUEUE_STATES: Record<string, readonly JobType[]> = {
  waiting: ['waiting', 'prioritized', 'paused', 'waiting-children'],
  active: ['active'],
  delayed: ['delayed'],
  failed: ['failed'],
  completed: ['completed'],
};

/**
 * GET /metrics. Every value is read at scrape time from what every process shares (the counters
 * hash in Redis, the registry file, the volume, the queues), so any API process answers for the
 * whole deployment and nothing is lost when one restarts.
 */
export class MetricsService {
  private readonly prom = new PromRegistry();
  private readonly downloads: Counter<'kind' | 'outcome'>;
  private readonly downloadBytes: Counter;
  private readonly lookups: Counter<'result'>;
  private readonly metadataLookups: Counter<'host' | 'result'>;
  private readonly models: Gauge<'kind'>;
  private readonly modelBytes: Gauge<'kind'>;
  private readonly unreadable: Gauge<'kind'>;
  private readonly freeBytes: Gauge;
  private readonly evictions: Counter<'reason'>;
  private readonly queueJobs: Gauge<'queue' | 'state'>;
  private durations: CounterSnapshot['durations'] = [];

  constructor(private readonly sources: MetricsSources) {
    const registers = [this.prom];
    this.downloads = new Counter({
      name: 'model_manager_downloads_total',
      help: 'Finished downloads by kind and outcome (completed, linked from the same content, failed for good).',
      labelNames: ['kind', 'outcome'],
      registers,
    });
    this.downloadBytes = new Counter({
      name: 'model_manager_download_bytes_total',
      help: 'Bytes fetched from origins (bytes resumed from disk not counted again).',
      registers,
    });
    // prom-client's Histogram only observes; this one shows buckets the workers counted in Redis.
    this.prom.registerMetric(this.durationHistogram() as unknown as Metric);
    this.metadataLookups = new Counter({
      name: 'model_manager_source_metadata_total',
      help: 'Hugging Face and Civitai metadata lookups before queueing, by host and result (fetched, cached, unavailable: downloaded unverified, refused: not found or a token needed).',
      labelNames: ['host', 'result'],
      registers,
    });
    this.lookups = new Counter({
      name: 'model_manager_cache_lookups_total',
      help: 'Cache lookups by fetch, batch and prepare requests.',
      labelNames: ['result'],
      registers,
    });
    this.models = new Gauge({
      name: 'model_manager_models',
      help: 'Models in the registry.',
      labelNames: ['kind'],
      registers,
    });
    this.modelBytes = new Gauge({
      name: 'model_manager_model_bytes',
      help: 'Total size of the registered models, in bytes.',
      labelNames: ['kind'],
      registers,
    });
    this.unreadable = new Gauge({
      name: 'model_manager_registry_unreadable_entries',
      help: 'Registry entries that make no sense (treated as absent, kept in the file as written); the scan result and the logs name them.',
      labelNames: ['kind'],
      registers,
    });
    this.freeBytes = new Gauge({
      name: 'model_manager_volume_free_bytes',
      help: 'Bytes an unprivileged user can still write on the volume holding MODELS_DIR.',
      registers,
    });
    this.evictions = new Counter({
      name: 'model_manager_evictions_total',
      help: 'Models removed by eviction or cleanup, by reason.',
      labelNames: ['reason'],
      registers,
    });
    this.queueJobs = new Gauge({
      name: 'model_manager_queue_jobs',
      help: 'Jobs per queue and state (waiting includes prioritized and paused).',
      labelNames: ['queue', 'state'],
      registers,
    });
  }

  get contentType(): string {
    return this.prom.contentType;
  }

  async render(): Promise<string> {
    const { redis, prefix, registry, modelsDir, queues } = this.sources;
    await this.sources.flushLookups();
    const [hash, data, fs, counts] = await Promise.all([
      redis.hgetall(serviceKeys(prefix).stats),
      registry.read(),
      statfs(modelsDir),
      Promise.all(
        queues.map(async (q) => [q.name, await q.getJobCounts(...Object.values(QUEUE_STATES).flat())] as const),
      ),
    ]);
    // Set in one synchronous run, so scrapes that overlap never see a half-updated set.
    const counters = readCounters(hash);
    this.prom.resetMetrics();
    for (const { kind, outcome, count } of counters.downloads) this.downloads.inc({ kind, outcome }, count);
    this.downloadBytes.inc(counters.downloadBytes);
    this.durations = counters.durations;
    this.lookups.inc({ result: 'hit' }, counters.cacheHits);
    this.lookups.inc({ result: 'miss' }, counters.cacheMisses);
    for (const { host, result, count } of counters.metadataLookups) this.metadataLookups.inc({ host, result }, count);
    const summary = summarize(data);
    const unreadable = unreadableEntries(data);
    for (const kind of MODEL_KINDS) {
      this.models.set({ kind }, summary[KIND_DIRS[kind]].count);
      this.modelBytes.set({ kind }, summary[KIND_DIRS[kind]].totalSize);
      this.unreadable.set({ kind }, unreadable.filter((u) => u.kind === kind).length);
    }
    this.freeBytes.set(fs.bavail * fs.bsize);
    for (const { reason, count } of counters.evictions) this.evictions.inc({ reason }, count);
    for (const [queue, byState] of counts) {
      for (const [state, folded] of Object.entries(QUEUE_STATES)) {
        this.queueJobs.set(
          { queue, state },
          folded.reduce((n, s) => n + (byState[s] ?? 0), 0),
        );
      }
    }
    return this.prom.metrics();
  }

  /** A metric object in prom-client's own shape, for buckets counted elsewhere. */
  private durationHistogram() {
    const head = {
      name: 'model_manager_download_duration_seconds',
      help: 'Time of the attempt that completed a download, by kind.',
      type: 'histogram',
      aggregator: 'sum',
    } as const;
    const name = head.name;
    return {
      ...head,
      reset: () => {},
      get: async () => ({
        ...head,
        values: this.durations.flatMap(({ kind, histogram }) => [
          ...histogram.buckets.map(({ le, count }) => ({
            metricName: `${name}_bucket`,
            labels: { kind, le },
            value: count,
          })),
          { metricName: `${name}_sum`, labels: { kind }, value: histogram.sum },
          { metricName: `${name}_count`, labels: { kind }, value: histogram.count },
        ]),
      }),
    };
  }
}
