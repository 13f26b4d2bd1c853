import { existsSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TestOrigin } from '../support/origin.js';
import { call, startApp, startService, type Service } from '../support/service.js';

describe('worker scheduling and shutdown', () => {
  const origin = new TestOrigin();
  let svc: Service;

  beforeAll(async () => {
    await origin.start();
    svc = await startService('worker', { WORKER_CONCURRENCY: '1', SHUTDOWN_GRACE_SECONDS: '30' });
  });
  afterAll(async () => {
    await svc?.stop();
    await origin.close();
  });

  it('serves an awaited request before queued prefetch-batch jobs', async () => {
    origin.addFile('blocker.safetensors', 256 * 1024);
    for (const n of ['b1', 'b2', 'b3', 'urgent']) origin.addFile(`${n}.safetensors`, 1000);
    // Occupies the only slot for about a second.
    const blocker = await call(svc.apiUrl, 'POST', '/v1/fetch', {
      kind: 'checkpoint',
      name: 'blocker',
      url: `${origin.url}/slow/blocker.safetensors?ms=60&chunk=16384`,
    });
    await expect
      .poll(async () => (await call(svc.apiUrl, 'GET', `/v1/jobs/${blocker.body.jobId}`)).body.status)
      .toBe('active');
    const batch = await call(svc.apiUrl, 'POST', '/v1/batches', {
      items: ['b1', 'b2', 'b3'].map((n) => ({ kind: 'lora', name: n, url: `${origin.url}/files/${n}.safetensors` })),
    });
    expect(batch.status).toBe(202);
    const urgent = await call(svc.apiUrl, 'POST', '/v1/fetch?wait=30', {
      kind: 'lora',
      name: 'urgent',
      url: `${origin.url}/files/urgent.safetensors`,
    });
    expect(urgent.body.status).toBe('completed');
    await call(svc.apiUrl, 'GET', `/v1/batches/${batch.body.batchId}?wait=30`);
    const order = origin.requests.map((r) => r.path).filter((p) => /blocker|b\d|urgent/.test(p));
    expect(order).toEqual([
      '/slow/blocker.safetensors',
      '/files/urgent.safetensors',
      '/files/b1.safetensors',
      '/files/b2.safetensors',
      '/files/b3.safetensors',
    ]);
  });

  it('on SIGTERM finishes the active download within the grace time, then exits', async () => {
    origin.addFile('finishing.safetensors', 128 * 1024);
    const res = await call(svc.apiUrl, 'POST', '/v1/fetch', {
      kind: 'lora',
      name: 'finishing',
      url: `${origin.url}/slow/finishing.safetensors?ms=50&chunk=16384`,
    });
    await expect
      .poll(async () => (await call(svc.apiUrl, 'GET', `/v1/jobs/${res.body.jobId}`)).body.progress.bytes)
      .toBeGreaterThan(0);
    expect(await svc.worker.stop('SIGTERM')).toBe(0);
    const job = await call(svc.apiUrl, 'GET', `/v1/jobs/${res.body.jobId}`);
    expect(job.body.status).toBe('completed');
    expect(existsSync(path.join(svc.modelsDir, 'loras', 'finishing.safetensors'))).toBe(true);
    svc.worker = startApp('worker', svc.env);
    await svc.worker.waitForLog('worker ready');
  });

  it('cuts a download off when the grace time runs out; the job goes back to the queue and a new worker resumes it', async () => {
    await svc.worker.stop();
    svc.worker = startApp('worker', { ...svc.env, SHUTDOWN_GRACE_SECONDS: '1' });
    await svc.worker.waitForLog('worker ready');
    const size = 512 * 1024;
    const file = origin.addFile('long.safetensors', size);
    const res = await call(svc.apiUrl, 'POST', '/v1/fetch', {
      kind: 'checkpoint',
      name: 'long',
      url: `${origin.url}/slow/long.safetensors?ms=50&chunk=8192`,
      sha256: file.sha256,
    });
    await expect
      .poll(async () => (await call(svc.apiUrl, 'GET', `/v1/jobs/${res.body.jobId}`)).body.progress.bytes)
      .toBeGreaterThan(0);
    expect(await svc.worker.stop('SIGTERM')).toBe(0);

    const cut = await call(svc.apiUrl, 'GET', `/v1/jobs/${res.body.jobId}`);
    expect(cut.body.status).toBe('queued');
    expect(existsSync(path.join(svc.modelsDir, 'checkpoints', 'long.safetensors'))).toBe(false);
    // The partial file stays in staging, named after the job, for the next worker to resume.
    const staged = readdirSync(path.join(svc.modelsDir, '.incoming')).filter((f) => f.endsWith('.part'));
    expect(staged).toEqual([`${svc.prefix}.${res.body.jobId}.part`]);
    const stagedBytes = statSync(path.join(svc.modelsDir, '.incoming', staged[0]!)).size;
    expect(stagedBytes).toBeGreaterThan(0);
    expect(stagedBytes).toBeLessThan(size);

    svc.worker = startApp('worker', svc.env);
    await svc.worker.waitForLog('worker ready');
    const done = await call(svc.apiUrl, 'GET', `/v1/jobs/${res.body.jobId}?wait=60`);
    expect(done.body).toMatchObject({ status: 'completed', model: { sha256: file.sha256 } });
    expect(origin.sent('long.safetensors')).toBeLessThanOrEqual(size * 1.1);
    expect(readdirSync(path.join(svc.modelsDir, '.incoming'))).toEqual([]);
  });
});
