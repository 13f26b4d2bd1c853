import { randomBytes } from 'node:crypto';
import { open, readFile, rename, rm } from 'node:fs/promises';
import path from 'node:path';
import { KIND_DIRS, MODEL_KINDS, type ModelKind } from '@model-manager/core';
import { describeIssues, registryFileSchema, type RegistryEntry, type UnreadableEntry } from './registry-schema.js';

export type { RegistryEntry } from './registry-schema.js';

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

/** Entries the schema refused, per registry read; they are written back as they were. */
const unreadableBySection = new WeakMap<RegistryData, Record<RegistrySection, UnreadableEntry[]>>();

/** The entries of this read that make no sense (each treated as absent), by kind. */
export function unreadableEntries(data: RegistryData): Array<{ kind: ModelKind; name: string; reason: string }> {
  const found = unreadableBySection.get(data);
  if (!found) return [];
  return MODEL_KINDS.flatMap((kind) =>
    found[sectionOf(kind)]
      .filter((u) => data[sectionOf(kind)][u.name] === undefined)
      .map(({ name, reason }) => ({ kind, name, reason })),
  );
}

/** Carries the unreadable entries of one read over to a registry built from it. */
export function keepUnreadable(from: RegistryData, to: RegistryData): void {
  const found = unreadableBySection.get(from);
  if (found) unreadableBySection.set(to, found);
}

/**
 * Parses the registry text with the registry schema. Only text that is not JSON, or whose top
 * level or a section is not an object, is corrupt; an entry that makes no sense is set apart.
 */
export function parseRegistry(text: string): ReadResult {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (err) {
    return { status: 'corrupt', reason: `not JSON: ${(err as Error).message}` };
  }
  const result = registryFileSchema.safeParse(parsed);
  if (!result.success) return { status: 'corrupt', reason: describeIssues(result.error) };
  const { checkpoints, loras, embeddings, ...rest } = result.data;
  const data: RegistryData = {
    ...rest,
    checkpoints: checkpoints.entries,
    loras: loras.entries,
    embeddings: embeddings.entries,
  };
  unreadableBySection.set(data, {
    checkpoints: checkpoints.unreadable,
    loras: loras.unreadable,
    embeddings: embeddings.unreadable,
  });
  return { status: 'ok', data };
}

/** The file's text: entries the schema refused go back as they were, unless a real entry took their name. */
export function serializeRegistry(data: RegistryData): string {
  normaliseHashes(data);
  const found = unreadableBySection.get(data);
  const out: Record<string, unknown> = { ...data };
  for (const s of SECTIONS) {
    const kept = (found?.[s] ?? []).filter((u) => data[s][u.name] === undefined);
    if (kept.length > 0) out[s] = { ...data[s], ...Object.fromEntries(kept.map((u) => [u.name, u.raw])) };
  }
  return `${JSON.stringify(out, null, 2)}\n`;
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

/**
 * The sections hold only entries the schema accepted, so this tells a present entry from an
 * absent one (a lookup by name), nothing more.
 */
export function isUsableEntry(entry: unknown): entry is RegistryEntry {
  return typeof entry === 'object' && entry !== null;
}

/**
 * Lower-cases every entry's hash. The old module stored what it was given (Civitai publishes
 * upper case); comparisons ignore case, and the next write leaves the file in one form.
 */
export function normaliseHashes(data: RegistryData): void {
  for (const section of SECTIONS) {
    for (const entry of Object.values(data[section])) {
      if (typeof entry.hash === 'string' && entry.hash !== entry.hash.toLowerCase())
        entry.hash = entry.hash.toLowerCase();
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
  await writeFileAtomic(file, serializeRegistry(data), beforeCommit);
}

/** The write behind writeRegistryFile, for any text. */
export async function writeFileAtomic(
  file: string,
  text: string,
  beforeCommit?: () => Promise<void>,
  /** false: replaced atomically, but a power loss may leave the previous version (no fsync). */
  durable = true,
): Promise<void> {
  const tmp = `${file}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`;
  const fh = await open(tmp, 'w', 0o644);
  try {
    await fh.writeFile(text, 'utf8');
    if (durable) await fh.sync();
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
  if (durable) await syncDir(path.dirname(file));
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
