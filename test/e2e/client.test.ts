import { existsSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  ConflictError,
  InvalidRequestError,
  JobFailedError,
  ModelManagerClient,
  NotFoundError,
  UnavailableError,
  type JobProgress,
} from '@model-manager/client';
import { TestOrigin } from '../support/origin.js';
import { startService, type Service } from '../support/service.js';

describe('@model-manager/client against the real API and worker', () => {
  const origin = new TestOrigin();
  let svc: Service;
  let client: ModelManagerClient;

  beforeAll(async () => {
    await origin.start();
    svc = await startService('client', { DOWNLOAD_ATTEMPTS: '1' });
    client = new ModelManagerClient({ baseUrl: svc.apiUrl });
  });
  afterAll(async () => {
    await svc?.stop();
    await origin.close();
  });

  it('fetch() queues, waitFor() follows the job to the verified file, the next fetch() is a cache hit', async () => {
    const file = origin.addFile('client-a.safetensors', 1024 * 1024);
    const ref = {
      kind: 'lora' as const,
      name: 'client-a',
      url: `${origin.url}/slow/client-a.safetensors?ms=30&chunk=131072`,
      sha256: file.sha256,
    };
    const queued = await client.fetch(ref);
    expect(['queued', 'active']).toContain(queued.status);
    if (queued.status !== 'queued' && queued.status !== 'active') throw new Error('expected a job');

    const progress: JobProgress[] = [];
    const job = await client.waitFor(queued.jobId, { onProgress: (p) => progress.push(p), timeoutMs: 60_000 });
    expect(job).toMatchObject({
      jobId: queued.jobId,
      status: 'completed',
      model: { kind: 'lora', name: 'client-a', sha256: file.sha256, fileSize: file.body.length },
    });
    expect(existsSync(job.model!.path)).toBe(true);
    for (const p of progress) expect(p).toMatchObject({ jobId: queued.jobId, kind: 'lora', name: 'client-a' });

    expect(await client.fetch(ref, { waitSeconds: 10 })).toMatchObject({
      status: 'cached',
      model: { path: job.model!.path },
    });
    expect((await client.job(queued.jobId)).status).toBe('completed');
    expect(await client.model('lora', 'client-a')).toMatchObject({ sha256: file.sha256 });
  });

  it('fetch() with waitSeconds throws a JobFailedError carrying the job error code', async () => {
    origin.addFile('client-wrong.safetensors', 64 * 1024);
    const error = await client
      .fetch(
        {
          kind: 'lora',
          name: 'client-wrong',
          url: `${origin.url}/files/client-wrong.safetensors`,
          sha256: 'c'.repeat(64),
        },
        { waitSeconds: 30 },
      )
      .catch((err: unknown) => err);
    expect(error).toBeInstanceOf(JobFailedError);
    expect(error).toMatchObject({ name: 'JobFailedError', code: 'HASH_MISMATCH', status: 502 });
  });

  it('prefetch() queues a batch and waitForBatch() ends with every item settled, a failure listed with its code', async () => {
    const a = origin.addFile('batch-a.safetensors', 200 * 1024);
    origin.addFile('batch-b.safetensors', 300 * 1024);
    const created = await client.prefetch([
      { kind: 'checkpoint', name: 'batch-a', url: `${origin.url}/files/batch-a.safetensors`, sha256: a.sha256 },
      { kind: 'embedding', name: 'batch-b', url: `${origin.url}/files/batch-b.safetensors` },
      { kind: 'lora', name: 'batch-gone', url: `${origin.url}/files/not-there.safetensors` },
      { kind: 'lora', name: 'client-a', url: `${origin.url}/slow/client-a.safetensors?ms=30&chunk=131072` },
    ]);
    expect(created.jobs.map((j) => j.status)).toEqual(['queued', 'queued', 'queued', 'cached']);

    const settled: string[] = [];
    const view = await client.waitForBatch(created.batchId, {
      onJobSettled: (j) => settled.push(`${j.name}:${j.status}`),
      timeoutMs: 60_000,
    });
    expect(view.done).toBe(true);
    expect(view.counts).toMatchObject({ total: 4, cached: 1, completed: 2, failed: 1 });
    expect(view.jobs.find((j) => j.name === 'batch-gone')).toMatchObject({
      status: 'failed',
      error: { code: 'HTTP_ERROR', status: 404 },
    });
    expect(settled.sort()).toEqual(['batch-a:completed', 'batch-b:completed', 'batch-gone:failed']);
    expect((await client.batch(created.batchId)).done).toBe(true);

    const models = await client.models();
    expect(models.map((m) => m.name).sort()).toEqual(['batch-a', 'batch-b', 'client-a']);
    expect((await client.models({ kind: 'checkpoint' })).map((m) => m.name)).toEqual(['batch-a']);
    const stats = await client.stats();
    expect(stats.checkpoints.count).toBe(1);
    expect(stats.downloads.failed).toBeGreaterThanOrEqual(2);
  });

  it('prepare() returns the paths and the prompt for one generation, a missing LoRA listed in failed', async () => {
    origin.addFile('prep-base.safetensors', 400 * 1024);
    origin.addFile('prep-style.safetensors', 100 * 1024);
    const prepared = await client.prepare(
      {
        checkpoint: { name: 'prep-base', url: `${origin.url}/files/prep-base.safetensors` },
        loras: [
          { name: 'prep-style', url: `${origin.url}/files/prep-style.safetensors`, scale: 0.7 },
          { name: 'prep-gone', url: `${origin.url}/files/prep-gone.safetensors` },
        ],
        prompt: 'a lighthouse',
      },
      { waitSeconds: 60 },
    );
    expect(prepared.checkpointPath).toMatch(/checkpoints\/prep-base\.safetensors$/);
    expect(prepared.loras).toEqual([
      { name: 'prep-style', path: expect.stringMatching(/loras\/prep-style\.safetensors$/), scale: 0.7 },
    ]);
    expect(prepared.prompt).toBe('<lora:prep-style:0.7> a lighthouse');
    expect(prepared.failed).toEqual([
      { kind: 'lora', name: 'prep-gone', error: expect.objectContaining({ code: 'HTTP_ERROR', status: 404 }) },
    ]);
  });

  it('fetch() of bytes already on the volume under another name is linked at once; verified says whether a SHA-256 was known', async () => {
    const file = origin.addFile('client-same.safetensors', 64 * 1024);
    const url = `${origin.url}/files/client-same.safetensors`;
    const first = await client.fetch(
      { kind: 'lora', name: 'client-same', url, sha256: file.sha256 },
      { waitSeconds: 30 },
    );
    expect(first).toMatchObject({ status: 'completed', verified: true });
    expect(first).not.toHaveProperty('unverifiedReason');

    const linked = await client.fetch({ kind: 'lora', name: 'client-same copy', url, sha256: file.sha256 });
    expect(linked).toMatchObject({
      status: 'linked',
      verified: true,
      model: { kind: 'lora', name: 'client-same copy', sha256: file.sha256 },
    });
    if (linked.status !== 'linked') throw new Error('expected linked');
    expect(existsSync(linked.model.path)).toBe(true);

    expect(await client.fetch({ kind: 'lora', name: 'client-same', url }, { waitSeconds: 600 })).toMatchObject({
      status: 'cached',
      verified: false,
      unverifiedReason: expect.any(String),
    });
  });

  it('answers errors as typed classes with the API code, status and details', async () => {
    const invalid = await client
      .fetch({ kind: 'vae' as 'lora', name: '../x', url: 'ftp://a/b' })
      .catch((err: unknown) => err);
    expect(invalid).toBeInstanceOf(InvalidRequestError);
    expect(invalid).toMatchObject({ name: 'InvalidRequestError', code: 'INVALID_REQUEST', status: 400 });
    expect((invalid as InvalidRequestError).details).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ field: 'kind' }),
        expect.objectContaining({ field: 'name' }),
        expect.objectContaining({ field: 'url' }),
      ]),
    );

    const missingJob = await client.job('999999').catch((err: unknown) => err);
    expect(missingJob).toBeInstanceOf(NotFoundError);
    expect(missingJob).toMatchObject({ name: 'NotFoundError', code: 'NOT_FOUND', status: 404, unknownRoute: false });
    await expect(client.model('checkpoint', 'nothing-here')).rejects.toBeInstanceOf(NotFoundError);
    await expect(client.batch('no-such-batch')).rejects.toMatchObject({ name: 'NotFoundError', status: 404 });

    // A model being fetched cannot be deleted.
    origin.addFile('client-busy.safetensors', 512 * 1024);
    const busy = await client.fetch({
      kind: 'lora',
      name: 'client-busy',
      url: `${origin.url}/slow/client-busy.safetensors?ms=100&chunk=32768`,
    });
    if (busy.status === 'queued' || busy.status === 'active') {
      const conflict = await client.deleteModel('lora', 'client-busy').catch((err: unknown) => err);
      expect(conflict).toBeInstanceOf(ConflictError);
      expect(conflict).toMatchObject({ code: 'FETCH_IN_PROGRESS', status: 409 });
      await client.waitFor(busy.jobId);
    }

    const nobody = new ModelManagerClient({ baseUrl: 'http://127.0.0.1:1' });
    await expect(nobody.stats()).rejects.toMatchObject({ name: 'UnavailableError', code: 'UNREACHABLE', status: 0 });
    await expect(nobody.stats()).rejects.toBeInstanceOf(UnavailableError);
  });

  it('cleanup() with dryRun lists and removes nothing', async () => {
    const result = await client.cleanup({ maxAgeDays: 0, keepPopular: 0, dryRun: true });
    expect(result.dryRun).toBe(true);
    expect(result.removed.length).toBeGreaterThan(0);
    expect((await client.models()).length).toBeGreaterThanOrEqual(result.removed.length);
  });
});
