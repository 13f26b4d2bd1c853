import path from 'node:path';
import { MODEL_KINDS, type ModelKind } from '@model-manager/core';
import { sameHash } from './hashing.js';
import { sectionOf, type RegistryData, type RegistryEntry } from './registry-file.js';

/** Two entries for the same file: same file name and size, and the same content where both know it. */
export function sameFile(a: RegistryEntry, b: RegistryEntry): boolean {
  return (
    path.basename(a.path) === path.basename(b.path) &&
    a.file_size === b.file_size &&
    (a.hash === '' || b.hash === '' || sameHash(a.hash, b.hash))
  );
}

/**
 * An entry put back together after another writer rewrote the registry from an older copy:
 * pins follow the service's copy (only the service sets them), counts and times take the
 * larger value, and origin, hash and fields the older copy lacks come from the service's copy.
 * Returns null when the current entry already holds all of it.
 */
export function mergeSameFile(current: RegistryEntry, lastGood: RegistryEntry): RegistryEntry | null {
  const merged: RegistryEntry = { ...current };
  for (const [key, value] of Object.entries(lastGood))
    if (!(key in merged) && key !== 'hash_pending') merged[key] = value;
  if (lastGood.pinned === true) merged.pinned = true;
  else delete merged.pinned;
  if (merged.url === '') merged.url = lastGood.url;
  if (merged.hash === '' && lastGood.hash !== '') {
    merged.hash = lastGood.hash;
    if (lastGood.hash_pending === true) merged.hash_pending = true;
    else delete merged.hash_pending;
  }
  merged.usage_count = Math.max(current.usage_count, lastGood.usage_count);
  merged.last_used = Math.max(current.last_used, lastGood.last_used);
  return JSON.stringify(merged) === JSON.stringify(current) ? null : merged;
}

export interface RestoreCandidate {
  kind: ModelKind;
  name: string;
  /** The entry as the service last wrote it. */
  entry: RegistryEntry;
  /** What the registry holds now under that name, describing another file (or nothing). */
  current?: RegistryEntry;
}

/**
 * What a registry rewritten from an older copy lost, compared with the service's last copy.
 * `merged` entries describe the same file and can be put back as they are; each `candidate`
 * is restored only if its file is on the volume at the size it records and the current
 * entry's file is not (the caller checks the disk).
 */
export function planRestore(current: RegistryData, lastGood: RegistryData) {
  const merged: Array<{ kind: ModelKind; name: string; entry: RegistryEntry }> = [];
  const candidates: RestoreCandidate[] = [];
  for (const kind of MODEL_KINDS) {
    for (const [name, entry] of Object.entries(lastGood[sectionOf(kind)])) {
      const now = current[sectionOf(kind)][name];
      if (!now || !sameFile(now, entry)) candidates.push({ kind, name, entry, ...(now && { current: now }) });
      else {
        const m = mergeSameFile(now, entry);
        if (m) merged.push({ kind, name, entry: m });
      }
    }
  }
  return { merged, candidates };
}
