import { readdirSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TestOrigin } from '../support/origin.js';
import { PrivateRedis } from '../support/private-redis.js';
import { call, serviceEnv, startApp, tempModelsDir, uniquePrefix, type RunningProcess } from '../support/service.js';
import { inspectVolume } from '../support/volume-check.js';

const KiB = 1024;
const MiB = 1024 * KiB;

/** Log lines (parsed) of a process that carry this message. */
function logged(proc: RunningProcess, msg: string): Array<Record<string, unknown>> {
  return proc.logs.flatMap((line) => {
    try {
      const parsed = JSON.parse(line) as Record<string, unknown>;
      return parsed.msg === msg ? [parsed] : [];
    } catch {
      return [];
    }
  });
}

/**
 * Redis restarts (a failover, a maintenance window, an OOM kill) under a running service: its own
 * redis-server, stopped and started again on the same port with the append-only file.
 */
describe('Redis goes away for a few seconds during a download', () => {
  const redis = new PrivateRedis();
  const origin = new TestOrigin();
  const volume = tempModelsDir();
  let api: RunningProcess;
  let worker: RunningProcess;
  let apiUrl: string;

  beforeAll(async () => {
    await Promise.all([redis.start(), origin.start()]);
    const env = serviceEnv(uniquePrefix('outage'), volume.dir, {
      REDIS_URL: redis.url,
      MIN_FREE_BYTES: '0',
      SEGMENTS: '1',
    });
    api = startApp('api', env);
    worker = startApp('worker', env);
    const [listening] = await Promise.all([api.waitForLog('api listening'), worker.waitForLog('worker ready')]);
    apiUrl = `http://127.0.0.1:${listening.port as number}`;
  });
  afterAll(async () => {
    await Promise.all([api?.stop('SIGKILL'), worker?.stop('SIGKILL')]);
    await redis.remove();
    await origin.close();
    volume.remove();
  });

  it('answers 503 meanwhile, then the download resumes and completes once, and new requests work', async () => {
    const size = 16 * MiB;
    const file = origin.addFile('through.safetensors', size);
    const fetched = await call(apiUrl, 'POST', '/v1/fetch', {
      kind: 'checkpoint',
      name: 'through',
      url: `${origin.url}/slow/through.safetensors?ms=50&chunk=${128 * KiB}`,
      sha256: file.sha256,
    });
    expect(fetched.status).toBe(202);
    const jobId = fetched.body.jobId as string;
    await expect
      .poll(async () => (await call(apiUrl, 'GET', `/v1/jobs/${jobId}`)).body.progress?.bytes ?? 0, {
        timeout: 30_000,
        interval: 50,
      })
      .toBeGreaterThan(4 * MiB);

    await redis.stop();
    try {
      // Routes that need Redis fail fast with 503 rather than hang; liveness stays up so an
      // orchestrator does not restart a process that will recover by itself.
      origin.addFile('during.safetensors', 64 * KiB);
      await expect
        .poll(
          async () =>
            (
              await call(apiUrl, 'POST', '/v1/fetch', {
                kind: 'lora',
                name: 'during',
                url: `${origin.url}/files/during.safetensors`,
              })
            ).body,
          { timeout: 15_000 },
        )
        .toMatchObject({ error: { code: 'REDIS_UNAVAILABLE' } });
      const job = await call(apiUrl, 'GET', `/v1/jobs/${jobId}`);
      expect({ status: job.status, code: job.body.error?.code }).toEqual({ status: 503, code: 'REDIS_UNAVAILABLE' });
      const batch = await call(apiUrl, 'POST', '/v1/batches', {
        items: [{ kind: 'lora', name: 'during', url: `${origin.url}/files/during.safetensors` }],
      });
      expect({ status: batch.status, code: batch.body.error?.code }).toEqual({
        status: 503,
        code: 'REDIS_UNAVAILABLE',
      });
      const ready = await call(apiUrl, 'GET', '/readyz');
      expect({ status: ready.status, code: ready.body.error?.code }).toEqual({ status: 503, code: 'NOT_READY' });
      expect((await call(apiUrl, 'GET', '/healthz')).status).toBe(200);
      // A few seconds of outage, as a restart or failover takes.
      await new Promise((resolve) => setTimeout(resolve, 3000));
      expect(api.child.exitCode).toBeNull();
      expect(worker.child.exitCode).toBeNull();
    } finally {
      await redis.start();
    }

    await expect.poll(async () => (await call(apiUrl, 'GET', '/readyz')).status, { timeout: 20_000 }).toBe(200);
    const done = await call(apiUrl, 'GET', `/v1/jobs/${jobId}?wait=50`);
    expect(done.body).toMatchObject({ status: 'completed', model: { sha256: file.sha256 } });
    // The download in flight went on (or resumed): not fetched again from the start.
    expect(origin.sent('through.safetensors')).toBeGreaterThanOrEqual(size);
    expect(origin.sent('through.safetensors')).toBeLessThanOrEqual(size * 1.1);
    // Completed once: one finished download in the worker's log, one registry entry.
    await expect.poll(() => logged(worker, 'download completed').length, { timeout: 5000 }).toBe(1);

    // The worker took up new jobs after reconnecting; the API queues them again.
    const after = origin.addFile('after.safetensors', 256 * KiB);
    const next = await call(apiUrl, 'POST', '/v1/fetch?wait=30', {
      kind: 'lora',
      name: 'after',
      url: `${origin.url}/files/after.safetensors`,
      sha256: after.sha256,
    });
    expect(next.body.status).toBe('completed');

    const state = inspectVolume(volume.dir);
    expect(state).toEqual({
      badEntries: [],
      unlisted: [],
      staging: [],
      entries: ['checkpoints/through', 'loras/after'],
    });
    expect(readdirSync(path.join(volume.dir, 'loras'))).toEqual(['after.safetensors']);
    expect(api.child.exitCode).toBeNull();
    expect(worker.child.exitCode).toBeNull();
    // The outage is logged once per process when it starts and once when it ends, not for every
    // reconnect attempt of every client; nothing reaches stderr as a bare stack.
    for (const proc of [api, worker]) {
      // (A second pair only if a separate events connection reports a refusal just as the shared one is back.)
      const lost = logged(
        proc,
        'redis connection lost; reconnecting (requests that need Redis answer 503 meanwhile)',
      ).length;
      expect(lost).toBeGreaterThanOrEqual(1);
      expect(lost).toBeLessThanOrEqual(2);
      expect(logged(proc, 'redis connection restored').length).toBeGreaterThanOrEqual(1);
      expect(proc.logs.filter((line) => !line.startsWith('{'))).toEqual([]);
    }
  });
});
