import { statfs } from 'node:fs/promises';
import type { Redis } from 'ioredis';
import { ModelFetchError } from '@model-manager/core';

/** A reservation not refreshed for this long belongs to a dead worker and is ignored. */
const STALE_MS = 60_000;

/**
 * Space reserved by downloads in flight on one volume, shared by every worker through one
 * Redis hash (field: staging key, value: `remainingBytes:updatedAtMs`).
 */
export class DiskSpace {
  constructor(
    private readonly redis: Redis,
    private readonly key: string,
    private readonly modelsDir: string,
    private readonly minFreeBytes: number,
  ) {}

  /**
   * Fails with DISK_FULL, before a byte is written, when free space minus what other downloads
   * still need is less than `remaining` plus MIN_FREE_BYTES; otherwise reserves `remaining`.
   */
  async reserve(stagingKey: string, remaining: number): Promise<void> {
    const [fs, all] = await Promise.all([statfs(this.modelsDir), this.redis.hgetall(this.key)]);
    const free = fs.bavail * fs.bsize;
    const now = Date.now();
    let reserved = 0;
    for (const [field, value] of Object.entries(all)) {
      if (field === stagingKey) continue;
      const [bytes, at] = value.split(':').map(Number);
      if (now - (at ?? 0) < STALE_MS) reserved += bytes ?? 0;
    }
    if (free - reserved < remaining + this.minFreeBytes) {
      throw new ModelFetchError(
        'DISK_FULL',
        `not enough space on the volume: ${remaining} bytes to write, ${free} free, ${reserved} reserved by other downloads, ` +
          `${this.minFreeBytes} kept free (MIN_FREE_BYTES)`,
        false,
      );
    }
    await this.update(stagingKey, remaining);
  }

  /** Refreshes what this download still needs (it shrinks as bytes land on the disk). */
  async update(stagingKey: string, remaining: number): Promise<void> {
    await this.redis.hset(this.key, stagingKey, `${Math.max(0, remaining)}:${Date.now()}`);
  }

  async release(stagingKey: string): Promise<void> {
    await this.redis.hdel(this.key, stagingKey).catch(() => {});
  }
}
