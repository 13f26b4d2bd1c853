import { existsSync, mkdirSync, readdirSync, statfsSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger, readCounters, serviceKeys, type ModelKind } from '@model-manager/core';
import { Registry, type RegistryEntry } from '@model-manager/registry';
import { TestOrigin, safetensorsOf } from '../support/origin.js';
import { REDIS_URL, call, dropPrefix, startApp, startService, type Service } from '../support/service.js';
import { registryOf } from '../support/volume.js';
import { smallVolume } from '../support/small-volume.js';
import { dropVolumeKeys } from '../support/volume-keys.js';

const KiB = 1024;
const MiB = 1024 * KiB;
const DAY = 86_400;
const now = () => Date.now() / 1000;
const names = (models: Array<{ name: string }>) => models.map((m) => m.name);

/** Rewrites registry entries as an older volume would hold them, under the same lease the services take. */
async function age(
  modelsDir: string,
  changes: Record<string, Partial<RegistryEntry>>,
  kind: ModelKind = 'lora',
): Promise<void> {
  const redis = new Redis(REDIS_URL);
  const registry = new Registry({ modelsDir, redis, logger: createLogger({ level: 'silent', name: 'test' }) });
  try {
    await registry.update((data) => {
      const section = data[kind === 'lora' ? 'loras' : kind === 'checkpoint' ? 'checkpoints' : 'embeddings'];
      for (const [name, change] of Object.entries(changes)) Object.assign(section[name]!, change);
    });
  } finally {
    await registry.close();
    redis.disconnect();
  }
}

/** Model files and entries written straight to the volume in the registry's format, under the registry lease (as the Python module does). */
async function register(
  modelsDir: string,
  models: Array<{ name: string; bytes: number; daysAgo: number }>,
): Promise<void> {
  const redis = new Redis(REDIS_URL);
  const registry = new Registry({ modelsDir, redis, logger: createLogger({ level: 'silent', name: 'test' }) });
  try {
    for (const { name, bytes, daysAgo } of models) {
      const filePath = path.join(modelsDir, 'loras', `${name}.safetensors`);
      writeFileSync(filePath, safetensorsOf(bytes));
      const at = now() - daysAgo * DAY;
      await registry.put('lora', name, {
        url: '',
        path: filePath,
        hash: '',
        downloaded_at: at,
        last_used: at,
        usage_count: 0,
        file_size: bytes,
      });
    }
  } finally {
    await registry.close();
    redis.disconnect();
  }
}

describe('quota eviction and what it never removes', () => {
  const origin = new TestOrigin();
  let svc: Service;
  let fetchQueue: Queue;
  const fetchLora = (name: string, extra: Record<string, unknown> = {}) =>
    call(svc.apiUrl, 'POST', '/v1/fetch?wait=30', {
      kind: 'lora',
      name,
      url: `${origin.url}/files/${name}.safetensors`,
      ...extra,
    });

  beforeAll(async () => {
    await origin.start();
    // A quota of 1 byte: everything that may go, goes, so the order and every exception show.
    svc = await startService('life-rules', { CACHE_MAX_BYTES: '1', MIN_FREE_BYTES: '0', CLEANUP_CRON: 'off' });
    fetchQueue = new Queue('model-fetch', { connection: { url: REDIS_URL } as never, prefix: svc.prefix });
  });
  afterAll(async () => {
    await fetchQueue?.close();
    if (svc) await dropVolumeKeys(svc.modelsDir);
    await svc?.stop();
    await origin.close();
  });

  it('removes the least valuable first, keeps pinned, leased, young and in-flight models, and dryRun touches nothing', async () => {
    // Already on the volume (as the old module left it): with a 1-byte quota no download would fit.
    const sizes: Record<string, number> = {
      bigstale: 128,
      smallstale: 64,
      used: 128,
      recent: 64,
      pinned: 64,
      leased: 64,
      held: 64,
      busy: 64,
      young: 64,
    };
    await register(
      svc.modelsDir,
      Object.entries(sizes).map(([name, kib]) => ({ name, bytes: kib * KiB, daysAgo: 0 })),
    );
    // Leases: one from /v1/prepare, one from /v1/fetch with lease: true (both cache hits here).
    const prepared = await call(svc.apiUrl, 'POST', '/v1/prepare', {
      loras: [{ name: 'leased', url: `${origin.url}/files/leased.safetensors` }],
    });
    expect(prepared.body).toMatchObject({
      leaseId: expect.any(String),
      leaseExpiresAt: expect.any(String),
      failed: [],
    });
    expect(Date.parse(prepared.body.leaseExpiresAt) - Date.now()).toBeGreaterThan(800_000); // LEASE_SECONDS 900
    const held = await fetchLora('held', { lease: true });
    expect(held.body).toMatchObject({
      status: 'cached',
      leaseId: expect.any(String),
      leaseExpiresAt: expect.any(String),
    });
    // Those hits reach the registry before the test sets usage and times.
    await expect.poll(() => registryOf(svc.modelsDir).loras.held.usage_count, { timeout: 10_000 }).toBe(1);
    await expect.poll(() => registryOf(svc.modelsDir).loras.leased.usage_count, { timeout: 10_000 }).toBe(1);

    const pin = await call(svc.apiUrl, 'POST', '/v1/models/lora/pinned/pin');
    expect(pin.body).toMatchObject({ name: 'pinned', pinned: true });
    expect((await call(svc.apiUrl, 'POST', '/v1/models/lora/nosuch/pin')).status).toBe(404);
    expect(registryOf(svc.modelsDir).loras.pinned.pinned).toBe(true);
    // A fetch of `busy` waiting to retry: in flight, so its model is left alone.
    await fetchQueue.add(
      'fetch-model',
      { kind: 'lora', name: 'busy', url: `${origin.url}/files/busy.safetensors`, requestedAt: Date.now() },
      { delay: 600_000, deduplication: { id: 'lora/busy' } },
    );

    const t = now();
    const old = t - 100 * DAY;
    await age(svc.modelsDir, {
      bigstale: { downloaded_at: old, last_used: t - 10 * DAY, usage_count: 0 },
      smallstale: { downloaded_at: old, last_used: t - 10 * DAY, usage_count: 0 },
      used: { downloaded_at: old, last_used: t - 10 * DAY, usage_count: 9 },
      recent: { downloaded_at: old, last_used: t - 1 * DAY, usage_count: 0 },
      pinned: { downloaded_at: old, last_used: t - 90 * DAY },
      leased: { downloaded_at: old, last_used: t - 80 * DAY },
      held: { downloaded_at: old, last_used: t - 75 * DAY },
      busy: { downloaded_at: old, last_used: t - 70 * DAY },
      young: { downloaded_at: t - 60, last_used: t - 60 * DAY },
    });

    const before = registryOf(svc.modelsDir);
    const dry = await call(svc.apiUrl, 'POST', '/v1/cleanup', { maxAgeDays: 365, quota: true, dryRun: true });
    expect(dry.status).toBe(200);
    // Score = idle time x size / (1 + uses): 10 d x 128 K, 10 d x 64 K, 10 d x 128 K / 10, 1 d x 64 K.
    expect(names(dry.body.removed)).toEqual(['bigstale', 'smallstale', 'used', 'recent']);
    expect(dry.body.removed.every((m: { reason: string }) => m.reason === 'max-bytes')).toBe(true);
    expect(dry.body.removed[0]).toMatchObject({
      kind: 'lora',
      fileSize: 128 * KiB,
      pinned: false,
      path: path.join(svc.modelsDir, 'loras', 'bigstale.safetensors'),
    });
    // In score order too: the two leased models were used once (their lease's cache hit), halving theirs.
    expect(dry.body.skipped).toEqual([
      { kind: 'lora', name: 'pinned', reason: 'pinned' },
      { kind: 'lora', name: 'busy', reason: 'in-flight' },
      { kind: 'lora', name: 'young', reason: 'grace' },
      { kind: 'lora', name: 'leased', reason: 'leased' },
      { kind: 'lora', name: 'held', reason: 'leased' },
    ]);
    expect(dry.body).toMatchObject({ dryRun: true, fits: false, freedBytes: (128 + 64 + 128 + 64) * KiB });
    expect(registryOf(svc.modelsDir)).toEqual(before);
    expect(readdirSync(path.join(svc.modelsDir, 'loras'))).toHaveLength(9);

    const real = await call(svc.apiUrl, 'POST', '/v1/cleanup', { maxAgeDays: 365, quota: true });
    expect(names(real.body.removed)).toEqual(names(dry.body.removed));
    expect(Object.keys(registryOf(svc.modelsDir).loras).sort()).toEqual(['busy', 'held', 'leased', 'pinned', 'young']);
    expect(readdirSync(path.join(svc.modelsDir, 'loras')).sort()).toEqual(
      ['busy', 'held', 'leased', 'pinned', 'young'].map((n) => `${n}.safetensors`),
    );
    expect(readdirSync(path.join(svc.modelsDir, '.incoming'))).toEqual([]);
    const counter = new Redis(REDIS_URL);
    try {
      const counters = readCounters(await counter.hgetall(serviceKeys(svc.prefix).stats));
      expect(counters.evictions).toContainEqual({ reason: 'max-bytes', count: 4 });
    } finally {
      counter.disconnect();
    }

    // The age rule of POST /v1/cleanup never removes pinned or leased models either.
    const ageRun = await call(svc.apiUrl, 'POST', '/v1/cleanup', { maxAgeDays: 0, keepPopular: 0 });
    expect(names(ageRun.body.removed)).toEqual(['young']);
    expect(ageRun.body.removed[0].reason).toBe('age');

    // A lease extended keeps its models; released (or unknown), it no longer protects them.
    const extended = await call(svc.apiUrl, 'POST', `/v1/leases/${prepared.body.leaseId}`, { seconds: 60 });
    expect(extended.body).toMatchObject({ leaseId: prepared.body.leaseId, models: [{ kind: 'lora', name: 'leased' }] });
    expect(Date.parse(extended.body.expiresAt) - Date.now()).toBeLessThanOrEqual(60_000);
    expect((await call(svc.apiUrl, 'DELETE', `/v1/leases/${prepared.body.leaseId}`)).status).toBe(204);
    expect((await call(svc.apiUrl, 'DELETE', `/v1/leases/${prepared.body.leaseId}`)).body.error.code).toBe(
      'LEASE_NOT_FOUND',
    );
    expect((await call(svc.apiUrl, 'POST', '/v1/leases/nope', {})).status).toBe(404);
    const afterRelease = await call(svc.apiUrl, 'POST', '/v1/cleanup', { maxAgeDays: 365, quota: true });
    expect(names(afterRelease.body.removed)).toEqual(['leased']);
    expect(existsSync(path.join(svc.modelsDir, 'loras', 'leased.safetensors'))).toBe(false);

    const unpinned = await call(svc.apiUrl, 'DELETE', '/v1/models/lora/pinned/pin');
    expect(unpinned.body).toMatchObject({ name: 'pinned', pinned: false });
    const afterUnpin = await call(svc.apiUrl, 'POST', '/v1/cleanup', { maxAgeDays: 365, quota: true });
    expect(names(afterUnpin.body.removed)).toEqual(['pinned']);
    expect(Object.keys(registryOf(svc.modelsDir).loras).sort()).toEqual(['busy', 'held']);
  });
});

describe('a download that does not fit', () => {
  const origin = new TestOrigin();
  const volume = smallVolume(8);
  beforeAll(async () => {
    await origin.start();
    if (!volume.mount())
      console.warn(
        'cannot mount a tmpfs here (not root?): MIN_FREE_BYTES is set just below the free space of the temp folder instead',
      );
  });
  afterAll(async () => {
    await origin.close();
    volume.remove();
  });

  it('makes room by evicting (MIN_FREE_BYTES on a real small disk), and fails with DISK_FULL only when it cannot', async () => {
    const modelsDir = path.join(volume.dir, 'models');
    mkdirSync(modelsDir);
    const free = () => {
      const st = statfsSync(modelsDir);
      return st.bavail * st.bsize;
    };
    // On the 8 MiB tmpfs: keep 2.5 MiB free, so two 2 MiB models fit and a third does not.
    const minFree = volume.mounted ? 2.5 * MiB : free() - 5 * MiB;
    const svc = await startService('life-room', {
      MODELS_DIR: modelsDir,
      MIN_FREE_BYTES: String(minFree),
      EVICTION_GRACE_SECONDS: '0',
      CLEANUP_CRON: 'off',
      SEGMENTS: '1',
    });
    const fetchLora = (name: string) =>
      call(svc.apiUrl, 'POST', '/v1/fetch?wait=30', {
        kind: 'lora',
        name,
        url: `${origin.url}/files/${name}.safetensors`,
      });
    try {
      for (const name of ['first', 'second', 'third', 'fourth']) origin.addFile(`${name}.safetensors`, 2 * MiB);
      expect((await fetchLora('first')).body.status).toBe('completed');
      expect((await fetchLora('second')).body.status).toBe('completed');
      await age(modelsDir, { first: { last_used: now() - 2 * DAY }, second: { last_used: now() - DAY } });

      const third = await fetchLora('third');
      expect(third.body.status).toBe('completed');
      expect(Object.keys(registryOf(modelsDir).loras).sort()).toEqual(['second', 'third']);
      expect(existsSync(path.join(modelsDir, 'loras', 'first.safetensors'))).toBe(false);
      const evicted = await svc.worker.waitForLog('evicted models to make room');
      expect(evicted.removed).toEqual(['lora/first (min-free)']);

      // Nothing may go: both pinned. The download fails before writing and removes nothing.
      await call(svc.apiUrl, 'POST', '/v1/models/lora/second/pin');
      await call(svc.apiUrl, 'POST', '/v1/models/lora/third/pin');
      const fourth = await fetchLora('fourth');
      expect(fourth.status).toBe(502);
      expect(fourth.body.error.code).toBe('DISK_FULL');
      expect(fourth.body.error.message).toMatch(/lora\/second \(pinned\)/);
      expect(Object.keys(registryOf(modelsDir).loras).sort()).toEqual(['second', 'third']);
      expect(readdirSync(path.join(modelsDir, 'loras')).sort()).toEqual(['second.safetensors', 'third.safetensors']);
    } finally {
      await dropVolumeKeys(modelsDir);
      await svc.stop();
    }
  });

  it('makes room under CACHE_MAX_BYTES, and evicts after a download of unknown size', async () => {
    const svc = await startService('life-quota', {
      CACHE_MAX_BYTES: String(300 * KiB),
      MIN_FREE_BYTES: '0',
      EVICTION_GRACE_SECONDS: '0',
      CLEANUP_CRON: 'off',
    });
    const fetchLora = (name: string) =>
      call(svc.apiUrl, 'POST', '/v1/fetch?wait=30', {
        kind: 'lora',
        name,
        url: `${origin.url}/files/${name}.safetensors`,
      });
    try {
      for (const name of ['q1', 'q2', 'q3']) origin.addFile(`${name}.safetensors`, 128 * KiB);
      expect((await fetchLora('q1')).body.status).toBe('completed');
      expect((await fetchLora('q2')).body.status).toBe('completed');
      await age(svc.modelsDir, { q1: { last_used: now() - DAY }, q2: { last_used: now() - 2 * DAY } });
      expect((await fetchLora('q3')).body.status).toBe('completed');
      expect(Object.keys(registryOf(svc.modelsDir).loras).sort()).toEqual(['q1', 'q3']);

      // No Content-Length: no room can be made before writing, so the volume is brought back under the quota once it is published.
      origin.addFile('q4.safetensors', 128 * KiB);
      await age(svc.modelsDir, { q1: { last_used: now() - DAY } });
      const q4 = await call(svc.apiUrl, 'POST', '/v1/fetch?wait=30', {
        kind: 'lora',
        name: 'q4',
        url: `${origin.url}/files/q4.safetensors?noLength=1`,
      });
      expect(q4.body.status).toBe('completed');
      expect(Object.keys(registryOf(svc.modelsDir).loras).sort()).toEqual(['q3', 'q4']);
      expect((await svc.worker.waitForLog('evicted models to get back under the limits')).removed).toEqual([
        'lora/q1 (max-bytes)',
      ]);
    } finally {
      await dropVolumeKeys(svc.modelsDir);
      await svc.stop();
    }
  });
});

describe('the scheduled cleanup', () => {
  it('is registered with CLEANUP_CRON and its runs are jobs that say what they removed and why', async () => {
    // Every second (a 6-field pattern), so a run comes within the test.
    const svc = await startService('life-cron', {
      CACHE_MAX_BYTES: String(200 * KiB),
      MIN_FREE_BYTES: '0',
      EVICTION_GRACE_SECONDS: '0',
      CLEANUP_CRON: '* * * * * *',
    });
    const queue = new Queue('model-maintenance', { connection: { url: REDIS_URL } as never, prefix: svc.prefix });
    try {
      await expect
        .poll(async () => (await queue.getJobSchedulers()).map((s) => [s.key, s.pattern, s.name]), { timeout: 10_000 })
        .toEqual([['cleanup-schedule', '* * * * * *', 'cleanup']]);
      // Two models registered by another writer (as the Python module registers them), together over the quota: the staler one goes.
      const file = path.join(svc.modelsDir, 'loras', 'handmade.safetensors');
      await register(svc.modelsDir, [
        { name: 'handmade', bytes: 150 * KiB, daysAgo: 9 },
        { name: 'newer', bytes: 100 * KiB, daysAgo: 0 },
      ]);
      // The file goes before its job completes: wait for the job.
      const removing = async () =>
        (await queue.getJobs(['completed'])).find(
          (j) => (j.returnvalue as { removed?: unknown[] } | null)?.removed?.length,
        );
      await expect.poll(removing, { timeout: 15_000 }).toBeDefined();
      expect(existsSync(file)).toBe(false);
      const run = await removing();
      expect(run?.name).toBe('cleanup');
      expect(run?.id).toMatch(/^repeat:cleanup-schedule:\d+$/);
      expect(run?.returnvalue).toMatchObject({
        dryRun: false,
        removed: [{ kind: 'lora', name: 'handmade', reason: 'max-bytes' }],
        fits: true,
      });
      const { logs } = await queue.getJobLogs(run!.id!);
      expect(logs).toContain(`removed lora/handmade (${150 * KiB} bytes): max-bytes`);
      expect(svc.worker.logs.some((l) => l.includes('"trigger":"schedule"') && l.includes('handmade'))).toBe(true);
    } finally {
      await queue.close();
      await dropVolumeKeys(svc.modelsDir);
      await svc.stop();
    }
  });
});

describe('a fetch and a delete of one model at the same time, from two deployments on one volume', () => {
  it('ends with file and entry together, or neither', async () => {
    const origin = new TestOrigin();
    await origin.start();
    const svc = await startService('life-race', { MIN_FREE_BYTES: '0', CLEANUP_CRON: 'off' });
    // Another deployment (its own prefix, so it cannot see the first one's jobs) on the same volume.
    const otherApi = startApp('api', { ...svc.env, QUEUE_PREFIX: `${svc.prefix}-other` });
    try {
      const other = `http://127.0.0.1:${(await otherApi.waitForLog('api listening')).port as number}`;
      const file = origin.addFile('contested.safetensors', 512 * KiB);
      const ref = {
        kind: 'lora',
        name: 'contested',
        url: `${origin.url}/files/contested.safetensors`,
        sha256: file.sha256,
      };
      for (let round = 0; round < 6; round++) {
        let fetched = false;
        const fetching = call(svc.apiUrl, 'POST', '/v1/fetch?wait=30', ref).finally(() => {
          fetched = true;
        });
        const deletes: number[] = [];
        while (!fetched) deletes.push((await call(other, 'DELETE', '/v1/models/lora/contested')).status);
        deletes.push((await call(other, 'DELETE', '/v1/models/lora/contested')).status);
        expect((await fetching).body.status).toMatch(/completed|cached/);
        expect(deletes.every((s) => s === 204 || s === 404)).toBe(true);
        const entry = registryOf(svc.modelsDir).loras.contested;
        const onDisk = readdirSync(path.join(svc.modelsDir, 'loras'));
        if (entry) expect(onDisk).toEqual(['contested.safetensors']);
        else expect(onDisk).toEqual([]);
      }
      // Whatever the last round left, the next request serves a complete file.
      const again = await call(svc.apiUrl, 'POST', '/v1/fetch?wait=30', ref);
      expect(again.body.model.sha256).toBe(file.sha256);
      expect(readdirSync(path.join(svc.modelsDir, 'loras'))).toEqual(['contested.safetensors']);
      expect(readdirSync(path.join(svc.modelsDir, '.incoming'))).toEqual([]);
    } finally {
      await otherApi.stop();
      await dropPrefix(`${svc.prefix}-other`);
      await svc.stop();
      await origin.close();
    }
  });
});
