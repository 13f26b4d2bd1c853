import { existsSync, readdirSync, statSync } from 'node:fs';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { hostname } from 'node:os';
import path from 'node:path';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { QUEUE_NAME, bullKeys, createLogger, loadConfig } from '@model-manager/core';
import { createModelFetchWorker } from '@model-manager/worker';
import { TestOrigin } from '../support/origin.js';
import { startInProcessApi } from '../support/in-process-api.js';
import {
  LOOPBACK_ORIGINS_ALLOWED,
  REDIS_URL,
  call,
  dropPrefix,
  serviceEnv,
  startApp,
  tempModelsDir,
  uniquePrefix,
} from '../support/service.js';
import { readSse } from '../support/sse.js';

const KiB = 1024;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Connections to Redis named after this prefix: every one the API and workers open carries it. */
async function clientsOf(redis: Redis, prefix: string): Promise<string[]> {
  const list = (await redis.client('LIST')) as string;
  return list
    .split('\n')
    .map((line) => /(?:^| )name=(\S*)/.exec(line)?.[1] ?? '')
    .filter((name) => name.startsWith(`${prefix}:`))
    .sort();
}

describe('graceful shutdown of the real processes', () => {
  const origin = new TestOrigin();
  const volume = tempModelsDir();
  const prefix = uniquePrefix('shutdown');
  const env = serviceEnv(prefix, volume.dir, { MIN_FREE_BYTES: '0', SEGMENTS: '1', SHUTDOWN_GRACE_SECONDS: '3' });
  const observer = new Redis(REDIS_URL);
  const started: Array<ReturnType<typeof startApp>> = [];
  const start = (app: 'api' | 'worker', extra: Record<string, string> = {}) => {
    const proc = startApp(app, { ...env, ...extra });
    started.push(proc);
    return proc;
  };

  beforeAll(async () => {
    await origin.start();
  });
  afterAll(async () => {
    await Promise.all(started.map((p) => p.stop('SIGKILL')));
    observer.disconnect();
    await origin.close();
    await dropPrefix(prefix);
    volume.remove();
  });

  it('API: SIGTERM refuses new connections, answers the open ?wait= request, closes every Redis connection', async () => {
    expect(await clientsOf(observer, prefix)).toEqual([]);
    const api = start('api');
    const port = (await api.waitForLog('api listening')).port as number;
    const url = `http://127.0.0.1:${port}`;
    expect((await clientsOf(observer, prefix)).length).toBeGreaterThan(0);

    // No worker runs: the job stays queued and the request keeps waiting until the API stops.
    const waiting = call(url, 'POST', '/v1/fetch?wait=60', {
      kind: 'lora',
      name: 'held',
      url: `${origin.url}/files/held.safetensors`,
    });
    await expect.poll(() => observer.exists(bullKeys(prefix, QUEUE_NAME).job('1')), { timeout: 10_000 }).toBe(1);

    const exited = api.stop('SIGTERM');
    const answer = await waiting;
    expect(answer).toMatchObject({ status: 202, body: { status: 'queued', jobId: '1' } });
    await expect
      .poll(
        () =>
          fetch(`${url}/healthz`).then(
            () => 'answered',
            (err: Error) => String((err.cause as { code?: string })?.code),
          ),
        { timeout: 10_000 },
      )
      .toBe('ECONNREFUSED');
    expect(await exited).toBe(0);
    expect(api.logs.join('\n')).toContain('api stopped');
    await expect.poll(() => clientsOf(observer, prefix), { timeout: 10_000 }).toEqual([]);
  });

  it('worker: SIGTERM lets a short download finish, leaves a long one resumable (staging file, job queued), closes every Redis connection', async () => {
    const short = origin.addFile('short.safetensors', 96 * KiB);
    const long = origin.addFile('long.safetensors', 2048 * KiB);
    const api = start('api');
    const url = `http://127.0.0.1:${(await api.waitForLog('api listening')).port as number}`;
    // The API's own connections: what is left once the worker is gone.
    const withApiOnly = await clientsOf(observer, prefix);
    const worker = start('worker', { WORKER_CONCURRENCY: '2' });
    await worker.waitForLog('worker ready');
    // Every connection of the worker is named after it (WORKER_NAME defaults to host and pid).
    const workerName = `${hostname()}-${worker.child.pid}`;
    const ofWorker = (await clientsOf(observer, prefix)).filter((n) => !withApiOnly.includes(n));
    expect(ofWorker.length).toBeGreaterThan(0);
    expect(ofWorker.filter((n) => !n.includes(workerName))).toEqual([]);

    // About 1.5 s for the short one; about 13 s for the long one, far longer than the 3 s grace.
    const a = await call(url, 'POST', '/v1/fetch', {
      kind: 'lora',
      name: 'short',
      url: `${origin.url}/slow/short.safetensors?ms=250&chunk=${16 * KiB}`,
      sha256: short.sha256,
    });
    const b = await call(url, 'POST', '/v1/fetch', {
      kind: 'checkpoint',
      name: 'long',
      url: `${origin.url}/slow/long.safetensors?ms=100&chunk=${16 * KiB}`,
      sha256: long.sha256,
    });
    for (const job of [a, b]) {
      // Under way (or, the short one on a slow machine, done already).
      await expect
        .poll(
          async () => {
            const view = (await call(url, 'GET', `/v1/jobs/${job.body.jobId}`)).body;
            return view.status === 'completed' || (view.progress?.bytes ?? 0) > 0;
          },
          { timeout: 15_000 },
        )
        .toBe(true);
    }
    expect(await worker.stop('SIGTERM')).toBe(0);
    expect(worker.logs.join('\n')).toContain('worker stopped');

    expect((await call(url, 'GET', `/v1/jobs/${a.body.jobId}`)).body).toMatchObject({
      status: 'completed',
      model: { sha256: short.sha256 },
    });
    expect((await call(url, 'GET', `/v1/jobs/${b.body.jobId}`)).body.status).toBe('queued');
    expect(existsSync(path.join(volume.dir, 'checkpoints', 'long.safetensors'))).toBe(false);
    const staged = path.join(volume.dir, '.incoming', `${prefix}.${b.body.jobId}.part`);
    expect(statSync(staged).size).toBeGreaterThan(0);
    await expect.poll(() => clientsOf(observer, prefix), { timeout: 10_000 }).toEqual(withApiOnly);

    // The next worker resumes it rather than starting over.
    const next = start('worker');
    await next.waitForLog('worker ready');
    const done = await call(url, 'GET', `/v1/jobs/${b.body.jobId}?wait=50`);
    expect(done.body).toMatchObject({ status: 'completed', model: { sha256: long.sha256 } });
    expect(origin.sent('long.safetensors')).toBeLessThanOrEqual(long.body.length * 1.1);
    expect(readdirSync(path.join(volume.dir, '.incoming'))).toEqual([]);

    await Promise.all([next.stop('SIGTERM'), api.stop('SIGTERM')]);
    await expect.poll(() => clientsOf(observer, prefix), { timeout: 10_000 }).toEqual([]);
  });
});

/**
 * What is keeping the event loop alive, counted by kind. Measured right after an await of a plain
 * timer, so no timer of the test's own is pending then (expect.poll would add its own).
 */
function activeResources(): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const kind of process.getActiveResourcesInfo()) counts[kind] = (counts[kind] ?? 0) + 1;
  return counts;
}

/** The kinds of which more are open than at the baseline (timers and sockets of the test runner may close meanwhile; none may be added). */
function leftOver(baseline: Record<string, number>): Record<string, number> {
  return Object.fromEntries(Object.entries(activeResources()).filter(([kind, n]) => n > (baseline[kind] ?? 0)));
}

async function settleTo(baseline: Record<string, number>, timeoutMs: number): Promise<Record<string, number>> {
  const deadline = Date.now() + timeoutMs;
  while (Object.keys(leftOver(baseline)).length > 0 && Date.now() < deadline) await sleep(50);
  return leftOver(baseline);
}

/**
 * Every timer made while `track` runs, with where it was made: unref'd timers keep no event loop
 * alive (so getActiveResourcesInfo does not list them) but a stopped service must clear them too.
 */
function trackTimers() {
  const made: Array<{ timer: NodeJS.Timeout; stack: string }> = [];
  const originals = { setTimeout: globalThis.setTimeout, setInterval: globalThis.setInterval };
  const wrap = <F extends (...args: never[]) => NodeJS.Timeout>(original: F) =>
    ((...args: Parameters<F>) => {
      const timer = original(...args);
      made.push({ timer, stack: new Error().stack!.split('\n').slice(2, 6).join('\n') });
      return timer;
    }) as unknown as F;
  globalThis.setTimeout = wrap(originals.setTimeout as never) as never;
  globalThis.setInterval = wrap(originals.setInterval as never) as never;
  return {
    stop() {
      globalThis.setTimeout = originals.setTimeout;
      globalThis.setInterval = originals.setInterval;
    },
    /** Timers neither fired (once) nor cleared. */
    pending(): string[] {
      return made.filter((m) => !(m.timer as unknown as { _destroyed: boolean })._destroyed).map((m) => m.stack);
    },
  };
}

describe('closing in-process leaves nothing open', () => {
  const origin = new TestOrigin();
  const observer = new Redis(REDIS_URL);

  beforeAll(async () => {
    await origin.start();
  });
  afterAll(async () => {
    observer.disconnect();
    await origin.close();
  });

  it('the API context after requests, a ?wait= and an event stream: no handles, timers or Redis connections left', async () => {
    await sleep(10);
    const baseline = activeResources();
    const timers = trackTimers();
    const api = await startInProcessApi('handles-api');
    const server: Server = api.app.listen(0, '127.0.0.1');
    await new Promise((resolve) => server.once('listening', resolve));
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    try {
      const queued = await call(base, 'POST', '/v1/fetch', {
        kind: 'lora',
        name: 'never',
        url: `${origin.url}/files/never.safetensors`,
      });
      expect(queued.status).toBe(202);
      expect((await call(base, 'GET', `/v1/jobs/${queued.body.jobId}?wait=1`)).body.status).toBe('queued');
      expect((await call(base, 'GET', '/readyz')).status).toBe(200);
      expect((await call(base, 'GET', '/metrics')).status).toBe(200);
      // A stream open while the context closes ends instead of holding it up.
      const stream = readSse(`${base}/v1/jobs/${queued.body.jobId}/events`, {});
      await sleep(200);
      server.closeIdleConnections();
      const closed = new Promise((resolve) => server.close(resolve));
      await api.ctx.close();
      await stream;
      server.closeAllConnections();
      await closed;
      expect(await clientsOf(observer, api.prefix)).toEqual([]);
    } finally {
      timers.stop();
      await api.close();
    }
    expect(await settleTo(baseline, 10_000)).toEqual({});
    await expect.poll(() => timers.pending(), { timeout: 10_000 }).toEqual([]);
  });

  it('a worker after a download and close(): no handles, timers or Redis connections left', async () => {
    await sleep(10);
    const baseline = activeResources();
    const timers = trackTimers();
    const api = await startInProcessApi('handles-worker');
    const config = loadConfig({
      REDIS_URL,
      QUEUE_PREFIX: api.prefix,
      MODELS_DIR: api.modelsDir,
      MIN_FREE_BYTES: '0',
      ...LOOPBACK_ORIGINS_ALLOWED,
    });
    const worker = createModelFetchWorker(config, createLogger({ level: 'silent', name: 'worker' }));
    try {
      await worker.waitUntilReady();
      const file = origin.addFile('inproc.safetensors', 256 * KiB);
      const server: Server = api.app.listen(0, '127.0.0.1');
      await new Promise((resolve) => server.once('listening', resolve));
      const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
      const done = await call(base, 'POST', '/v1/fetch?wait=30', {
        kind: 'lora',
        name: 'inproc',
        url: `${origin.url}/files/inproc.safetensors`,
        sha256: file.sha256,
      });
      expect(done.body.status).toBe('completed');
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
      await worker.close(2000);
      expect(await clientsOf(observer, api.prefix)).toEqual(
        expect.not.arrayContaining([expect.stringContaining('model-manager-worker'), expect.stringContaining(':w:')]),
      );
    } finally {
      timers.stop();
      await worker.close(0);
      await api.close();
    }
    expect(await clientsOf(observer, api.prefix)).toEqual([]);
    expect(await settleTo(baseline, 10_000)).toEqual({});
    await expect.poll(() => timers.pending(), { timeout: 10_000 }).toEqual([]);
  });
});
