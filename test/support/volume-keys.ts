import { Redis } from 'ioredis';
import { volumeKeys } from '@model-manager/core';
import { volumeId } from '@model-manager/registry';
import { REDIS_URL } from './redis-url.js';

/**
 * Volume-wide keys (leases, reservations) are not under QUEUE_PREFIX, so dropPrefix misses them:
 * they are dropped by the volume's id, in both of the forms the service names them (plain, and
 * hash-tagged as on a cluster).
 */
export async function dropVolumeKeys(modelsDir: string): Promise<void> {
  const redis = new Redis(REDIS_URL);
  try {
    const id = await volumeId(modelsDir);
    for (const cluster of [false, true]) {
      const keys = await redis.keys(volumeKeys(id, cluster).pattern);
      if (keys.length > 0) await redis.unlink(...keys);
    }
  } finally {
    redis.disconnect();
  }
}
