import { Cluster, Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { ConfigError, createRedis, hashTag, loadConfig, parseRedisTarget } from '@model-manager/core';

describe('REDIS_URL: one server or a cluster', () => {
  it('reads redis:// and rediss:// as one server, unchanged', () => {
    expect(parseRedisTarget('redis://127.0.0.1:6379/2')).toEqual({ mode: 'single', url: 'redis://127.0.0.1:6379/2' });
    expect(parseRedisTarget('rediss://u:p@h:6380')).toEqual({ mode: 'single', url: 'rediss://u:p@h:6380' });
  });

  it('reads redis+cluster:// seeds, credentials and TLS', () => {
    expect(parseRedisTarget('redis+cluster://10.0.0.1:7000,10.0.0.2:7001, redis-2.svc:7002/')).toEqual({
      mode: 'cluster',
      nodes: [
        { host: '10.0.0.1', port: 7000 },
        { host: '10.0.0.2', port: 7001 },
        { host: 'redis-2.svc', port: 7002 },
      ],
      username: undefined,
      password: undefined,
      tls: false,
    });
    expect(parseRedisTarget('rediss+cluster://app:s%40cret@[::1]:7000')).toEqual({
      mode: 'cluster',
      nodes: [{ host: '::1', port: 7000 }],
      username: 'app',
      password: 's@cret',
      tls: true,
    });
    expect(parseRedisTarget('redis+cluster://:pw@h:1')).toMatchObject({ username: undefined, password: 'pw' });
  });

  it.each([
    ['http://h:1', /must start with redis:\/\//],
    ['redis+cluster://', /names no seed node/],
    ['redis+cluster://h', /seed "h" is not host:port/],
    ['redis+cluster://h:0', /port 1-65535/],
    ['redis+cluster://h:70000', /port 1-65535/],
    ['redis+cluster://h:1/3', /no \/db/],
    ['redis+cluster://h:1?tls=true', /no \/db, no \?options/],
  ])('refuses %j with a message that says how it should look', (url, message) => {
    expect(() => parseRedisTarget(url)).toThrow(message);
    expect(() => loadConfig({ REDIS_URL: url })).toThrow(ConfigError);
  });

  it('makes an ioredis Cluster for a cluster URL and a Redis otherwise (not connecting here)', () => {
    const cluster = createRedis('redis+cluster://127.0.0.1:1,127.0.0.1:2', 'worker', '{p}', { lazyConnect: true });
    const single = createRedis('redis://127.0.0.1:1', 'queue', 'p', { lazyConnect: true });
    try {
      expect(cluster).toBeInstanceOf(Cluster);
      expect(cluster.isCluster).toBe(true);
      // BullMQ reads the per-node options of a cluster: workers' must allow blocking commands.
      expect((cluster as Cluster).options.redisOptions).toMatchObject({
        maxRetriesPerRequest: null,
        connectionName: '{p}:model-manager-worker',
      });
      expect(single).toBeInstanceOf(Redis);
      expect(single.isCluster).toBe(false);
    } finally {
      cluster.disconnect();
      single.disconnect();
    }
  });
});

describe('QUEUE_PREFIX on a cluster', () => {
  const url = 'redis+cluster://127.0.0.1:7000';

  it('defaults to a hash-tagged prefix when unset', () => {
    const config = loadConfig({ REDIS_URL: url });
    expect(config.QUEUE_PREFIX).toBe('{model-manager}');
    expect(config.redis.mode).toBe('cluster');
  });

  it('keeps a prefix that carries a hash tag', () => {
    expect(loadConfig({ REDIS_URL: url, QUEUE_PREFIX: '{prod}' }).QUEUE_PREFIX).toBe('{prod}');
    expect(loadConfig({ REDIS_URL: url, QUEUE_PREFIX: 'eu-{prod}.v2' }).QUEUE_PREFIX).toBe('eu-{prod}.v2');
  });

  it.each(['prod', '{}prod', 'prod{', 'pr}od{x'])('refuses %j, suggesting a tagged form', (prefix) => {
    expect(() => loadConfig({ REDIS_URL: url, QUEUE_PREFIX: prefix })).toThrow(
      /QUEUE_PREFIX=.*must contain a hash tag, e\.g\. \{/,
    );
  });

  it('leaves the prefix alone on one server', () => {
    expect(loadConfig({ REDIS_URL: 'redis://h:1' }).QUEUE_PREFIX).toBe('model-manager');
    expect(loadConfig({ REDIS_URL: 'redis://h:1', QUEUE_PREFIX: 'prod' }).QUEUE_PREFIX).toBe('prod');
  });

  it('finds the hash tag as Redis Cluster does', () => {
    expect(hashTag('{a}:b')).toBe('a');
    expect(hashTag('x{a}{b}')).toBe('a');
    expect(hashTag('{}a{b}')).toBeUndefined(); // the first { has an empty tag: the whole key is hashed
    expect(hashTag('a}{b')).toBeUndefined();
    expect(hashTag('plain')).toBeUndefined();
  });
});
