import { createHash } from 'node:crypto';
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { KIND_DIRS, REGISTRY_FILE, STAGING_DIR } from '@model-manager/core';

export interface VolumeProblems {
  /** Registry entries whose file is missing, of another size, or of another hash. */
  badEntries: string[];
  /** Files at a final path that no registry entry lists. */
  unlisted: string[];
  /** Whatever is left in the staging folder. */
  staging: string[];
  /** `section/name` of every entry, sorted. */
  entries: string[];
}

/**
 * Reads the volume the way a WebUI would trust it: every registry entry must name a file of its
 * recorded size and hash, every model file must be listed, and staging must be empty.
 */
export function inspectVolume(modelsDir: string): VolumeProblems {
  const registry = JSON.parse(readFileSync(path.join(modelsDir, REGISTRY_FILE), 'utf8')) as Record<string, unknown>;
  const problems: VolumeProblems = { badEntries: [], unlisted: [], staging: [], entries: [] };
  const listed = new Set<string>();
  for (const section of Object.values(KIND_DIRS)) {
    const entries = (registry[section] ?? {}) as Record<string, { path: string; hash: string; file_size: number }>;
    for (const [name, entry] of Object.entries(entries)) {
      problems.entries.push(`${section}/${name}`);
      // Entries keep the absolute path they were written with; the file is looked up by name here.
      const file = path.join(modelsDir, section, path.basename(entry.path));
      listed.add(file);
      if (!existsSync(file)) problems.badEntries.push(`${section}/${name}: no file at ${file}`);
      else if (statSync(file).size !== entry.file_size)
        problems.badEntries.push(`${section}/${name}: size ${statSync(file).size}, registry says ${entry.file_size}`);
      else if (createHash('sha256').update(readFileSync(file)).digest('hex') !== entry.hash)
        problems.badEntries.push(`${section}/${name}: hash differs from the registry's`);
    }
    for (const file of readdirSync(path.join(modelsDir, section))) {
      if (!listed.has(path.join(modelsDir, section, file))) problems.unlisted.push(`${section}/${file}`);
    }
  }
  problems.staging = readdirSync(path.join(modelsDir, STAGING_DIR));
  problems.entries.sort();
  return problems;
}
