import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { readCounters, recordDownload, recordEviction, serviceKeys } from '@model-manager/core';
import { REDIS_URL, dropPrefix, uniquePrefix } from '../../../test/support/service.js';

describe('service counters in Redis', () => {
  const redis = new Redis(REDIS_URL);
  const prefix = uniquePrefix('counters');
  afterAll(async () => {
    redis.disconnect();
    await dropPrefix(prefix);
  });

  it('adds downloads into cumulative duration buckets, bytes and outcomes, and evictions by reason', async () => {
    await recordDownload(redis, prefix, { kind: 'lora', outcome: 'completed', bytes: 100, seconds: 0.4 });
    await recordDownload(redis, prefix, { kind: 'lora', outcome: 'completed', bytes: 50, seconds: 59 });
    await recordDownload(redis, prefix, { kind: 'lora', outcome: 'completed', bytes: 1, seconds: 7200 });
    await recordDownload(redis, prefix, { kind: 'checkpoint', outcome: 'failed' });
    await recordDownload(redis, prefix, { kind: 'embedding', outcome: 'linked' });
    await recordEviction(redis, prefix, 'min-free', 3);
    await recordEviction(redis, prefix, 'max-bytes', 0); // nothing removed: nothing counted

    const hash = await redis.hgetall(serviceKeys(prefix).stats);
    const counters = readCounters(hash);
    const lora = counters.durations.find((d) => d.kind === 'lora')!.histogram;
    const bucket = (le: string) => lora.buckets.find((b) => b.le === le)!.count;
    expect([bucket('1'), bucket('30'), bucket('60'), bucket('3600'), bucket('+Inf')]).toEqual([1, 1, 2, 2, 3]);
    expect(lora.count).toBe(3);
    expect(lora.sum).toBeCloseTo(7259.4);
    expect(counters.downloadBytes).toBe(151);
    const outcome = (kind: string, o: string) =>
      counters.downloads.find((d) => d.kind === kind && d.outcome === o)!.count;
    expect([
      outcome('lora', 'completed'),
      outcome('checkpoint', 'failed'),
      outcome('embedding', 'linked'),
      outcome('lora', 'failed'),
    ]).toEqual([3, 1, 1, 0]);
    expect(counters.evictions).toEqual(
      expect.arrayContaining([
        { reason: 'min-free', count: 3 },
        { reason: 'max-bytes', count: 0 },
        { reason: 'age', count: 0 },
      ]),
    );
    // The totals GET /v1/stats shows.
    expect([hash.downloads_succeeded, hash.downloads_failed, hash.downloads_bytes]).toEqual(['3', '1', '151']);
  });
});
