#!/usr/bin/env node
// The worker image's HEALTHCHECK: exit 0 while this container's worker holds its Redis
// connection, found by the name it gives it (`<prefix>:model-manager-worker:<name>`, see
// worker.ts), so a worker that lost Redis or never got there shows as unhealthy.
import { hostname } from 'node:os';
import { Cluster } from 'ioredis';
import { createRedis, loadConfig } from '@model-manager/core';

const config = loadConfig();
const base = `${config.QUEUE_PREFIX}:model-manager-worker:`;
const ours = (name: string) =>
  config.WORKER_NAME ? name === base + config.WORKER_NAME : name.startsWith(`${base}${hostname()}-`);
const redis = createRedis(config.REDIS_URL, 'queue', config.QUEUE_PREFIX, {
  connectionName: `${config.QUEUE_PREFIX}:model-manager-healthcheck`,
  connectTimeout: 3000,
});
redis.on('error', () => {}); // reported once, below

try {
  // On a cluster the worker's connection is to one of the masters: ask each (known once it answers).
  if (redis instanceof Cluster) await redis.ping();
  const nodes = redis instanceof Cluster ? redis.nodes('master') : [redis];
  const lists = await Promise.all(nodes.map((node) => node.client('LIST') as Promise<string>));
  const names = lists.flatMap((list) => [...list.matchAll(/(?:^| )name=(\S*)/gm)].map((m) => m[1]!));
  if (!names.some(ours)) {
    process.stderr.write(`no Redis connection named ${base}${config.WORKER_NAME ?? `${hostname()}-<pid>`}\n`);
    process.exitCode = 1;
  }
} catch (err) {
  process.stderr.write(`Redis: ${(err as Error).message}\n`);
  process.exitCode = 1;
} finally {
  redis.disconnect();
}
