import { constants } from 'node:fs';
import { randomUUID } from 'node:crypto';
import { access, link, mkdir, readFile, realpath, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { KIND_DIRS, STAGING_DIR } from '@model-manager/core';

/** Raised at start-up when MODELS_DIR or one of its folders cannot be created or written. */
export class VolumeError extends Error {
  override readonly name = 'VolumeError';
  readonly code = 'VOLUME_UNWRITABLE';
  constructor(
    readonly dir: string,
    readonly reason: string,
  ) {
    super(`models directory ${dir} is not usable: ${reason}`);
  }
}

/** Creates checkpoints/, loras/, embeddings/ and the staging folder, and proves each is writable. */
export async function prepareVolume(modelsDir: string): Promise<void> {
  const dirs = [
    modelsDir,
    ...Object.values(KIND_DIRS).map((d) => path.join(modelsDir, d)),
    path.join(modelsDir, STAGING_DIR),
  ];
  for (const dir of dirs) {
    try {
      await mkdir(dir, { recursive: true });
    } catch (err) {
      throw new VolumeError(dir, describe(err));
    }
  }
  for (const dir of dirs.slice(1)) await assertInsideVolume(modelsDir, dir);
  for (const dir of dirs) await checkWritable(dir);
  await volumeId(modelsDir);
}

/**
 * Refuses a folder of the volume that leads (through a symlink anywhere on its path) to a place
 * outside MODELS_DIR: a link planted inside the shared volume must not make the service write,
 * quarantine or delete files elsewhere. Links that stay inside the volume are fine.
 */
export async function assertInsideVolume(modelsDir: string, dir: string): Promise<void> {
  let root: string;
  let real: string;
  try {
    [root, real] = await Promise.all([realpath(modelsDir), realpath(dir)]);
  } catch (err) {
    throw new VolumeError(dir, describe(err));
  }
  if (real !== root && !real.startsWith(`${root}${path.sep}`)) {
    throw new VolumeError(dir, `it leads outside MODELS_DIR (to ${real}); a symlink planted in the volume?`);
  }
}

/** Writes and removes a probe file: `access(W_OK)` alone says yes on read-only mounts as root. */
export async function checkWritable(dir: string): Promise<void> {
  const probe = path.join(dir, `.write-probe-${process.pid}-${Date.now()}`);
  try {
    await access(dir, constants.W_OK);
    await writeFile(probe, '');
    await rm(probe, { force: true });
  } catch (err) {
    throw new VolumeError(dir, describe(err));
  }
}

function describe(err: unknown): string {
  const e = err as NodeJS.ErrnoException;
  const reasons: Record<string, string> = {
    EACCES: 'permission denied',
    EPERM: 'operation not permitted',
    EROFS: 'read-only filesystem',
    ENOTDIR: 'a path component is a file, not a directory',
    ENOSPC: 'no space left on device',
    EEXIST: 'exists and is not a directory',
  };
  return e?.code ? `${reasons[e.code] ?? e.message} (${e.code})` : String(err);
}

export const VOLUME_ID_FILE = '.volume-id';

/**
 * The volume's own id, made once and kept in MODELS_DIR/.volume-id. Every process that mounts
 * the volume, under any path and any QUEUE_PREFIX, finds the same id, so they all take the
 * same registry lease. Created atomically (link of a complete temp file), so two processes
 * starting together agree on one id.
 */
export async function volumeId(modelsDir: string): Promise<string> {
  const file = path.join(modelsDir, VOLUME_ID_FILE);
  try {
    return (await readFile(file, 'utf8')).trim();
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  const tmp = `${file}.tmp-${process.pid}-${randomUUID()}`;
  await writeFile(tmp, `${randomUUID()}\n`);
  try {
    await link(tmp, file);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
  } finally {
    await rm(tmp, { force: true });
  }
  return (await readFile(file, 'utf8')).trim();
}
