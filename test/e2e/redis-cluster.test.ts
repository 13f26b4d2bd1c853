import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  MAINTENANCE_QUEUE,
  QUEUE_NAME,
  bullKeys,
  serviceKeys,
  urlTokenKey,
  volumeKeyBase,
  volumeKeys,
} from '@model-manager/core';
import { ModelLeases } from '@model-manager/registry';
import { StagingLease } from '../../apps/worker/src/download/staging/staging-lease.js';
import { TestOrigin } from '../support/origin.js';
import { startRedisCluster, type TestRedisCluster } from '../support/redis-cluster.js';
import { call, startService, tempModelsDir, type Service } from '../support/service.js';

/**
 * The real API and worker processes against a real 3-master Redis Cluster on loopback: BullMQ's
 * scripts, our own scripts (model leases, disk reservations, staging leases, the registry lease)
 * and our MULTI blocks must each keep their keys in one slot, or the cluster refuses them
 * (CROSSSLOT). The last test looks at where every key landed.
 */
let cluster: TestRedisCluster;
beforeAll(async () => {
  cluster = await startRedisCluster(3);
});
afterAll(async () => {
  await cluster?.stop();
});

describe('against a Redis Cluster (redis+cluster://), end to end', () => {
  const origin = new TestOrigin();
  let svc: Service;
  const tag = `mmtest-cluster-${randomBytes(4).toString('hex')}`;
  const prefix = `{${tag}}`;
  const jobIds: string[] = [];
  let batchId = '';

  beforeAll(async () => {
    await origin.start();
    svc = await startService('cluster', {
      REDIS_URL: cluster.url,
      QUEUE_PREFIX: prefix,
      WORKER_CONCURRENCY: '2',
      DOWNLOAD_ATTEMPTS: '2',
      // Every scheduled cleanup would add a repeatable job; these tests start their own.
      CLEANUP_CRON: 'off',
    });
  });
  afterAll(async () => {
    await svc?.stop();
    await origin.close();
  });

  it('the cluster has three masters, and the service is ready on it', async () => {
    const info = String(await cluster.client().call('CLUSTER', 'INFO'));
    expect(info).toContain('cluster_state:ok');
    expect(info).toContain('cluster_size:3');
    const ready = await call(svc.apiUrl, 'GET', '/readyz');
    expect(ready.status).toBe(200);
  });

  it('fetches with wait (a download), then answers a cache hit without the origin', async () => {
    const file = origin.addFile('cluster-base.safetensors', 2 * 1024 * 1024 + 5);
    const ref = {
      kind: 'checkpoint',
      name: 'cluster-base',
      url: `${origin.url}/files/cluster-base.safetensors`,
      sha256: file.sha256,
    };
    const first = await call(svc.apiUrl, 'POST', '/v1/fetch?wait=30', ref);
    expect(first.status).toBe(200);
    expect(first.body.status).toBe('completed');
    expect(first.body.model).toMatchObject({ sha256: file.sha256, fileSize: file.body.length });
    expect(readFileSync(first.body.model.path).length).toBe(file.body.length);
    jobIds.push(first.body.jobId);

    const hits = origin.hitCount('/files/cluster-base.safetensors');
    const second = await call(svc.apiUrl, 'POST', '/v1/fetch?wait=30', ref);
    expect(second.status).toBe(200);
    expect(second.body).toMatchObject({ status: 'cached', model: { path: first.body.model.path } });
    expect(origin.hitCount('/files/cluster-base.safetensors')).toBe(hits);
  });

  it('runs a batch with wait, one item carrying a URL token (kept under its own key)', async () => {
    origin.addFile('cluster-a.safetensors', 300 * 1024);
    origin.addFile('cluster-b.safetensors', 400 * 1024);
    const created = await call(svc.apiUrl, 'POST', '/v1/batches', {
      items: [
        { kind: 'checkpoint', name: 'cluster-base', url: `${origin.url}/files/cluster-base.safetensors` },
        { kind: 'lora', name: 'cluster-a', url: `${origin.url}/files/cluster-a.safetensors?token=cluster-secret` },
        { kind: 'embedding', name: 'cluster-b', url: `${origin.url}/slow/cluster-b.safetensors?ms=5&chunk=65536` },
      ],
    });
    expect(created.status).toBe(202);
    expect(created.body.jobs[0].status).toBe('cached');
    batchId = created.body.batchId;
    const done = await call(svc.apiUrl, 'GET', `/v1/batches/${created.body.batchId}?wait=60`);
    expect(done.status).toBe(200);
    expect(done.body.done).toBe(true);
    expect(done.body.counts).toMatchObject({ total: 3, cached: 1, completed: 2, failed: 0 });
    for (const job of done.body.jobs) expect(existsSync(job.path)).toBe(true);
  });

  it('makes one origin download for 10 simultaneous requests of one model (BullMQ deduplication on the cluster)', async () => {
    origin.addFile('cluster-popular.safetensors', 1024 * 1024);
    const ref = {
      kind: 'lora',
      name: 'cluster-popular',
      url: `${origin.url}/slow/cluster-popular.safetensors?ms=20&chunk=131072`,
    };
    const answers = await Promise.all(
      Array.from({ length: 10 }, () => call(svc.apiUrl, 'POST', '/v1/fetch?wait=60', ref)),
    );
    for (const a of answers) expect(['completed', 'cached']).toContain(a.body.status);
    expect(new Set(answers.filter((a) => a.body.jobId).map((a) => a.body.jobId)).size).toBe(1);
    expect(origin.hitCount('/slow/cluster-popular.safetensors')).toBe(1);
  });

  it('follows a job with GET /v1/jobs/:id?wait=', async () => {
    origin.addFile('cluster-slow.safetensors', 512 * 1024);
    const queued = await call(svc.apiUrl, 'POST', '/v1/fetch', {
      kind: 'lora',
      name: 'cluster-slow',
      url: `${origin.url}/slow/cluster-slow.safetensors?ms=20&chunk=65536`,
    });
    expect(queued.status).toBe(202);
    const done = await call(svc.apiUrl, 'GET', `/v1/jobs/${queued.body.jobId}?wait=30`);
    expect(done.status).toBe(200);
    expect(done.body).toMatchObject({
      jobId: queued.body.jobId,
      status: 'completed',
      model: { name: 'cluster-slow', fileSize: 512 * 1024 },
    });
  });

  it('leases models with /v1/prepare (one script over the volume lease keys)', async () => {
    const answer = await call(svc.apiUrl, 'POST', '/v1/prepare?wait=30', {
      checkpoint: { name: 'cluster-base', url: `${origin.url}/files/cluster-base.safetensors` },
      loras: [{ name: 'cluster-slow', url: `${origin.url}/slow/cluster-slow.safetensors?ms=20&chunk=65536` }],
      prompt: 'x',
    });
    expect(answer.status).toBe(200);
    expect(answer.body.failed).toEqual([]);
    expect(answer.body.lease?.leaseId ?? answer.body.leaseId).toEqual(expect.any(String));
  });

  it('runs a cleanup dry run, then a real one that keeps the leased models', async () => {
    // Age cleanup compares whole seconds: let the models used just now be a second old.
    await new Promise((r) => setTimeout(r, 1100));
    const dry = await call(svc.apiUrl, 'POST', '/v1/cleanup', { maxAgeDays: 0, keepPopular: 0, dryRun: true });
    expect(dry.status).toBe(200);
    expect(dry.body.dryRun).toBe(true);
    const names = dry.body.removed.map((m: { name: string }) => m.name).sort();
    // The prepared (leased) models are never chosen.
    expect(names).toEqual(['cluster-a', 'cluster-b', 'cluster-popular']);
    for (const m of dry.body.removed) expect(existsSync(m.path)).toBe(true);

    const real = await call(svc.apiUrl, 'POST', '/v1/cleanup', { maxAgeDays: 0, keepPopular: 0 });
    expect(real.status).toBe(200);
    expect(real.body.removed.map((m: { name: string }) => m.name).sort()).toEqual(names);
    for (const m of real.body.removed) expect(existsSync(m.path)).toBe(false);
  });

  it('runs a verify job on the maintenance queue', async () => {
    const queued = await call(svc.apiUrl, 'POST', '/v1/verify', {});
    expect(queued.status).toBe(202);
    const done = await call(svc.apiUrl, 'GET', `/v1/jobs/${queued.body.jobId}?wait=60`);
    expect(done.status).toBe(200);
    expect(done.body.status).toBe('completed');
    expect(done.body.result).toMatchObject({ checked: 2 });
  });

  it('keeps every key in the slot it is meant for: the queue prefix’s or the volume’s', async () => {
    const volume = readFileSync(path.join(svc.modelsDir, '.volume-id'), 'utf8').trim();
    const client = cluster.client();
    const prefixSlot = Number(await client.call('CLUSTER', 'KEYSLOT', prefix));
    const volumeSlot = Number(await client.call('CLUSTER', 'KEYSLOT', `{${volume}}`));
    const keys = await cluster.allKeys();
    const queueKeys = keys.filter((k) => k.key.startsWith(`${prefix}:`));
    const ofVolume = keys.filter((k) => k.key.startsWith(`${volumeKeyBase(volume, true)}:`));
    // Nothing else: no untagged BullMQ keys, no keys of ours outside both groups.
    expect(keys.filter((k) => !queueKeys.includes(k) && !ofVolume.includes(k))).toEqual([]);
    expect(new Set(queueKeys.map((k) => k.slot))).toEqual(new Set([prefixSlot]));
    expect(new Set(ofVolume.map((k) => k.slot))).toEqual(new Set([volumeSlot]));
    expect(new Set(queueKeys.map((k) => k.port)).size).toBe(1);

    const names = queueKeys.map((k) => k.key);
    // Both BullMQ queues, and each kind of key of ours.
    const fetchKeys = bullKeys(prefix, QUEUE_NAME);
    const ours = serviceKeys(prefix);
    const volumeNames = ofVolume.map((k) => k.key);
    expect(names).toContain(fetchKeys.meta);
    expect(names).toContain(bullKeys(prefix, MAINTENANCE_QUEUE).meta);
    expect(names).toContain(ours.stats);
    expect(names).toContain(ours.batch(batchId));
    expect(names).toContain(urlTokenKey(prefix, `${origin.url}/files/cluster-a.safetensors`));
    expect(names).toContain(fetchKeys.job(jobIds[0]!));
    expect(volumeNames).toContain(volumeKeys(volume, true).modelLeaseIndex);
    const leasePrefix = volumeKeys(volume, true).modelLease('');
    expect(volumeNames.some((n) => n.startsWith(leasePrefix))).toBe(true);

    // Best-effort writes (counters, releases) swallow their errors: the logs must not show any
    // the cluster raised either (a key in another slot, a script touching two slots).
    const logs = [...svc.api.logs, ...svc.worker.logs].join('\n');
    expect(logs).not.toMatch(/CROSSSLOT|MOVED|ASK |redis connection error|queue error/);
    // Counters written by the worker's and the API's MULTI blocks, read back through the API.
    const stats = await call(svc.apiUrl, 'GET', '/v1/stats');
    expect(stats.status).toBe(200);
    expect(stats.body.downloads.succeeded).toBe(5);
    const metrics = await fetch(`${svc.apiUrl}/metrics`);
    expect(metrics.status).toBe(200);
    expect(await metrics.text()).toMatch(/model_manager_/);
  });
});

/**
 * The two pieces whose keys span two groups, driven directly on the cluster: the staging lease
 * (a volume key) is fenced by the BullMQ job lock (a queue key, another slot), and model leases
 * run scripts over three volume keys at once.
 */
describe('cross-slot pieces on the cluster', () => {
  const volume = `mmtest-${randomBytes(4).toString('hex')}`;
  const prefix = `{mmtest-cluster-${randomBytes(4).toString('hex')}}`;

  it('fences a staging file with a lease in the volume slot and the job lock in the queue slot', async () => {
    const redis = cluster.client();
    const lease = volumeKeys(volume, true).stagingLease(`${prefix}.1`);
    const jobLock = bullKeys(prefix, QUEUE_NAME).jobLock('1');
    const slots = await Promise.all(
      [lease, jobLock].map(async (k) => Number(await redis.call('CLUSTER', 'KEYSLOT', k))),
    );
    expect(slots[0]).not.toBe(slots[1]);

    await redis.set(jobLock, 'someone-else', 'PX', 10_000);
    await expect(new StagingLease(redis, lease, jobLock, 'stale-token', 400).acquire()).rejects.toMatchObject({
      code: 'LOCK_LOST',
    });

    await redis.set(jobLock, 'token-a', 'PX', 10_000);
    const a = new StagingLease(redis, lease, jobLock, 'token-a', 400);
    await a.acquire();
    expect(() => a.assertValid()).not.toThrow();
    // The job passes to worker B: A's next renewal sees it, stops writing and frees the lease.
    await redis.set(jobLock, 'token-b', 'PX', 10_000);
    const b = new StagingLease(redis, lease, jobLock, 'token-b', 400);
    const bAcquired = b.acquire();
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
    await b.confirm();
    await a.release(); // must not free B's lease
    expect(await redis.exists(lease)).toBe(1);
    await b.release();
    expect(await redis.exists(lease)).toBe(0);
    await redis.del(jobLock);
  });

  it('creates, extends and releases model leases, and lets an eviction mark only unleased models', async () => {
    const redis = cluster.client();
    const { dir, remove } = tempModelsDir();
    try {
      writeFileSync(path.join(dir, '.volume-id'), `${volume}\n`);
      const leases = new ModelLeases(redis, dir, 60);
      const lease = await leases.create([{ kind: 'lora', name: 'kept' }]);
      expect(await leases.leased()).toEqual(new Set(['lora/kept']));
      expect(await leases.extend(lease.leaseId, 120)).toMatchObject({ leaseId: lease.leaseId });
      expect(await leases.markEvicting(['lora/kept', 'lora/other'])).toEqual(['lora/kept']);
      expect(await leases.markEvicting(['lora/other'])).toEqual([]);
      await leases.unmarkEvicting(['lora/other']);
      expect(await leases.release(lease.leaseId)).toBe(true);
      expect(await leases.leased()).toEqual(new Set());
    } finally {
      remove();
      await Promise.all((await cluster.allKeys()).filter((k) => k.key.includes(volume)).map((k) => redis.del(k.key)));
    }
  });
});
