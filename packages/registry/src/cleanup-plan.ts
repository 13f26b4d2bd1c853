import { MODEL_KINDS, type ModelKind } from '@model-manager/core';
import { isUsableEntry, sectionOf, type RegistryData } from './registry-file.js';

export interface CleanupCandidate {
  kind: ModelKind;
  name: string;
  fileSize: number;
}

/**
 * The old module's rule: the `keepPopular` models with the highest usage count (ties: most
 * recently used) are kept; of the rest, those not used for `maxAgeDays` are removed.
 */
export function planCleanup(
  data: RegistryData,
  options: { maxAgeDays: number; keepPopular: number; nowSeconds: number },
): CleanupCandidate[] {
  const all = MODEL_KINDS.flatMap((kind) =>
    Object.entries(data[sectionOf(kind)])
      .filter(([, entry]) => isUsableEntry(entry))
      .map(([name, entry]) => ({ kind, name, entry })),
  );
  all.sort(
    (a, b) =>
      (b.entry.usage_count ?? 0) - (a.entry.usage_count ?? 0) || (b.entry.last_used ?? 0) - (a.entry.last_used ?? 0),
  );
  const cutoff = options.nowSeconds - options.maxAgeDays * 86_400;
  return all
    .slice(options.keepPopular)
    .filter(({ entry }) => (entry.last_used ?? entry.downloaded_at ?? 0) < cutoff)
    .map(({ kind, name, entry }) => ({ kind, name, fileSize: entry.file_size }));
}

/** Count and total size of each kind's models. */
export function summarize(
  data: RegistryData,
): Record<'checkpoints' | 'loras' | 'embeddings', { count: number; totalSize: number }> {
  const out = {} as Record<'checkpoints' | 'loras' | 'embeddings', { count: number; totalSize: number }>;
  for (const kind of MODEL_KINDS) {
    const entries = Object.values(data[sectionOf(kind)]).filter(isUsableEntry);
    out[sectionOf(kind)] = { count: entries.length, totalSize: entries.reduce((n, e) => n + e.file_size, 0) };
  }
  return out;
}
