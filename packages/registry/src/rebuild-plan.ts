import path from 'node:path';
import { SECTIONS, keepUnreadable, type RegistryData, type RegistryEntry } from './registry-file.js';

/**
 * The registry rebuilt after the file was found corrupt: every model file in the folders
 * (`found`, one pending entry per file), described by the service's last copy wherever that
 * copy has an entry for the same file, so origin, hash, pins and counts survive. Files the
 * copy does not know keep their pending entry; entries whose file is gone are left out.
 */
export function rebuildFromLastGood(
  lastGood: RegistryData | null,
  found: RegistryData,
): { data: RegistryData; known: number; unknown: number } {
  if (!lastGood) return { data: found, known: 0, unknown: count(found) };
  const data: RegistryData = {
    ...lastGood,
    checkpoints: {},
    loras: {},
    embeddings: {},
    last_updated: found.last_updated,
  };
  keepUnreadable(lastGood, data);
  let known = 0;
  for (const s of SECTIONS) {
    const byFile = new Map<string, Array<[string, RegistryEntry]>>();
    for (const [name, entry] of Object.entries(lastGood[s])) {
      const base = path.basename(entry.path);
      byFile.set(base, [...(byFile.get(base) ?? []), [name, entry]]);
    }
    for (const [name, pending] of Object.entries(found[s])) {
      const same = byFile.get(path.basename(pending.path)) ?? [];
      const [knownName, knownEntry] = same.find(([n]) => n === name) ?? same[0] ?? [name, undefined];
      data[s][knownName] = knownEntry ?? pending;
      if (knownEntry) known += 1;
    }
  }
  return { data, known, unknown: count(data) - known };
}

const count = (data: RegistryData) => SECTIONS.reduce((n, s) => n + Object.keys(data[s]).length, 0);
