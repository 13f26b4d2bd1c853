import { stat } from 'node:fs/promises';
import type { Logger, ModelKind } from '@model-manager/core';
import { writeIdOf, type LastGoodCopy } from './last-good.js';
import { sectionOf, type RegistryData, type RegistryEntry } from './registry-file.js';
import { planRestore } from './restore-plan.js';

export interface RestoreContext {
  localPath: (kind: ModelKind, entry: RegistryEntry) => string | null;
  logger: Logger;
}

async function onDisk(filePath: string | null, size: number): Promise<boolean> {
  if (!filePath) return false;
  try {
    const st = await stat(filePath);
    return st.isFile() && st.size === size;
  } catch {
    return false;
  }
}

/**
 * Under the lease, on a fresh read: when the registry was rewritten from a copy older than the
 * service's last write, puts back what that rewrite dropped (entries whose file is still there
 * at the size they record, pins, origins, hashes). Returns how many entries changed.
 */
export async function restoreLost(
  data: RegistryData,
  lastGoodCopy: LastGoodCopy,
  ctx: RestoreContext,
): Promise<number> {
  const lastGoodId = await lastGoodCopy.writeId();
  if (lastGoodId === undefined || writeIdOf(data) === lastGoodId) return 0;
  const lastGood = await lastGoodCopy.read();
  if (!lastGood) return 0;
  const { merged, candidates } = planRestore(data, lastGood);
  const restored = merged.map(({ kind, name, entry }) => {
    data[sectionOf(kind)][name] = entry;
    return { kind, name };
  });
  for (const { kind, name, entry, current } of candidates) {
    if (!(await onDisk(ctx.localPath(kind, entry), entry.file_size))) continue;
    if (current && (await onDisk(ctx.localPath(kind, current), current.file_size))) continue;
    data[sectionOf(kind)][name] = entry;
    restored.push({ kind, name });
  }
  if (restored.length > 0) {
    ctx.logger.warn(
      { restored },
      'registry was rewritten from an older copy: restored what it dropped from the last copy the service wrote',
    );
  }
  return restored.length;
}
