import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { QUEUE_NAME, recordEviction } from '@model-manager/core';
import { parseMetrics } from '../support/metrics.js';
import { TestOrigin } from '../support/origin.js';
import { REDIS_URL, call, startService, type Service } from '../support/service.js';
import { readSse } from '../support/sse.js';

describe('seeing what it does: metrics, event streams, job logs (real API, worker, Redis, origin)', () => {
  const origin = new TestOrigin();
  let svc: Service;
  let redis: Redis;
  let queue: Queue;
  const metrics = async () => {
    const res = await fetch(`${svc.apiUrl}/metrics`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
    return parseMetrics(await res.text());
  };

  beforeAll(async () => {
    await origin.start();
    svc = await startService('obs', { DOWNLOAD_ATTEMPTS: '1' });
    redis = new Redis(REDIS_URL);
    queue = new Queue(QUEUE_NAME, { connection: redis, prefix: svc.prefix });
  });
  afterAll(async () => {
    await queue?.close();
    redis?.disconnect();
    await svc?.stop();
    await origin.close();
  });

  it('counts a download, a cache hit, a failure and evictions in /metrics', async () => {
    const before = await metrics();
    expect(before.get('model_manager_downloads_total{kind="lora",outcome="completed"}')).toBe(0);
    expect(before.get('model_manager_evictions_total{reason="max-bytes"}')).toBe(0);
    expect(before.get('model_manager_models{kind="lora"}')).toBe(0);

    const file = origin.addFile('counted.safetensors', 300_000);
    const ref = { kind: 'lora', name: 'counted', url: `${origin.url}/files/counted.safetensors`, sha256: file.sha256 };
    expect((await call(svc.apiUrl, 'POST', '/v1/fetch?wait=30', ref)).body.status).toBe('completed');
    expect((await call(svc.apiUrl, 'POST', '/v1/fetch?wait=30', ref)).body.status).toBe('cached');
    const failed = await call(svc.apiUrl, 'POST', '/v1/fetch?wait=30', {
      kind: 'checkpoint',
      name: 'absent',
      url: `${origin.url}/files/absent.safetensors`,
    });
    expect(failed.body.error.code).toBe('HTTP_ERROR');
    // What the eviction code calls when it removes models.
    await recordEviction(redis, svc.prefix, 'max-bytes', 2);

    const m = await metrics();
    const expected = {
      'model_manager_downloads_total{kind="lora",outcome="completed"}': 1,
      'model_manager_downloads_total{kind="checkpoint",outcome="failed"}': 1,
      'model_manager_downloads_total{kind="lora",outcome="failed"}': 0,
      model_manager_download_bytes_total: file.body.length,
      'model_manager_download_duration_seconds_count{kind="lora"}': 1,
      'model_manager_download_duration_seconds_bucket{kind="lora",le="+Inf"}': 1,
      'model_manager_download_duration_seconds_count{kind="checkpoint"}': 0,
      'model_manager_cache_lookups_total{result="hit"}': 1,
      'model_manager_cache_lookups_total{result="miss"}': 2,
      'model_manager_models{kind="lora"}': 1,
      'model_manager_model_bytes{kind="lora"}': file.body.length,
      'model_manager_models{kind="checkpoint"}': 0,
      'model_manager_evictions_total{reason="max-bytes"}': 2,
      'model_manager_evictions_total{reason="age"}': 0,
      'model_manager_queue_jobs{queue="model-fetch",state="completed"}': 1,
      'model_manager_queue_jobs{queue="model-fetch",state="failed"}': 1,
      'model_manager_queue_jobs{queue="model-fetch",state="waiting"}': 0,
    };
    expect(Object.fromEntries(Object.keys(expected).map((name) => [name, m.get(name)]))).toEqual(expected);
    expect(m.get('model_manager_download_duration_seconds_sum{kind="lora"}')).toBeGreaterThan(0);
    expect(m.get('model_manager_volume_free_bytes')).toBeGreaterThan(0);
    // /v1/stats reads the same counters.
    const stats = await call(svc.apiUrl, 'GET', '/v1/stats');
    expect(stats.body.downloads).toEqual({ succeeded: 1, failed: 1, bytes: file.body.length });
  });

  it('streams a download: state, progress, completed, then the stream ends', async () => {
    const size = 2 * 1024 * 1024;
    const file = origin.addFile('streamed.safetensors', size);
    const queued = await call(svc.apiUrl, 'POST', '/v1/fetch', {
      kind: 'checkpoint',
      name: 'streamed',
      url: `${origin.url}/slow/streamed.safetensors?ms=100&chunk=65536`,
      sha256: file.sha256,
    });
    expect(queued.status).toBe(202);
    const jobId = queued.body.jobId;
    const stream = await readSse(`${svc.apiUrl}/v1/jobs/${jobId}/events`);
    expect(stream.status).toBe(200);
    const names = stream.events.map((e) => e.event);
    expect(names[0]).toBe('state');
    expect(stream.events[0]!.data).toMatchObject({ jobId, kind: 'checkpoint', name: 'streamed' });
    expect(names.at(-1)).toBe('completed');
    expect(names.filter((n) => n === 'completed' || n === 'failed')).toHaveLength(1);
    expect(names.slice(1, -1).every((n) => n === 'progress')).toBe(true);
    const progress = stream.events.filter((e) => e.event === 'progress').map((e) => e.data);
    expect(progress.length).toBeGreaterThanOrEqual(1);
    for (const p of progress) {
      expect(p).toMatchObject({ jobId, totalBytes: size });
      expect(typeof p.bytes).toBe('number');
      expect(typeof p.bytesPerSec).toBe('number');
    }
    expect(stream.events.at(-1)!.data).toMatchObject({
      jobId,
      status: 'completed',
      model: { name: 'streamed', sha256: file.sha256, fileSize: size },
    });

    // A finished job: its state, then its final event at once.
    const again = await readSse(`${svc.apiUrl}/v1/jobs/${jobId}/events`);
    expect(again.events.map((e) => e.event)).toEqual(['state', 'completed']);
  });

  it('streams a failing job to `failed` with its error code; an unknown job is a 404 before any stream', async () => {
    const queued = await call(svc.apiUrl, 'POST', '/v1/fetch', {
      kind: 'lora',
      name: 'gone',
      url: `${origin.url}/files/gone.safetensors`,
    });
    const stream = await readSse(`${svc.apiUrl}/v1/jobs/${queued.body.jobId}/events`);
    const names = stream.events.map((e) => e.event);
    expect(names[0]).toBe('state');
    expect(names.at(-1)).toBe('failed');
    expect(stream.events.at(-1)!.data).toMatchObject({
      jobId: queued.body.jobId,
      status: 'failed',
      error: { code: 'HTTP_ERROR', status: 404 },
    });

    const unknown = await readSse(`${svc.apiUrl}/v1/jobs/999999/events`);
    expect(unknown.status).toBe(404);
    expect(unknown.contentType).toMatch(/^application\/json/);
    expect(unknown.body.error.code).toBe('NOT_FOUND');
    const unknownBatch = await readSse(`${svc.apiUrl}/v1/batches/00000000-0000-0000-0000-000000000000/events`);
    expect(unknownBatch.status).toBe(404);
    expect(unknownBatch.body.error.code).toBe('NOT_FOUND');
  });

  it('streams a batch: state (cached items complete), per-job events with kind and name, done last', async () => {
    const a = origin.addFile('batch-a.safetensors', 1024 * 1024);
    const b = origin.addFile('batch-b.safetensors', 1024 * 1024);
    const slow = (name: string) => `${origin.url}/slow/${name}?ms=100&chunk=65536`;
    const created = await call(svc.apiUrl, 'POST', '/v1/batches', {
      items: [
        { kind: 'lora', name: 'counted', url: `${origin.url}/files/counted.safetensors` }, // cached by the first test
        { kind: 'lora', name: 'batch-a', url: slow('batch-a.safetensors'), sha256: a.sha256 },
        { kind: 'embedding', name: 'batch-b', url: slow('batch-b.safetensors'), sha256: b.sha256 },
      ],
    });
    expect(created.status).toBe(202);
    const stream = await readSse(`${svc.apiUrl}/v1/batches/${created.body.batchId}/events`);
    const names = stream.events.map((e) => e.event);
    expect(names[0]).toBe('state');
    expect(stream.events[0]!.data).toMatchObject({ batchId: created.body.batchId, counts: { total: 3, cached: 1 } });
    expect(names.at(-1)).toBe('done');
    expect(names.filter((n) => n === 'done')).toHaveLength(1);
    expect(stream.events.at(-1)!.data).toMatchObject({
      done: true,
      counts: { total: 3, cached: 1, completed: 2, failed: 0 },
    });
    const completed = stream.events.filter((e) => e.event === 'completed').map((e) => e.data);
    expect(completed.map((c) => `${c.kind}/${c.name}`).sort()).toEqual(['embedding/batch-b', 'lora/batch-a']);
    const progress = stream.events.filter((e) => e.event === 'progress').map((e) => e.data);
    expect(progress.length).toBeGreaterThanOrEqual(1);
    for (const p of progress) expect(['lora/batch-a', 'embedding/batch-b']).toContain(`${p.kind}/${p.name}`);
    // No job's event comes after its own completion.
    for (const c of completed) {
      const at = stream.events.findIndex((e) => e.event === 'completed' && e.data.jobId === c.jobId);
      expect(stream.events.slice(at + 1).some((e) => e.event === 'progress' && e.data.jobId === c.jobId)).toBe(false);
    }
    // Opened after the jobs finished: each is still said to have finished, once, before `done`.
    const late = await readSse(`${svc.apiUrl}/v1/batches/${created.body.batchId}/events`);
    expect(late.events.map((e) => e.event)).toEqual(['state', 'completed', 'completed', 'done']);
    expect(
      late.events
        .filter((e) => e.event === 'completed')
        .map((e) => e.data.name)
        .sort(),
    ).toEqual(['batch-a', 'batch-b']);
  });

  it('writes readable job log lines (for Bull Board), never a URL token', async () => {
    const file = origin.addFile('logged.safetensors', 200_000);
    const done = await call(svc.apiUrl, 'POST', '/v1/fetch?wait=30', {
      kind: 'lora',
      name: 'logged',
      url: `${origin.url}/files/logged.safetensors?token=s3cr3t-t0ken&v=1`,
      sha256: file.sha256,
    });
    expect(done.body.status).toBe('completed');
    const { logs } = await queue.getJobLogs(done.body.jobId);
    const text = logs.join('\n');
    expect(text).not.toContain('s3cr3t-t0ken');
    expect(logs.length).toBeLessThanOrEqual(8);
    expect(text).toMatch(/attempt 1 of 1: source http:\/\/127\.0\.0\.1:\d+\/files\/logged\.safetensors\?v=\*\*\*/);
    expect(text).toContain(`downloaded 195.31 KiB (200000 bytes)`);
    expect(text).toContain('one connection');
    expect(text).toContain(`sha256 verified: ${file.sha256}`);
    expect(text).toContain(`published: ${done.body.model.path}`);

    // The same bytes asked for under another name: linked at once, with no job, and counted.
    const twin = await call(svc.apiUrl, 'POST', '/v1/fetch?wait=30', {
      kind: 'lora',
      name: 'logged twin',
      url: `${origin.url}/files/elsewhere.safetensors`,
      sha256: file.sha256,
    });
    expect(twin.body).toMatchObject({ status: 'linked', verified: true });

    // A failure says why, hash mismatches included.
    const mismatch = await call(svc.apiUrl, 'POST', '/v1/fetch?wait=30', {
      kind: 'lora',
      name: 'mismatched',
      url: `${origin.url}/files/logged.safetensors`,
      sha256: 'c'.repeat(64),
    });
    expect(mismatch.body.error.code).toBe('HASH_MISMATCH');
    const mismatchLogs = (await queue.getJobLogs(mismatch.body.jobId)).logs.join('\n');
    expect(mismatchLogs).toMatch(/attempt 1 failed: HASH_MISMATCH: sha256 is [0-9a-f]{64}, expected c{64}/);

    const m = await metrics();
    expect(m.get('model_manager_downloads_total{kind="lora",outcome="linked"}')).toBe(1);
  });

  it('counts what a cleanup removes as evictions (reason age), and not what a dry run lists', async () => {
    const before = (await metrics()).get('model_manager_evictions_total{reason="age"}')!;
    const dry = await call(svc.apiUrl, 'POST', '/v1/cleanup', { maxAgeDays: 0, keepPopular: 0, dryRun: true });
    expect(dry.body.removed.length).toBeGreaterThan(0);
    expect((await metrics()).get('model_manager_evictions_total{reason="age"}')).toBe(before);
    const real = await call(svc.apiUrl, 'POST', '/v1/cleanup', { maxAgeDays: 0, keepPopular: 0 });
    expect(real.body.removed.length).toBe(dry.body.removed.length);
    const m = await metrics();
    expect(m.get('model_manager_evictions_total{reason="age"}')).toBe(before + real.body.removed.length);
    expect(m.get('model_manager_models{kind="lora"}')).toBe(0);
  });

  // Last: it stops the API.
  it('ends open event streams when the API stops, instead of holding the shutdown up', async () => {
    const file = origin.addFile('long.safetensors', 2 * 1024 * 1024);
    const queued = await call(svc.apiUrl, 'POST', '/v1/fetch', {
      kind: 'checkpoint',
      name: 'long',
      url: `${origin.url}/slow/long.safetensors?ms=200&chunk=16384`,
      sha256: file.sha256,
    });
    const route = `/v1/jobs/${queued.body.jobId}/events`;
    let stopped: Promise<number | null> | undefined;
    const stream = await readSse(`${svc.apiUrl}${route}`, {
      onEvent: (e) => {
        if (e.event === 'state') stopped = svc.api.stop('SIGTERM');
      },
    });
    expect(stream.events[0]!.event).toBe('state');
    expect(stream.events.some((e) => e.event === 'completed' || e.event === 'failed')).toBe(false);
    expect(await stopped).toBe(0);
    // The server ended the answer itself (a connection cut at the grace deadline logs no request line).
    const lines = svc.api.logs.map((l) => {
      try {
        return JSON.parse(l);
      } catch {
        return null;
      }
    });
    expect(lines.some((l) => l?.msg === 'request' && l.path === route && l.status === 200)).toBe(true);
  });
});
