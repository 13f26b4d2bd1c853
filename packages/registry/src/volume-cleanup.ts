import { statfs } from 'node:fs/promises';
import {
  modelKey,
  nowSeconds,
  recordEviction,
  type Config,
  type Logger,
  type Model,
  type RedisClient,
} from '@model-manager/core';
import { planCleanup, summarize } from './cleanup-plan.js';
import {
  planEviction,
  type EvictionLimits,
  type EvictionPlan,
  type KeepReason,
  type RemovalReason,
} from './eviction-plan.js';
import { ModelLeases } from './model-leases.js';
import type { Registry } from './registry.js';
import { sectionOf } from './registry-file.js';

export interface CleanupOptions {
  /** The age rule of POST /v1/cleanup; left out: no age cleanup. */
  age?: { maxAgeDays: number; keepPopular: number };
  /** Quota eviction down to CACHE_MAX_BYTES and MIN_FREE_BYTES. */
  quota?: boolean;
  dryRun?: boolean;
  /** Room a download about to start needs (quota eviction counts it as already there). */
  needBytes?: number;
  /** Bytes other downloads in flight have reserved on the disk. */
  reservedBytes?: number;
  /** Who asked, for the log. */
  trigger: string;
}

export interface CleanupReport {
  removed: Array<Model & { reason: RemovalReason }>;
  freedBytes: number;
  dryRun: boolean;
  /** Models quota eviction had to keep while the volume was over a limit, and why. */
  skipped: Array<{ kind: string; name: string; reason: KeepReason }>;
  /** With `quota`: whether both limits hold afterwards (for a download: with its size added). */
  fits?: boolean;
}

/** Raised at commit when a model chosen for removal was leased or queued meanwhile: decide again. */
class ChangedMeanwhile extends Error {}

/**
 * Age cleanup and quota eviction over the shared volume. Pinned, leased and in-flight models are
 * never removed; quota eviction also spares models younger than EVICTION_GRACE_SECONDS. Each
 * run decides under the registry lease from a fresh read, and checks leases and in-flight jobs
 * again right before the files go.
 */
export class VolumeCleanup {
  constructor(
    private readonly deps: {
      registry: Registry;
      leases: ModelLeases;
      redis: RedisClient;
      logger: Logger;
      modelsDir: string;
      limits: EvictionLimits;
      /** `kind/name` of models a fetch job is queued for or downloading. */
      inFlight: () => Promise<Set<string>>;
      /** QUEUE_PREFIX, under which eviction counts are kept for /metrics. */
      prefix: string;
    },
  ) {}

  static forService(
    config: Config,
    registry: Registry,
    redis: RedisClient,
    logger: Logger,
    inFlight: () => Promise<Set<string>>,
  ): VolumeCleanup {
    return new VolumeCleanup({
      registry,
      leases: new ModelLeases(redis, config.modelsDir, config.LEASE_SECONDS),
      redis,
      logger,
      modelsDir: config.modelsDir,
      limits: {
        maxBytes: config.CACHE_MAX_BYTES,
        minFreeBytes: config.MIN_FREE_BYTES,
        graceSeconds: config.EVICTION_GRACE_SECONDS,
      },
      inFlight,
      prefix: config.QUEUE_PREFIX,
    });
  }

  private async freeBytes(): Promise<number> {
    const fs = await statfs(this.deps.modelsDir);
    return fs.bavail * fs.bsize;
  }

  /** Both limits hold with `needBytes` more on the volume (a look without the lease). */
  private async withinLimits(needBytes: number, reservedBytes: number): Promise<boolean> {
    const { maxBytes, minFreeBytes } = this.deps.limits;
    const free = (await this.freeBytes()) - reservedBytes;
    if (free - needBytes < minFreeBytes) return false;
    if (maxBytes === undefined) return true;
    // The same total the eviction plan counts, straight from the registry data.
    const total = Object.values(summarize(await this.deps.registry.read())).reduce((n, s) => n + s.totalSize, 0);
    return total + needBytes <= maxBytes;
  }

  /**
   * Makes room for a download of `needBytes`: quota eviction only when it would not fit (the
   * common case is one look, no lease). Returns whether it fits now.
   */
  async makeRoom(needBytes: number, reservedBytes: number): Promise<CleanupReport & { fits: boolean }> {
    if (await this.withinLimits(needBytes, reservedBytes))
      return { removed: [], freedBytes: 0, dryRun: false, skipped: [], fits: true };
    const report = await this.run({ quota: true, needBytes, reservedBytes, trigger: 'download' });
    return { ...report, fits: report.fits ?? false };
  }

  /** After a download whose size was not known beforehand: evicts back under the limits; null when they hold. */
  async enforce(trigger: string): Promise<CleanupReport | null> {
    if (await this.withinLimits(0, 0)) return null;
    return this.run({ quota: true, trigger });
  }

  async run(options: CleanupOptions): Promise<CleanupReport> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.runOnce(options);
      } catch (err) {
        if (!(err instanceof ChangedMeanwhile) || attempt >= 5) throw err;
      }
    }
  }

  private async runOnce(options: CleanupOptions): Promise<CleanupReport> {
    const { leases, registry, logger } = this.deps;
    const dryRun = options.dryRun ?? false;
    const reasons = new Map<string, RemovalReason>();
    let quota: EvictionPlan | undefined;
    let marked: string[] = [];
    const removed = await registry
      .removeWhere(
        async (data) => {
          const [leased, inFlight, free] = await Promise.all([leases.leased(), this.deps.inFlight(), this.freeBytes()]);
          const keep = new Map<string, KeepReason>();
          for (const key of inFlight) keep.set(key, 'in-flight');
          for (const key of leased) keep.set(key, 'leased');
          const now = nowSeconds();
          const chosen: Array<{ kind: Model['kind']; name: string }> = [];
          if (options.age) {
            for (const c of planCleanup(data, { ...options.age, nowSeconds: now })) {
              const key = modelKey(c.kind, c.name);
              if (keep.has(key) || data[sectionOf(c.kind)][c.name]?.pinned === true) continue;
              reasons.set(key, 'age');
              chosen.push(c);
            }
          }
          if (options.quota) {
            quota = planEviction(data, {
              ...this.deps.limits,
              nowSeconds: now,
              freeBytes: free - (options.reservedBytes ?? 0),
              needBytes: options.needBytes,
              keep,
              alreadyRemoved: new Set(reasons.keys()),
            });
            // Evicting for a download that will not fit anyway would lose models for nothing.
            const useless = options.needBytes !== undefined && !quota.fits;
            for (const r of useless ? [] : quota.remove) {
              reasons.set(modelKey(r.kind, r.name), r.reason);
              chosen.push(r);
            }
          }
          return chosen;
        },
        {
          dryRun,
          // The last look before the files go: a lease or a job that appeared since the decision wins.
          beforeRemove: async (chosen) => {
            const keys = chosen.map((m) => modelKey(m.kind, m.name));
            const inFlight = await this.deps.inFlight();
            if (keys.some((k) => inFlight.has(k))) throw new ChangedMeanwhile();
            const leased = await leases.markEvicting(keys);
            if (leased.length > 0) throw new ChangedMeanwhile();
            marked = keys;
          },
        },
      )
      .finally(() => leases.unmarkEvicting(marked).catch(() => {}));
    const report: CleanupReport = {
      removed: removed.flatMap((r) =>
        r.model ? [{ ...r.model, reason: reasons.get(modelKey(r.kind, r.name)) ?? 'age' }] : [],
      ),
      freedBytes: removed.reduce((n, r) => n + r.fileSize, 0),
      dryRun,
      skipped: quota?.skipped ?? [],
      ...(quota ? { fits: quota.fits } : {}),
    };
    if (!dryRun && report.removed.length > 0) {
      const byReason = new Map<string, number>();
      for (const r of report.removed) byReason.set(r.reason, (byReason.get(r.reason) ?? 0) + 1);
      // A metric (model_manager_evictions_total): never worth failing a cleanup over.
      for (const [reason, count] of byReason)
        await recordEviction(this.deps.redis, this.deps.prefix, reason, count).catch(() => {});
    }
    logger.info(
      {
        trigger: options.trigger,
        dryRun,
        removed: report.removed.map((m) => ({ kind: m.kind, name: m.name, fileSize: m.fileSize, reason: m.reason })),
        freedBytes: report.freedBytes,
        skipped: report.skipped,
        fits: report.fits,
      },
      dryRun ? 'cleanup (dry run): would remove' : 'cleanup',
    );
    return report;
  }
}
