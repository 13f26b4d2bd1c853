import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { QUEUE_NAME, bullKeys, volumeKeys } from '@model-manager/core';
import { StagingLease } from '../src/download/staging/staging-lease.js';

const redis = new Redis(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379');
afterAll(() => redis.disconnect());

const keys = () => {
  const id = randomBytes(4).toString('hex');
  return {
    lease: volumeKeys(`mmtest-lease-${id}`, false).stagingLease('job'),
    jobLock: bullKeys(`mmtest-lease-${id}`, QUEUE_NAME).jobLock('job'),
  };
};

describe('staging-file fencing against real Redis', () => {
  it('lets one writer in at a time, and only while it holds the job lock', async () => {
    const k = keys();
    await redis.set(k.jobLock, 'token-a', 'PX', 10_000);
    const a = new StagingLease(redis, k.lease, k.jobLock, 'token-a', 400);
    await a.acquire();
    expect(() => a.assertValid()).not.toThrow();

    // The job is handed over (stalled) to worker B: its lock now holds B's token.
    await redis.set(k.jobLock, 'token-b', 'PX', 10_000);
    const b = new StagingLease(redis, k.lease, k.jobLock, 'token-b', 400);
    const bAcquired = b.acquire();
    // A's next renewal sees the job is gone: it stops writing and frees the lease for B.
    await expect
      .poll(() => {
        try {
          a.assertValid();
          return 'valid';
        } catch (err) {
          return (err as { code: string }).code;
        }
      })
      .toBe('LOCK_LOST');
    await bAcquired;
    expect(() => b.assertValid()).not.toThrow();
    await a.release(); // A's release must not free B's lease
    expect(await redis.exists(k.lease)).toBe(1);
    await b.release();
    expect(await redis.exists(k.lease)).toBe(0);
    await redis.del(k.jobLock);
  });

  it('refuses a worker that does not hold the job lock', async () => {
    const k = keys();
    await redis.set(k.jobLock, 'someone-else', 'PX', 10_000);
    const lease = new StagingLease(redis, k.lease, k.jobLock, 'stale-token', 400);
    await expect(lease.acquire()).rejects.toMatchObject({ code: 'LOCK_LOST' });
    await redis.del(k.jobLock);
  });

  it('stops a writer that can no longer renew its lease (Redis unreachable)', async () => {
    const k = keys();
    const own = new Redis(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379', {
      maxRetriesPerRequest: 0,
      enableOfflineQueue: false,
    });
    if (own.status !== 'ready') await new Promise((resolve) => own.once('ready', resolve));
    await redis.set(k.jobLock, 'token-a', 'PX', 10_000);
    const lease = new StagingLease(own, k.lease, k.jobLock, 'token-a', 400);
    await lease.acquire();
    own.disconnect(); // renewals now fail
    await expect
      .poll(() => {
        try {
          lease.assertValid();
          return 'valid';
        } catch {
          return 'stopped';
        }
      })
      .toBe('stopped');
    await lease.release();
    await redis.del(k.jobLock, k.lease);
  });
});
