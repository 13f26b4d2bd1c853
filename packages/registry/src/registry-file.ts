import { randomBytes } from 'node:crypto';
import { open, readFile, rename, rm } from 'node:fs/promises';
import path from 'node:path';
import { KIND_DIRS, type ModelKind } from '@model-manager/core';

/** One model in cache_registry.json, in the Python module's format (snake_case, Unix seconds). */
export interface RegistryEntry {
  url: string;
  path: string;
  hash: string;
  downloaded_at: number;
  last_used: number;
  usage_count: number;
  file_size: number;
  [extra: string]: unknown;
}

export type RegistrySection = 'checkpoints' | 'loras' | 'embeddings';

export interface RegistryData {
  checkpoints: Record<string, RegistryEntry>;
  loras: Record<string, RegistryEntry>;
  embeddings: Record<string, RegistryEntry>;
  last_updated: number;
  [extra: string]: unknown;
}

export const SECTIONS = Object.values(KIND_DIRS) as RegistrySection[];

export function sectionOf(kind: ModelKind): RegistrySection {
  return KIND_DIRS[kind];
}

export function emptyRegistry(): RegistryData {
  return { checkpoints: {}, loras: {}, embeddings: {}, last_updated: Date.now() / 1000 };
}

export type ReadResult =
  | { status: 'ok'; data: RegistryData }
  | { status: 'missing' }
  | { status: 'corrupt'; reason: string };

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Parses the registry text; sections the old module left out are added empty. */
export function parseRegistry(text: string): ReadResult {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (err) {
    return { status: 'corrupt', reason: `not JSON: ${(err as Error).message}` };
  }
  if (!isObject(parsed)) return { status: 'corrupt', reason: 'top level is not an object' };
  for (const section of SECTIONS) {
    const value = parsed[section];
    if (value === undefined) parsed[section] = {};
    else if (!isObject(value)) return { status: 'corrupt', reason: `"${section}" is not an object` };
  }
  if (typeof parsed.last_updated !== 'number') parsed.last_updated = 0;
  return { status: 'ok', data: parsed as RegistryData };
}

export async function readRegistryFile(file: string): Promise<ReadResult> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { status: 'missing' };
    throw err;
  }
  return parseRegistry(text);
}

/** True when an entry has the fields a cache hit needs, with the types it needs. */
export function isUsableEntry(entry: unknown): entry is RegistryEntry {
  return (
    isObject(entry) &&
    typeof entry.path === 'string' &&
    typeof entry.file_size === 'number' &&
    (typeof entry.hash === 'string' || entry.hash === undefined)
  );
}

/**
 * Lower-cases every entry's hash. The old module stored what it was given (Civitai publishes
 * upper case); comparisons ignore case, and the next write leaves the file in one form.
 */
export function normaliseHashes(data: RegistryData): void {
  for (const section of SECTIONS) {
    for (const entry of Object.values(data[section])) {
      if (isObject(entry) && typeof entry.hash === 'string' && entry.hash !== entry.hash.toLowerCase()) entry.hash = entry.hash.toLowerCase();
    }
  }
}

/**
 * Crash-safe replace: write a temporary file beside it, fsync, rename over the old one,
 * fsync the folder. A reader sees the old registry or the new one, never a torn one.
 */
export async function writeRegistryFile(
  file: string,
  data: RegistryData,
  /** Runs once the new registry is durable in its temporary file, just before it replaces the old one. */
  beforeCommit?: () => Promise<void>,
): Promise<void> {
  normaliseHashes(data);
  const tmp = `${file}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`;
  const text = `${JSON.stringify(data, null, 2)}\n`;
  const fh = await open(tmp, 'w', 0o644);
  try {
    await fh.writeFile(text, 'utf8');
    await fh.sync();
  } catch (err) {
    await fh.close().catch(() => {});
    await rm(tmp, { force: true });
    throw err;
  }
  await fh.close();
  try {
    await beforeCommit?.();
    await rename(tmp, file);
  } catch (err) {
    await rm(tmp, { force: true });
    throw err;
  }
  await syncDir(path.dirname(file));
}

/** fsync a folder so a rename in it survives a crash; some filesystems refuse, which is harmless. */
export async function syncDir(dir: string): Promise<void> {
  try {
    const fh = await open(dir, 'r');
    try {
      await fh.sync();
    } finally {
      await fh.close();
    }
  } catch {
    /* not supported here */
  }
}
