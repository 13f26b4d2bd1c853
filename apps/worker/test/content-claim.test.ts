import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { volumeKeys } from '@model-manager/core';
import { ContentClaim } from '../src/download/content-claim.js';

const redis = new Redis(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379');
afterAll(() => redis.disconnect());

describe('one download per SHA-256 at a time, against real Redis', () => {
  it('makes another job wait, lets a later attempt of the same job take over, and is released only by its own attempt', async () => {
    const key = volumeKeys(`mmtest-claim-${randomBytes(4).toString('hex')}`, false).contentClaim('ab12');
    const first = new ContentClaim(redis, key, 'p:1', 10_000);
    expect(await first.take()).toBeUndefined();
    // Another name for the same bytes: told which job has them.
    expect(await new ContentClaim(redis, key, 'p:2', 10_000).take()).toBe('p:1');
    // A job id that merely starts the same is another job.
    expect(await new ContentClaim(redis, key, 'p:10', 10_000).take()).toBe('p:1');

    // The same job again (its worker was killed): it takes the claim straight back ...
    const resumed = new ContentClaim(redis, key, 'p:1', 10_000);
    expect(await resumed.take()).toBeUndefined();
    // ... and the dead attempt's late release does not free it for the other job.
    await first.release();
    expect(await new ContentClaim(redis, key, 'p:2', 10_000).take()).toBe('p:1');

    await resumed.release();
    expect(await redis.exists(key)).toBe(0);
    const next = new ContentClaim(redis, key, 'p:2', 10_000);
    expect(await next.take()).toBeUndefined();
    await next.release();
  });

  it('expires when its holder stops renewing it (a killed worker)', async () => {
    const key = volumeKeys(`mmtest-claim-${randomBytes(4).toString('hex')}`, false).contentClaim('ab12');
    await redis.set(key, 'p:dead|0a0b0c', 'PX', 300);
    expect(await new ContentClaim(redis, key, 'p:live', 10_000).take()).toBe('p:dead');
    await expect.poll(() => redis.exists(key), { timeout: 5000 }).toBe(0);
    const live = new ContentClaim(redis, key, 'p:live', 10_000);
    expect(await live.take()).toBeUndefined();
    await live.release();
  });
});
