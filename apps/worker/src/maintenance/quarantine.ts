import { link, mkdir, rename, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import { KIND_DIRS, QUARANTINE_DIR, type ModelKind } from '@model-manager/core';
import { assertInsideVolume } from '@model-manager/registry';

/** `20261127T092500Z`: sorts by time and holds no character a file name may not. */
function stamp(at: Date): string {
  return at
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d+Z$/, 'Z');
}

/**
 * Moves a model file to `MODELS_DIR/.quarantine/<kind folder>/<file name>.<time>`, never over
 * another file: a hard link claims the new name (it fails when the name is taken), then the
 * original name goes. Where hard links are impossible, a rename to a name checked to be free;
 * callers hold the registry lease, which every quarantine takes, so no other one races for it.
 */
export async function moveToQuarantine(
  modelsDir: string,
  kind: ModelKind,
  filePath: string,
  at = new Date(),
): Promise<string> {
  const dir = path.join(modelsDir, QUARANTINE_DIR, KIND_DIRS[kind]);
  await mkdir(dir, { recursive: true });
  await assertInsideVolume(modelsDir, dir);
  const base = `${path.basename(filePath)}.${stamp(at)}`;
  for (let n = 0; n < 1000; n++) {
    const target = path.join(dir, n === 0 ? base : `${base}-${n}`);
    try {
      await link(filePath, target);
      await rm(filePath);
      return target;
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'EEXIST') continue;
      if (code !== 'EPERM' && code !== 'ENOTSUP' && code !== 'EXDEV' && code !== 'EMLINK') throw err;
    }
    if (await exists(target)) continue;
    await rename(filePath, target);
    return target;
  }
  throw new Error(`no free quarantine name for ${filePath} in ${dir}`);
}

async function exists(file: string): Promise<boolean> {
  try {
    await stat(file);
    return true;
  } catch {
    return false;
  }
}
