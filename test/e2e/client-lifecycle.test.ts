import { existsSync } from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  ModelManagerClient,
  NotFoundError,
  type BatchView,
  type JobProgress,
  type JobView,
} from '@model-manager/client';
import type { Service } from '../support/service.js';
import { servicePerSuite } from '../support/service-per-suite.js';

const KiB = 1024;

/**
 * The client over the real event streams, pins and leases, against the real API and
 * worker. Requests go through Node's own fetch; the client is only handed a wrapper that records
 * which routes it asked for, so a test can tell the events stream from the polling fallback.
 */
describe('@model-manager/client: event streams, pins and leases against the real API and worker', () => {
  const suite = servicePerSuite('client-life');
  const { origin } = suite;
  let svc: Service;
  let client: ModelManagerClient;
  const requested: string[] = [];
  /** The first test's finished job, waited for again by the second. */
  let finished: JobView | undefined;
  const recordingFetch: typeof globalThis.fetch = (input, init) => {
    const url = new URL(input instanceof Request ? input.url : String(input));
    requested.push(`${init?.method ?? 'GET'} ${url.pathname}${url.search}`);
    return globalThis.fetch(input, init);
  };
  const slowUrl = (name: string, ms: number, chunk: number) =>
    `${origin.url}/slow/${name}.safetensors?ms=${ms}&chunk=${chunk}`;
  const fileUrl = (name: string) => `${origin.url}/files/${name}.safetensors`;
  /** Everything but pins and leases may go: the rules under test are the only reason a model stays. */
  const cleanEverything = () => client.cleanup({ maxAgeDays: 0, keepPopular: 0 });

  beforeAll(() => {
    svc = suite.svc;
    client = new ModelManagerClient({ baseUrl: svc.apiUrl, fetch: recordingFetch });
  });

  it('waitFor() follows GET /v1/jobs/:id/events: progress with a speed for a slow download, and no polling', async () => {
    const file = origin.addFile('sse-slow.safetensors', 1024 * KiB);
    // 32 pieces 60 ms apart: about 2 s, several of the worker's progress reports.
    const queued = await client.fetch({
      kind: 'lora',
      name: 'sse-slow',
      url: slowUrl('sse-slow', 60, 32 * KiB),
      sha256: file.sha256,
    });
    if (queued.status !== 'queued' && queued.status !== 'active')
      throw new Error(`expected a job, got ${queued.status}`);
    requested.length = 0;

    const progress: JobProgress[] = [];
    const settled: JobView[] = [];
    const job = await client.waitFor(queued.jobId, {
      onProgress: (p) => progress.push(p),
      onJobSettled: (j) => settled.push(j),
    });
    expect(job).toMatchObject({
      jobId: queued.jobId,
      status: 'completed',
      model: { kind: 'lora', name: 'sse-slow', sha256: file.sha256 },
    });
    expect(settled.map((j) => j.jobId)).toEqual([queued.jobId]);
    finished = job;

    expect(progress.length).toBeGreaterThan(0);
    for (const p of progress)
      expect(p).toMatchObject({ jobId: queued.jobId, kind: 'lora', name: 'sse-slow', totalBytes: file.body.length });
    expect(progress.some((p) => typeof p.bytesPerSec === 'number' && p.bytesPerSec > 0)).toBe(true);
    const bytes = progress.map((p) => p.bytes);
    expect(bytes).toEqual([...bytes].sort((a, b) => a - b));

    expect(requested).toContain(`GET /v1/jobs/${queued.jobId}/events`);
    // The polling fallback asks GET /v1/jobs/:id?wait=; with the events route it is never used.
    expect(requested.filter((r) => r.startsWith(`GET /v1/jobs/${queued.jobId}?`))).toEqual([]);
  });

  it('waitFor() on a job that already finished answers from the stream at once', async () => {
    if (!finished) throw new Error('the previous test did not finish its job');
    requested.length = 0;
    const job = await client.waitFor(finished.jobId);
    expect(job).toMatchObject({ jobId: finished.jobId, status: 'completed', model: { path: finished.model!.path } });
    expect(requested).toEqual([`GET /v1/jobs/${finished.jobId}/events`]);
  });

  it('waitForBatch() follows GET /v1/batches/:id/events: each job settled once, progress named, the final view', async () => {
    const a = origin.addFile('sse-batch-a.safetensors', 512 * KiB);
    origin.addFile('sse-batch-b.safetensors', 256 * KiB);
    const created = await client.prefetch([
      { kind: 'checkpoint', name: 'sse-batch-a', url: slowUrl('sse-batch-a', 60, 32 * KiB), sha256: a.sha256 },
      { kind: 'embedding', name: 'sse-batch-b', url: fileUrl('sse-batch-b') },
      { kind: 'lora', name: 'sse-batch-gone', url: fileUrl('sse-batch-gone') },
    ]);
    requested.length = 0;

    const progress: JobProgress[] = [];
    const settled: string[] = [];
    const view: BatchView = await client.waitForBatch(created.batchId, {
      onProgress: (p) => progress.push(p),
      onJobSettled: (j) => settled.push(`${j.kind}/${j.name}:${j.status}`),
    });
    expect(view).toMatchObject({ batchId: created.batchId, done: true, counts: { total: 3, completed: 2, failed: 1 } });
    expect(view.jobs.find((j) => j.name === 'sse-batch-gone')).toMatchObject({
      status: 'failed',
      error: { code: 'HTTP_ERROR', status: 404 },
    });
    expect(settled.sort()).toEqual([
      'checkpoint/sse-batch-a:completed',
      'embedding/sse-batch-b:completed',
      'lora/sse-batch-gone:failed',
    ]);
    for (const p of progress) expect(['sse-batch-a', 'sse-batch-b']).toContain(p.name);
    expect(progress.some((p) => p.name === 'sse-batch-a' && (p.bytesPerSec ?? 0) > 0)).toBe(true);

    expect(requested).toContain(`GET /v1/batches/${created.batchId}/events`);
    expect(requested.filter((r) => r.startsWith('GET /v1/jobs/'))).toEqual([]);
  });

  it('pin() keeps a model through a cleanup that removes everything else; unpin() lets the next one take it', async () => {
    origin.addFile('pin-keep.safetensors', 64 * KiB);
    origin.addFile('pin-other.safetensors', 64 * KiB);
    const kept = await client.fetch({ kind: 'lora', name: 'pin-keep', url: fileUrl('pin-keep') }, { waitSeconds: 30 });
    await client.fetch({ kind: 'lora', name: 'pin-other', url: fileUrl('pin-other') }, { waitSeconds: 30 });
    if (kept.status !== 'completed' && kept.status !== 'cached')
      throw new Error(`expected the model, got ${kept.status}`);

    expect(await client.pin('lora', 'pin-keep')).toMatchObject({ kind: 'lora', name: 'pin-keep', pinned: true });
    expect(await client.model('lora', 'pin-keep')).toMatchObject({ pinned: true });
    expect((await client.models()).find((m) => m.name === 'pin-other')).toMatchObject({ pinned: false });
    await expect(client.pin('lora', 'pin-nosuch')).rejects.toBeInstanceOf(NotFoundError);

    const dry = await client.cleanup({ maxAgeDays: 0, keepPopular: 0, dryRun: true });
    expect(dry.removed.map((m) => m.name)).not.toContain('pin-keep');
    const removed = await cleanEverything();
    expect(removed.removed.map((m) => m.name)).toContain('pin-other');
    expect(removed.removed.map((m) => m.name)).not.toContain('pin-keep');
    expect(removed.removed.every((m) => m.reason === 'age')).toBe(true);
    expect((await client.models()).map((m) => m.name)).toEqual(['pin-keep']);
    expect(existsSync(kept.model.path)).toBe(true);

    expect(await client.unpin('lora', 'pin-keep')).toMatchObject({ name: 'pin-keep', pinned: false });
    expect((await cleanEverything()).removed.map((m) => m.name)).toEqual(['pin-keep']);
    expect(existsSync(kept.model.path)).toBe(false);
    await expect(client.unpin('lora', 'pin-keep')).rejects.toMatchObject({ name: 'NotFoundError', status: 404 });
  });

  it('fetch({ lease: true }) carries a lease; lease(answer).renew() extends it, release() lets the model go', async () => {
    const file = origin.addFile('lease-fetch.safetensors', 128 * KiB);
    const answer = await client.fetch(
      { kind: 'lora', name: 'lease-fetch', url: fileUrl('lease-fetch'), sha256: file.sha256 },
      { lease: true, waitSeconds: 30 },
    );
    expect(answer).toMatchObject({
      status: 'completed',
      leaseId: expect.any(String),
      leaseExpiresAt: expect.any(String),
    });
    if (answer.status !== 'completed') throw new Error('expected the model');

    const lease = client.lease(answer);
    expect(lease.leaseId).toBe(answer.leaseId);
    expect(lease.expiresAt).toBe(answer.leaseExpiresAt);
    const renewed = await lease.renew(3600);
    expect(renewed).toEqual({
      leaseId: answer.leaseId,
      expiresAt: expect.any(String),
      models: [{ kind: 'lora', name: 'lease-fetch' }],
    });
    expect(Date.parse(renewed.expiresAt)).toBeGreaterThan(Date.parse(answer.leaseExpiresAt!));
    expect(lease.expiresAt).toBe(renewed.expiresAt);
    expect(lease.models).toEqual([{ kind: 'lora', name: 'lease-fetch' }]);

    const held = await cleanEverything();
    expect(held.removed.map((m) => m.name)).not.toContain('lease-fetch');
    expect(existsSync(answer.model.path)).toBe(true);

    await lease.release();
    // Releasing again (or after expiry) is not an error; renewing a released lease is.
    await lease.release();
    await expect(lease.renew()).rejects.toMatchObject({ name: 'NotFoundError', code: 'LEASE_NOT_FOUND', status: 404 });
    expect((await cleanEverything()).removed.map((m) => m.name)).toContain('lease-fetch');
    expect(existsSync(answer.model.path)).toBe(false);
    expect(() => client.lease({})).toThrow(TypeError);
  });

  it('prepare() leases what it returns: a cleanup keeps those models until the lease is released', async () => {
    origin.addFile('lease-base.safetensors', 256 * KiB);
    origin.addFile('lease-style.safetensors', 64 * KiB);
    const prepared = await client.prepare(
      {
        checkpoint: { name: 'lease-base', url: fileUrl('lease-base') },
        loras: [{ name: 'lease-style', url: fileUrl('lease-style'), scale: 0.5 }],
        prompt: 'a harbour',
      },
      { waitSeconds: 60 },
    );
    expect(prepared).toMatchObject({
      failed: [],
      prompt: '<lora:lease-style:0.5> a harbour',
      leaseId: expect.any(String),
    });
    const paths = [prepared.checkpointPath!, prepared.loras[0]!.path];
    expect(paths.map((p) => path.basename(p))).toEqual(['lease-base.safetensors', 'lease-style.safetensors']);

    const lease = client.lease(prepared);
    const kept = await cleanEverything();
    expect(kept.removed.map((m) => m.name)).not.toContain('lease-base');
    expect(kept.removed.map((m) => m.name)).not.toContain('lease-style');
    for (const p of paths) expect(existsSync(p)).toBe(true);
    expect((await lease.renew()).models).toEqual(
      expect.arrayContaining([
        { kind: 'checkpoint', name: 'lease-base' },
        { kind: 'lora', name: 'lease-style' },
      ]),
    );

    await lease.release();
    const removed = await cleanEverything();
    expect(removed.removed.map((m) => `${m.kind}/${m.name}`).sort()).toEqual([
      'checkpoint/lease-base',
      'lora/lease-style',
    ]);
    for (const p of paths) expect(existsSync(p)).toBe(false);
  });

  it('waitFor() follows a verify or scan job over its events stream to its result', async () => {
    requested.length = 0;
    const verify = await client.verify({ kind: 'lora' });
    const verified = await client.waitFor(verify.jobId);
    expect(verified).toMatchObject({
      jobId: verify.jobId,
      job: 'verify',
      kind: 'lora',
      status: 'completed',
      result: { mismatched: [], missing: [] },
    });
    const scan = await client.scan();
    const [scanned] = await client.waitFor([scan.jobId]);
    expect(scanned).toMatchObject({
      jobId: scan.jobId,
      job: 'scan',
      status: 'completed',
      result: { adopted: [], dropped: [], sizeDrift: [] },
    });
    expect(requested).toEqual([
      'POST /v1/verify',
      `GET /v1/jobs/${verify.jobId}/events`,
      'POST /v1/scan',
      `GET /v1/jobs/${scan.jobId}/events`,
    ]);
  });
});
