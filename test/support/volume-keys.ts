import { Redis } from 'ioredis';
import { volumeId } from '@model-manager/registry';
import { REDIS_URL } from './redis-url.js';

/**
 * Volume-wide keys (leases, reservations) are not under QUEUE_PREFIX, so dropPrefix misses them:
 * they are dropped by the volume's id.
 */
export async function dropVolumeKeys(modelsDir: string): Promise<void> {
  const redis = new Redis(REDIS_URL);
  try {
    const keys = await redis.keys(`model-manager:volume:${await volumeId(modelsDir)}:*`);
    if (keys.length > 0) await redis.unlink(...keys);
  } finally {
    redis.disconnect();
  }
}
