import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Redis } from 'ioredis';
import { REDIS_URL } from './redis-url.js';

// What keeps test files apart on one Redis and one machine: a queue prefix and a models folder
// of their own. Apart from service.ts, so tests below the API can use them without building it.

/** A queue prefix of its own per test file, so runs and files never see each other's jobs. */
export function uniquePrefix(label: string): string {
  return `mmtest-${label}-${randomBytes(4).toString('hex')}`;
}

/** Deletes every key a test run left under its prefix (queue, batches, stats, lease). */
export async function dropPrefix(prefix: string): Promise<void> {
  const redis = new Redis(REDIS_URL);
  try {
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 1000);
      cursor = next;
      if (keys.length > 0) await redis.unlink(...keys);
    } while (cursor !== '0');
  } finally {
    redis.disconnect();
  }
}

export function tempModelsDir(): { dir: string; remove: () => void } {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'mm-models-'));
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) };
}
