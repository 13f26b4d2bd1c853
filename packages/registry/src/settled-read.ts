import { setTimeout as sleep } from 'node:timers/promises';
import { readRegistryFile, type ReadResult } from './registry-file.js';

export interface SettleOptions {
  /** How long text that does not parse is read again before it counts as corrupt. */
  settleMs?: number;
  /** The pause between two reads. */
  pauseMs?: number;
}

/**
 * Reads the registry, reading again while it does not parse. A writer that truncates the file
 * and writes it in place (open(path, 'w') and json.dump) leaves it empty or cut short for a few
 * milliseconds; only text that stays unreadable for `settleMs` is corrupt.
 */
export async function readSettledRegistry(file: string, options: SettleOptions = {}): Promise<ReadResult> {
  const deadline = Date.now() + (options.settleMs ?? 2000);
  for (;;) {
    const result = await readRegistryFile(file);
    if (result.status !== 'corrupt' || Date.now() >= deadline) return result;
    await sleep(options.pauseMs ?? 50);
  }
}
