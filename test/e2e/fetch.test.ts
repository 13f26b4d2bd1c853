import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TestOrigin } from '../support/origin.js';
import { call, startService, type Service } from '../support/service.js';
import { MODEL_FOLDERS, registryOf } from '../support/volume.js';

const sha256File = (file: string) => createHash('sha256').update(readFileSync(file)).digest('hex');
const filesIn = (dir: string) => (existsSync(dir) ? readdirSync(dir) : []);

describe('model fetch, end to end through the real API and worker processes', () => {
  const origin = new TestOrigin();
  let svc: Service;

  beforeAll(async () => {
    await origin.start();
    svc = await startService('e2e', { WORKER_CONCURRENCY: '2', DOWNLOAD_ATTEMPTS: '2' });
  });
  afterAll(async () => {
    await svc?.stop();
    await origin.close();
  });

  it('fetches with wait, puts the verified file where the registry says, then serves a cache hit without the origin', async () => {
    const file = origin.addFile('base.bin', 3 * 1024 * 1024 + 17);
    const ref = {
      kind: 'checkpoint',
      name: 'base model',
      url: `${origin.url}/files/base.bin`,
      sha256: file.sha256.toUpperCase(),
    };

    const first = await call(svc.apiUrl, 'POST', '/v1/fetch?wait=30', ref);
    expect(first.status).toBe(200);
    expect(first.body.status).toBe('completed');
    const model = first.body.model;
    // .bin is a model extension, so the URL's extension is kept.
    expect(model.path).toBe(path.join(svc.modelsDir, 'checkpoints', 'base model.bin'));
    expect(model.sha256).toBe(file.sha256);
    expect(model.fileSize).toBe(file.body.length);
    expect(sha256File(model.path)).toBe(file.sha256);

    const entry = registryOf(svc.modelsDir).checkpoints['base model'];
    expect(entry).toMatchObject({ path: model.path, hash: file.sha256, file_size: file.body.length, url: ref.url });
    expect(typeof entry.downloaded_at).toBe('number');
    // The download is the first use, as the Python module counts it.
    expect(entry).toMatchObject({ usage_count: 1, last_used: entry.downloaded_at });
    expect(filesIn(path.join(svc.modelsDir, '.incoming'))).toEqual([]);

    const hitsBefore = origin.hitCount('/files/base.bin');
    const second = await call(svc.apiUrl, 'POST', '/v1/fetch?wait=30', ref);
    expect(second.status).toBe(200);
    expect(second.body).toMatchObject({ status: 'cached', model: { path: model.path, sha256: file.sha256 } });
    expect(origin.hitCount('/files/base.bin')).toBe(hitsBefore);

    // The hit reaches the registry file within a few seconds (batched).
    await expect
      .poll(() => registryOf(svc.modelsDir).checkpoints['base model'].usage_count, { timeout: 10_000 })
      .toBe(2);
  });

  it('makes one origin download for 20 simultaneous requests of one model', async () => {
    origin.addFile('popular.safetensors', 2 * 1024 * 1024);
    const ref = { kind: 'lora', name: 'popular', url: `${origin.url}/slow/popular.safetensors?ms=20&chunk=262144` };
    const answers = await Promise.all(
      Array.from({ length: 20 }, () => call(svc.apiUrl, 'POST', '/v1/fetch?wait=60', ref)),
    );
    for (const a of answers) {
      expect(a.status).toBe(200);
      expect(['completed', 'cached']).toContain(a.body.status);
    }
    // One download and one file for all. (A request that arrives as the job completes may get a
    // job of its own, which finds the model already there and downloads nothing.)
    expect(new Set(answers.map((a) => a.body.model.path)).size).toBe(1);
    expect(origin.hitCount('/slow/popular.safetensors')).toBe(1);
  });

  it('never lets a request with another sha256 join a running job, even in the same millisecond', async () => {
    const file = origin.addFile('contested.safetensors', 512 * 1024);
    const url = `${origin.url}/slow/contested.safetensors?ms=20&chunk=65536`;
    const wrong = 'b'.repeat(64);
    const answers = await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        call(svc.apiUrl, 'POST', '/v1/fetch?wait=60', {
          kind: 'lora',
          name: 'contested',
          url,
          sha256: i % 2 ? wrong : file.sha256,
        }),
      ),
    );
    for (const a of answers) {
      if (a.status === 409) expect(a.body.error.code).toBe('CONFLICT');
      else if (a.body.model) expect(a.body.model.sha256).toBe(file.sha256);
      else expect(a.body).toMatchObject({ status: 'failed', error: { code: 'HASH_MISMATCH' } });
    }
    // A request without a sha256 joins the running job for the same URL instead of a 409.
    const file2 = origin.addFile('joinable.safetensors', 512 * 1024);
    const slowUrl = `${origin.url}/slow/joinable.safetensors?ms=20&chunk=65536`;
    const withHash = await call(svc.apiUrl, 'POST', '/v1/fetch', {
      kind: 'lora',
      name: 'joinable',
      url: slowUrl,
      sha256: file2.sha256,
    });
    const withoutHash = await call(svc.apiUrl, 'POST', '/v1/fetch?wait=60', {
      kind: 'lora',
      name: 'joinable',
      url: slowUrl,
    });
    expect(withoutHash.body).toMatchObject({
      status: 'completed',
      jobId: withHash.body.jobId,
      model: { sha256: file2.sha256 },
    });
  });

  it('refuses a file whose hash differs: HASH_MISMATCH, nothing at the final path, no entry', async () => {
    origin.addFile('tampered.safetensors', 100_000);
    const res = await call(svc.apiUrl, 'POST', '/v1/fetch?wait=30', {
      kind: 'lora',
      name: 'tampered',
      url: `${origin.url}/files/tampered.safetensors`,
      sha256: 'a'.repeat(64),
    });
    expect(res.status).toBe(502);
    expect(res.body).toMatchObject({ status: 'failed', error: { code: 'HASH_MISMATCH' } });
    expect(existsSync(path.join(svc.modelsDir, 'loras', 'tampered.safetensors'))).toBe(false);
    expect(registryOf(svc.modelsDir).loras.tampered).toBeUndefined();
    expect(filesIn(path.join(svc.modelsDir, '.incoming'))).toEqual([]);
    // A hash mismatch on a complete download is not retried.
    expect(origin.hitCount('/files/tampered.safetensors')).toBe(1);
  });

  it('fails fast on a 404 and retries a 500', async () => {
    const missing = await call(svc.apiUrl, 'POST', '/v1/fetch?wait=30', {
      kind: 'lora',
      name: 'missing',
      url: `${origin.url}/files/nope.safetensors`,
    });
    expect(missing.status).toBe(502);
    expect(missing.body.error).toMatchObject({ code: 'HTTP_ERROR', status: 404 });
    const job = await call(svc.apiUrl, 'GET', `/v1/jobs/${missing.body.jobId}`);
    expect(job.body).toMatchObject({ status: 'failed', attempts: 1, error: { code: 'HTTP_ERROR' } });

    const flaky = await call(svc.apiUrl, 'POST', '/v1/fetch?wait=30', {
      kind: 'lora',
      name: 'flaky',
      url: `${origin.url}/status/500`,
    });
    expect(flaky.status).toBe(502);
    expect(flaky.body.error).toMatchObject({ code: 'HTTP_ERROR', status: 500 });
    expect(origin.hitCount('/status/500')).toBe(2); // DOWNLOAD_ATTEMPTS=2
    expect(registryOf(svc.modelsDir).loras.missing).toBeUndefined();
  });

  it('follows redirects and takes the extension from Content-Disposition or the URL', async () => {
    const file = origin.addFile('12345', 50_000);
    const viaRedirect = await call(svc.apiUrl, 'POST', '/v1/fetch?wait=30', {
      kind: 'embedding',
      name: 'redirected',
      url: `${origin.url}/redirect/12345?to=${encodeURIComponent('/files/12345?cd=real-name.pt')}`,
    });
    expect(viaRedirect.status).toBe(200);
    expect(viaRedirect.body.model.path).toBe(path.join(svc.modelsDir, 'embeddings', 'redirected.pt'));
    expect(sha256File(viaRedirect.body.model.path)).toBe(file.sha256);

    const plain = await call(svc.apiUrl, 'POST', '/v1/fetch?wait=30', {
      kind: 'embedding',
      name: 'no-ext',
      url: `${origin.url}/files/12345`,
    });
    expect(plain.body.model.path).toBe(path.join(svc.modelsDir, 'embeddings', 'no-ext.safetensors'));
  });

  it('answers 202 without wait, reports progress, and refuses another URL for the same name while it runs', async () => {
    origin.addFile('big.safetensors', 1024 * 1024);
    const ref = { kind: 'checkpoint', name: 'slowpoke', url: `${origin.url}/slow/big.safetensors?ms=50&chunk=65536` };
    const queued = await call(svc.apiUrl, 'POST', '/v1/fetch', ref);
    expect(queued.status).toBe(202);
    expect(['queued', 'active']).toContain(queued.body.status);
    const jobId = queued.body.jobId;

    const conflict = await call(svc.apiUrl, 'POST', '/v1/fetch', {
      ...ref,
      url: `${origin.url}/files/other.safetensors`,
    });
    expect(conflict.status).toBe(409);
    expect(conflict.body.error.code).toBe('CONFLICT');

    const del = await call(svc.apiUrl, 'DELETE', '/v1/models/checkpoint/slowpoke');
    expect(del.status).toBe(409);

    await expect
      .poll(async () => (await call(svc.apiUrl, 'GET', `/v1/jobs/${jobId}`)).body.progress.bytes, { timeout: 10_000 })
      .toBeGreaterThan(0);
    const done = await call(svc.apiUrl, 'GET', `/v1/jobs/${jobId}?wait=30`);
    expect(done.body).toMatchObject({
      jobId,
      kind: 'checkpoint',
      name: 'slowpoke',
      status: 'completed',
      progress: { bytes: 1024 * 1024, totalBytes: 1024 * 1024 },
    });
    expect(done.body.model.path).toBe(path.join(svc.modelsDir, 'checkpoints', 'slowpoke.safetensors'));
    expect((await call(svc.apiUrl, 'GET', '/v1/jobs/999999')).status).toBe(404);
  });

  it('runs a batch: cached items have no job, the rest complete, counts add up', async () => {
    const a = origin.addFile('batch-a.safetensors', 10_000);
    origin.addFile('batch-b.safetensors', 20_000);
    const items = [
      { kind: 'lora', name: 'batch-a', url: `${origin.url}/files/batch-a.safetensors`, sha256: a.sha256 },
      { kind: 'lora', name: 'batch-b', url: `${origin.url}/files/batch-b.safetensors` },
      { kind: 'lora', name: 'batch-broken', url: `${origin.url}/files/absent.safetensors` },
      { kind: 'checkpoint', name: 'base model', url: `${origin.url}/files/base.bin` },
    ];
    const created = await call(svc.apiUrl, 'POST', '/v1/batches', { items });
    expect(created.status).toBe(202);
    expect(created.body.jobs).toHaveLength(4);
    expect(created.body.jobs[3]).toEqual({
      kind: 'checkpoint',
      name: 'base model',
      status: 'cached',
      verified: false,
      unverifiedReason: expect.any(String),
    });
    expect(created.body.jobs[0]).toMatchObject({ verified: true });
    expect(created.body.jobs[0].jobId).toBeTruthy();

    const done = await call(svc.apiUrl, 'GET', `/v1/batches/${created.body.batchId}?wait=30`);
    expect(done.status).toBe(200);
    expect(done.body.done).toBe(true);
    expect(done.body.counts).toEqual({ total: 4, cached: 1, linked: 0, queued: 0, active: 0, completed: 2, failed: 1 });
    expect(done.body.jobs[2]).toMatchObject({ name: 'batch-broken', status: 'failed', error: { code: 'HTTP_ERROR' } });
    expect((await call(svc.apiUrl, 'GET', '/v1/batches/00000000-0000-0000-0000-000000000000')).status).toBe(404);
  });

  it('prepares a generation: partial success when one LoRA fails, prompt with the LoRA tags', async () => {
    origin.addFile('alpha.safetensors', 5_000);
    origin.addFile('iota.safetensors', 6_000);
    const res = await call(svc.apiUrl, 'POST', '/v1/prepare?wait=30', {
      checkpoint: { name: 'base model', url: `${origin.url}/files/base.bin` },
      loras: [
        { name: 'alpha', url: `${origin.url}/files/alpha.safetensors`, scale: 0.8 },
        { name: 'broken', url: `${origin.url}/status/404`, scale: 1 },
        { name: 'iota', url: `${origin.url}/files/iota.safetensors`, scale: 0.5 },
      ],
      prompt: 'beautiful landscape',
    });
    expect(res.status).toBe(200);
    expect(res.body.checkpointPath).toBe(path.join(svc.modelsDir, 'checkpoints', 'base model.bin'));
    expect(res.body.loras).toEqual([
      { name: 'alpha', path: path.join(svc.modelsDir, 'loras', 'alpha.safetensors'), scale: 0.8 },
      { name: 'iota', path: path.join(svc.modelsDir, 'loras', 'iota.safetensors'), scale: 0.5 },
    ]);
    expect(res.body.prompt).toBe('<lora:alpha:0.8> <lora:iota:0.5> beautiful landscape');
    expect(res.body.failed).toEqual([
      { kind: 'lora', name: 'broken', error: expect.objectContaining({ code: 'HTTP_ERROR', status: 404 }) },
    ]);
    // Done generating: the lease over these models is released, so cleanup may remove them again.
    expect((await call(svc.apiUrl, 'DELETE', `/v1/leases/${res.body.leaseId}`)).status).toBe(204);
  });

  it('lists and shows models, deletes one (file and entry), and fetches it again after', async () => {
    const list = await call(svc.apiUrl, 'GET', '/v1/models?kind=lora');
    expect(list.body.models.map((m: { name: string }) => m.name)).toEqual(
      expect.arrayContaining(['alpha', 'iota', 'popular']),
    );
    expect(list.body.models.every((m: { kind: string }) => m.kind === 'lora')).toBe(true);

    const shown = await call(svc.apiUrl, 'GET', '/v1/models/lora/alpha');
    expect(shown.body).toMatchObject({
      kind: 'lora',
      name: 'alpha',
      usageCount: 1,
      path: path.join(svc.modelsDir, 'loras', 'alpha.safetensors'),
    });

    const del = await call(svc.apiUrl, 'DELETE', '/v1/models/lora/alpha');
    expect(del.status).toBe(204);
    expect(existsSync(shown.body.path)).toBe(false);
    expect(registryOf(svc.modelsDir).loras.alpha).toBeUndefined();
    expect((await call(svc.apiUrl, 'GET', '/v1/models/lora/alpha')).status).toBe(404);
    expect((await call(svc.apiUrl, 'DELETE', '/v1/models/lora/alpha')).status).toBe(404);

    const hits = origin.hitCount('/files/alpha.safetensors');
    const again = await call(svc.apiUrl, 'POST', '/v1/fetch?wait=30', {
      kind: 'lora',
      name: 'alpha',
      url: `${origin.url}/files/alpha.safetensors`,
    });
    expect(again.body.status).toBe('completed');
    expect(origin.hitCount('/files/alpha.safetensors')).toBe(hits + 1);
  });

  it('reports stats for what is cached, the disk, the hit rate and downloads', async () => {
    const stats = await call(svc.apiUrl, 'GET', '/v1/stats');
    expect(stats.status).toBe(200);
    const reg = registryOf(svc.modelsDir);
    expect(stats.body.checkpoints.count).toBe(Object.keys(reg.checkpoints).length);
    expect(stats.body.loras.totalSize).toBe(Object.values(reg.loras).reduce((n: number, e: any) => n + e.file_size, 0));
    expect(stats.body.diskUsage.total).toBeGreaterThan(stats.body.diskUsage.free);
    expect(stats.body.cache.hits).toBeGreaterThan(0);
    expect(stats.body.cache.hitRate).toBeGreaterThan(0);
    expect(stats.body.downloads.succeeded).toBeGreaterThanOrEqual(8);
    expect(stats.body.downloads.failed).toBeGreaterThanOrEqual(4);
  });

  it('cleans up by the old rule: dry run lists, real run deletes all but the most popular', async () => {
    // Make one model clearly the most used.
    for (let i = 0; i < 3; i++)
      await call(svc.apiUrl, 'POST', '/v1/fetch', {
        kind: 'lora',
        name: 'iota',
        url: `${origin.url}/files/iota.safetensors`,
      });
    await expect.poll(() => registryOf(svc.modelsDir).loras.iota.usage_count, { timeout: 10_000 }).toBe(4);

    const before = registryOf(svc.modelsDir);
    const total = MODEL_FOLDERS.reduce((n, s) => n + Object.keys(before[s]).length, 0);
    const dry = await call(svc.apiUrl, 'POST', '/v1/cleanup', { maxAgeDays: 0, keepPopular: 2, dryRun: true });
    expect(dry.status).toBe(200);
    expect(dry.body.removed).toHaveLength(total - 2);
    expect(dry.body.removed.map((m: { name: string }) => m.name)).not.toContain('iota');
    expect(dry.body.freedBytes).toBe(
      dry.body.removed.reduce((n: number, m: { fileSize: number }) => n + m.fileSize, 0),
    );
    expect(registryOf(svc.modelsDir)).toEqual(before);

    const real = await call(svc.apiUrl, 'POST', '/v1/cleanup', { maxAgeDays: 0, keepPopular: 2 });
    expect(real.body.removed).toEqual(dry.body.removed);
    const after = registryOf(svc.modelsDir);
    expect(after.loras.iota).toBeDefined();
    for (const m of real.body.removed) {
      const section = `${m.kind === 'lora' ? 'loras' : `${m.kind}s`}`;
      expect(after[section][m.name]).toBeUndefined();
      expect(existsSync(before[section][m.name].path)).toBe(false);
    }
    expect((await call(svc.apiUrl, 'POST', '/v1/cleanup', { maxAgeDays: 'soon' })).status).toBe(400);
  });

  it('serves Bull Board with the model-fetch queue, and health checks', async () => {
    const page = await fetch(`${svc.apiUrl}/admin/queues`);
    expect(page.status).toBe(200);
    expect(await page.text()).toContain('<html');
    const queues = await call(svc.apiUrl, 'GET', '/admin/queues/api/queues');
    expect(queues.status).toBe(200);
    expect(JSON.stringify(queues.body)).toContain('model-fetch');
    expect((await call(svc.apiUrl, 'GET', '/healthz')).status).toBe(200);
    expect((await call(svc.apiUrl, 'GET', '/readyz')).body).toEqual({ status: 'ready' });
  });

  it('never logs a query-string token in clear', async () => {
    origin.addFile('secret.safetensors', 1000);
    await call(svc.apiUrl, 'POST', '/v1/fetch?wait=30', {
      kind: 'lora',
      name: 'secret',
      url: `${origin.url}/files/secret.safetensors?token=hunter2secret`,
    });
    await call(svc.apiUrl, 'POST', '/v1/fetch?wait=30', {
      kind: 'lora',
      name: 'secret-missing',
      url: `${origin.url}/files/none?token=hunter2secret`,
    });
    const logs = [...svc.api.logs, ...svc.worker.logs].join('\n');
    expect(logs).toContain('download completed');
    expect(logs).not.toContain('hunter2secret');
  });

  it('recovers from a corrupt registry on a live volume without downloading again', async () => {
    const file = origin.addFile('survivor.safetensors', 64_000);
    const ref = {
      kind: 'lora',
      name: 'survivor',
      url: `${origin.url}/files/survivor.safetensors`,
      sha256: file.sha256,
    };
    expect((await call(svc.apiUrl, 'POST', '/v1/fetch?wait=30', ref)).body.status).toBe('completed');
    writeFileSync(path.join(svc.modelsDir, 'cache_registry.json'), '{"loras": {"surv');

    const again = await call(svc.apiUrl, 'POST', '/v1/fetch?wait=30', ref);
    expect(again.status).toBe(200);
    expect(['cached', 'completed']).toContain(again.body.status);
    expect(again.body.model).toMatchObject({
      path: path.join(svc.modelsDir, 'loras', 'survivor.safetensors'),
      sha256: file.sha256,
    });
    expect(origin.hitCount('/files/survivor.safetensors')).toBe(1);
    expect(readdirSync(svc.modelsDir).filter((f) => f.startsWith('cache_registry.json.corrupt-'))).toHaveLength(1);
    await expect.poll(() => registryOf(svc.modelsDir).loras.survivor?.hash, { timeout: 10_000 }).toBe(file.sha256);
    const logs = [...svc.api.logs, ...svc.worker.logs].join('\n');
    expect(logs).toContain('registry file is unreadable');
  });
});
