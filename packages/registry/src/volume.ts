import { constants } from 'node:fs';
import { access, mkdir, rm, writeFile } from 'node:fs/promises';
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
  const dirs = [modelsDir, ...Object.values(KIND_DIRS).map((d) => path.join(modelsDir, d)), path.join(modelsDir, STAGING_DIR)];
  for (const dir of dirs) {
    try {
      await mkdir(dir, { recursive: true });
    } catch (err) {
      throw new VolumeError(dir, describe(err));
    }
  }
  for (const dir of dirs) await checkWritable(dir);
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
