import { Redis, type RedisOptions } from 'ioredis';
import type { ModelKind } from './volume-layout.js';

/**
 * Awaited requests (a handler waiting to generate) run before prefetch batches.
 * BullMQ runs lower priority numbers first.
 */
export const PRIORITY = { awaited: 1, single: 5, batch: 10 } as const;

/** One job per model at a time: the deduplication id BullMQ keys in-flight jobs by. */
export function modelKey(kind: ModelKind, name: string): string {
  return `${kind}/${name}`;
}

/** Redis keys of our own, under the same prefix as the queue so test runs and deployments never collide. */
export function serviceKeys(prefix: string) {
  const base = `${prefix}:model-manager`;
  return {
    stats: `${base}:stats`,
    batch: (id: string) => `${base}:batch:${id}`,
    /** Requests of one caller in one minute window (RATE_LIMIT_PER_MINUTE). */
    rate: (caller: string, window: number) => `${base}:rate:${caller}:${window}`,
  };
}

export type RedisRole = 'queue' | 'worker';

/**
 * An ioredis client for BullMQ. Workers need `maxRetriesPerRequest: null` (BullMQ's rule for
 * blocking connections); the API fails fast instead so requests get a 503 rather than hang.
 */
export function createRedis(url: string, role: RedisRole, prefix: string, extra: RedisOptions = {}): Redis {
  return new Redis(url, {
    maxRetriesPerRequest: role === 'worker' ? null : 2,
    enableReadyCheck: true,
    lazyConnect: false,
    // Named after the prefix, so `CLIENT LIST` shows whose connection it is.
    connectionName: `${prefix}:model-manager-${role}`,
    ...extra,
  });
}
