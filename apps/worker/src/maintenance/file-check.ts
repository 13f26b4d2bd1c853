import { stat } from 'node:fs/promises';
import type { Stats } from 'node:fs';
import type { RegistryEntry } from '@model-manager/registry';
import { hashOnThread } from '../download/file-hasher.js';

/** What tells one file from another at the same path: a replace changes the inode, a write the size or mtime. */
export interface FileIdentity {
  dev: number;
  ino: number;
  size: number;
  mtimeMs: number;
}

export function identityOf(st: Stats): FileIdentity {
  return { dev: st.dev, ino: st.ino, size: st.size, mtimeMs: st.mtimeMs };
}

export function sameIdentity(a: FileIdentity, b: FileIdentity): boolean {
  return a.dev === b.dev && a.ino === b.ino && a.size === b.size && a.mtimeMs === b.mtimeMs;
}

/** The file's identity now, or null when there is no regular file at the path. */
export async function currentIdentity(filePath: string): Promise<FileIdentity | null> {
  try {
    const st = await stat(filePath);
    return st.isFile() ? identityOf(st) : null;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT' || (err as NodeJS.ErrnoException).code === 'ENOTDIR')
      return null;
    throw err;
  }
}

export type HashOutcome =
  | { status: 'hashed'; hash: string; file: FileIdentity }
  | { status: 'missing' }
  /** Written or replaced while it was being read: the hash describes no file. */
  | { status: 'changed' };

/** Hashes a file on the hashing thread and says whether it stayed the same file meanwhile. */
export async function hashAsItIs(filePath: string): Promise<HashOutcome> {
  const before = await currentIdentity(filePath);
  if (!before) return { status: 'missing' };
  let hash: string;
  try {
    hash = await hashOnThread(filePath, before.size);
  } catch {
    // Removed or truncated under the reader.
    const now = await currentIdentity(filePath);
    return now ? { status: 'changed' } : { status: 'missing' };
  }
  const after = await currentIdentity(filePath);
  if (!after) return { status: 'missing' };
  return sameIdentity(before, after) ? { status: 'hashed', hash, file: before } : { status: 'changed' };
}

/** True when the registry entry still describes the same download (re-checked under the lease). */
export function sameEntry(a: RegistryEntry, b: RegistryEntry): boolean {
  return (
    a.path === b.path &&
    a.hash === b.hash &&
    a.file_size === b.file_size &&
    a.downloaded_at === b.downloaded_at &&
    a.url === b.url
  );
}
