import { MODEL_KINDS, modelKey, type ModelKind } from '@model-manager/core';
import { isUsableEntry, sectionOf, type RegistryData } from './registry-file.js';

export type RemovalReason = 'age' | 'max-bytes' | 'min-free';
/** Why a model quota eviction would have removed was kept. */
export type KeepReason = 'pinned' | 'leased' | 'in-flight' | 'grace';

export interface EvictionLimits {
  /** CACHE_MAX_BYTES: the models' total size may not exceed it; undefined: no quota. */
  maxBytes?: number;
  /** MIN_FREE_BYTES: free space to keep on the volume. */
  minFreeBytes: number;
  /** EVICTION_GRACE_SECONDS: models downloaded more recently are never evicted. */
  graceSeconds: number;
}

export interface EvictionInput extends EvictionLimits {
  nowSeconds: number;
  /** Free space on the volume now, less what running downloads have reserved. */
  freeBytes: number;
  /** Room a download about to start needs, in the quota and on the disk. */
  needBytes?: number;
  /** `kind/name` of models that must stay, with the reason (leased, in flight). Pins are read from the entries. */
  keep: ReadonlyMap<string, KeepReason>;
  /** `kind/name` of models already chosen for removal by another rule (counted as gone). */
  alreadyRemoved?: ReadonlySet<string>;
}

export interface EvictionPlan {
  remove: Array<{ kind: ModelKind; name: string; fileSize: number; reason: 'max-bytes' | 'min-free' }>;
  /** Models the walk met while the volume was still over quota but had to keep. */
  skipped: Array<{ kind: ModelKind; name: string; reason: KeepReason }>;
  /** Both limits hold (with `needBytes` added) once `remove` is gone. */
  fits: boolean;
  totalBytes: number;
  freeBytes: number;
}

/**
 * The value rule: how stale a model is, weighted by the space it takes and discounted by how
 * often it was used. Higher goes first. Idle twice as long, or twice as large: twice the score;
 * used 9 times: a tenth of the score of an unused model otherwise alike.
 */
export function evictionScore(
  model: { fileSize: number; lastUsed: number; usageCount: number },
  nowSeconds: number,
): number {
  const idleSeconds = Math.max(0, nowSeconds - model.lastUsed);
  return ((idleSeconds + 1) * model.fileSize) / (1 + Math.max(0, model.usageCount));
}

/**
 * Which models quota eviction removes, least valuable first, until the models' total is within
 * `maxBytes` and free space is at least `minFreeBytes` (each with `needBytes` added). Pinned,
 * leased, in-flight and too young models are skipped. Pure: the caller reads the world.
 */
export function planEviction(data: RegistryData, input: EvictionInput): EvictionPlan {
  const need = input.needBytes ?? 0;
  const models = MODEL_KINDS.flatMap((kind) =>
    Object.entries(data[sectionOf(kind)]).flatMap(([name, entry]) => {
      if (!isUsableEntry(entry) || input.alreadyRemoved?.has(modelKey(kind, name))) return [];
      const lastUsed = entry.last_used ?? entry.downloaded_at ?? 0;
      return [{ kind, name, entry, fileSize: entry.file_size, lastUsed, usageCount: entry.usage_count ?? 0 }];
    }),
  );
  let total = models.reduce((n, m) => n + m.fileSize, 0);
  let free = input.freeBytes;
  const overMax = () => input.maxBytes !== undefined && total + need > input.maxBytes;
  const overFree = () => free - need < input.minFreeBytes;
  const scored = models
    .map((m) => ({ ...m, score: evictionScore(m, input.nowSeconds) }))
    // Equal scores: the longer idle first, then by name so a plan is always the same.
    .sort(
      (a, b) =>
        b.score - a.score ||
        a.lastUsed - b.lastUsed ||
        modelKey(a.kind, a.name).localeCompare(modelKey(b.kind, b.name)),
    );
  const plan: EvictionPlan = { remove: [], skipped: [], fits: false, totalBytes: total, freeBytes: free };
  for (const m of scored) {
    if (!overMax() && !overFree()) break;
    const key = modelKey(m.kind, m.name);
    const keep: KeepReason | undefined =
      m.entry.pinned === true
        ? 'pinned'
        : (input.keep.get(key) ??
          (input.nowSeconds - (m.entry.downloaded_at ?? 0) < input.graceSeconds ? 'grace' : undefined));
    if (keep) {
      plan.skipped.push({ kind: m.kind, name: m.name, reason: keep });
      continue;
    }
    plan.remove.push({
      kind: m.kind,
      name: m.name,
      fileSize: m.fileSize,
      reason: overMax() ? 'max-bytes' : 'min-free',
    });
    total -= m.fileSize;
    free += m.fileSize;
  }
  plan.fits = !overMax() && !overFree();
  plan.totalBytes = total;
  plan.freeBytes = free;
  return plan;
}
