import { statfs } from 'node:fs/promises';
import { ModelFetchError, type RedisClient } from '@model-manager/core';

/** A reservation not refreshed for this long belongs to a dead worker and is ignored. */
const STALE_MS = 60_000;

// KEYS[1] reservations hash; ARGV: field, remaining, free, minFree, now, staleMs.
// Returns -1 when reserved, else the bytes other downloads hold (refused).
const RESERVE = `
local reserved = 0
local all = redis.call('hgetall', KEYS[1])
for i = 1, #all, 2 do
  if all[i] ~= ARGV[1] then
    local bytes, at = string.match(all[i + 1], '^(%d+):(%d+)$')
    if bytes and tonumber(ARGV[5]) - tonumber(at) < tonumber(ARGV[6]) then reserved = reserved + tonumber(bytes) end
  end
end
if tonumber(ARGV[3]) - reserved < tonumber(ARGV[2]) + tonumber(ARGV[4]) then return reserved end
redis.call('hset', KEYS[1], ARGV[1], ARGV[2] .. ':' .. ARGV[5])
return -1`;

/**
 * Space reserved by downloads in flight on one volume, shared by every worker through one
 * Redis hash (field: staging key, value: `remainingBytes:updatedAtMs`).
 */
export class DiskSpace {
  constructor(
    private readonly redis: RedisClient,
    private readonly key: string,
    private readonly modelsDir: string,
    private readonly minFreeBytes: number,
  ) {}

  /**
   * Fails with DISK_FULL, before a byte is written, when free space minus what other downloads
   * still need is less than `remaining` plus MIN_FREE_BYTES; otherwise reserves `remaining`.
   */
  async reserve(stagingKey: string, remaining: number): Promise<void> {
    const fs = await statfs(this.modelsDir);
    const free = fs.bavail * fs.bsize;
    // Sum, compare and reserve in one script: two workers starting together cannot both take the last space.
    const reserved = (await this.redis.eval(
      RESERVE,
      1,
      this.key,
      stagingKey,
      String(remaining),
      String(free),
      String(this.minFreeBytes),
      String(Date.now()),
      String(STALE_MS),
    )) as number;
    if (reserved >= 0) {
      throw new ModelFetchError(
        'DISK_FULL',
        `not enough space on the volume: ${remaining} bytes to write, ${free} free, ${reserved} reserved by other downloads, ` +
          `${this.minFreeBytes} kept free (MIN_FREE_BYTES)`,
        { retryable: false },
      );
    }
  }

  /** Bytes the other downloads in flight on this volume still need (their live reservations). */
  async reservedByOthers(stagingKey: string): Promise<number> {
    const all = await this.redis.hgetall(this.key);
    const now = Date.now();
    let reserved = 0;
    for (const [field, value] of Object.entries(all)) {
      const match = /^(\d+):(\d+)$/.exec(value);
      if (field !== stagingKey && match && now - Number(match[2]) < STALE_MS) reserved += Number(match[1]);
    }
    return reserved;
  }

  /** Refreshes what this download still needs (it shrinks as bytes land on the disk). */
  async update(stagingKey: string, remaining: number): Promise<void> {
    await this.redis.hset(this.key, stagingKey, `${Math.max(0, remaining)}:${Date.now()}`);
  }

  async release(stagingKey: string): Promise<void> {
    await this.redis.hdel(this.key, stagingKey).catch(() => {});
  }
}
