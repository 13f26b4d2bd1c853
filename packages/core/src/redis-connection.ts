import { Cluster, Redis, type RedisOptions } from 'ioredis';
import type { ConnectionOptions } from 'bullmq';
import { parseRedisTarget } from './redis-target.js';

export type RedisRole = 'queue' | 'worker';

/** A connection to one Redis server or to a Redis Cluster: the commands we use are the same on both. */
export type RedisClient = Redis | Cluster;

/**
 * An ioredis client for BullMQ and our own keys: a `Redis` for `redis://`/`rediss://`, a
 * `Cluster` for `redis+cluster://` (BullMQ takes either as `connection`). Workers need
 * `maxRetriesPerRequest: null` (BullMQ's rule for blocking connections); the API fails fast
 * instead so requests get a 503 rather than hang.
 */
export function createRedis(url: string, role: RedisRole, prefix: string, extra: RedisOptions = {}): RedisClient {
  const options: RedisOptions = {
    maxRetriesPerRequest: role === 'worker' ? null : 2,
    enableReadyCheck: true,
    lazyConnect: false,
    // Named after the prefix, so `CLIENT LIST` shows whose connection it is.
    connectionName: `${prefix}:model-manager-${role}`,
    ...extra,
  };
  const target = parseRedisTarget(url);
  if (target.mode === 'single') return new Redis(url, options);
  const { lazyConnect, enableReadyCheck, ...perNode } = options;
  return new Cluster(target.nodes, {
    lazyConnect,
    enableReadyCheck,
    // Options for the connection to each node; credentials and TLS come from the URL.
    redisOptions: {
      ...perNode,
      ...(target.username ? { username: target.username } : {}),
      ...(target.password ? { password: target.password } : {}),
      ...(target.tls ? { tls: {} } : {}),
    },
    // Commands sent while a node fails over are retried on the new slot map, not failed.
    retryDelayOnFailover: 200,
    retryDelayOnClusterDown: 500,
  });
}

/**
 * The `connection` for a QueueEvents, which needs a blocking connection of its own. For one
 * server BullMQ makes (and closes) it from options. For a cluster it takes a client and uses a
 * duplicate of it, so the template here never connects; `close` disconnects it all the same.
 */
export function queueEventsConnection(
  url: string,
  prefix: string,
  name: string,
): { connection: ConnectionOptions; close: () => void } {
  if (parseRedisTarget(url).mode === 'single') {
    return { connection: { url, connectionName: `${prefix}:${name}` } as ConnectionOptions, close: () => {} };
  }
  const template = createRedis(url, 'worker', prefix, { lazyConnect: true, connectionName: `${prefix}:${name}` });
  return { connection: template, close: () => template.disconnect() };
}
