import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Redis } from 'ioredis';
import { urlTokenKey } from '@model-manager/core';
import { TestOrigin, safetensorsOf } from '../support/origin.js';
import { call, startService, type Service } from '../support/service.js';
import { registryOf } from '../support/volume.js';

const MiB = 1024 * 1024;
const section = (kind: string) => (kind === 'lora' ? 'loras' : `${kind}s`);

/** Nothing saved for a failure: no file at a final path, no registry entry, no staging file. */
function expectNothingSaved(svc: Service, kind: string, name: string) {
  const dir = path.join(svc.modelsDir, section(kind));
  expect(readdirSync(dir).filter((f) => f.startsWith(`${name}.`))).toEqual([]);
  if (existsSync(path.join(svc.modelsDir, 'cache_registry.json')))
    expect(registryOf(svc.modelsDir)[section(kind)][name]).toBeUndefined();
  expect(readdirSync(path.join(svc.modelsDir, '.incoming')).filter((f) => f.endsWith('.part'))).toEqual([]);
}

describe('downloads that survive faults injected by a real origin', () => {
  const origin = new TestOrigin();
  let svc: Service;
  const fetchModel = (body: Record<string, unknown>, wait = 60) =>
    call(svc.apiUrl, 'POST', `/v1/fetch?wait=${wait}`, body);

  beforeAll(async () => {
    await origin.start();
    svc = await startService('faults', {
      WORKER_CONCURRENCY: '2',
      DOWNLOAD_ATTEMPTS: '4',
      DOWNLOAD_BACKOFF_MS: '100',
      DOWNLOAD_IDLE_TIMEOUT: '1',
      MIN_FREE_BYTES: '0',
      SEGMENTS: '1', // one connection: these tests look at single-stream resume
      AUTH_HEADERS: JSON.stringify({ [new URL(origin.url).host]: 'Bearer mirror-secret' }),
    });
  });
  afterAll(async () => {
    await svc?.stop();
    await origin.close();
  });

  it('resumes a 64 MiB download reset at 60%: the origin sends at most 110% and the hash is right', async () => {
    const size = 64 * MiB;
    const file = origin.addFile('reset.safetensors', size);
    const res = await fetchModel({
      kind: 'checkpoint',
      name: 'reset',
      url: `${origin.url}/files/reset.safetensors?resetAt=${Math.floor(size * 0.6)}`,
      sha256: file.sha256,
    });
    expect(res.body).toMatchObject({ status: 'completed', model: { sha256: file.sha256, fileSize: size } });
    expect(origin.sent('reset.safetensors')).toBeLessThanOrEqual(size * 1.1);
    const second = origin.requests.filter((r) => r.path === '/files/reset.safetensors')[1];
    // It asks for the rest from where its staging file ends (at most where the connection broke).
    const from = Number(/^bytes=(\d+)-$/.exec(String(second?.headers.range))?.[1]);
    expect(from).toBeGreaterThan(size * 0.5);
    expect(from).toBeLessThanOrEqual(size * 0.6);
    expect(second?.status).toBe(206);
    const job = await call(svc.apiUrl, 'GET', `/v1/jobs/${res.body.jobId}`);
    expect(job.body.attempts).toBe(2);
  });

  it('detects a stalled body (no bytes for DOWNLOAD_IDLE_TIMEOUT) and resumes', async () => {
    const size = 4 * MiB;
    const file = origin.addFile('stall.safetensors', size);
    const res = await fetchModel({
      kind: 'lora',
      name: 'stall',
      url: `${origin.url}/files/stall.safetensors?stallAt=${size / 2}`,
      sha256: file.sha256,
    });
    expect(res.body.status).toBe('completed');
    expect(origin.sent('stall.safetensors')).toBeLessThanOrEqual(size * 1.1);
  });

  it('survives origins that close the connection right after the body (undici 7 would crash on a paused body)', async () => {
    const files = [64 * 1024, 64 * 1024 + 1, 1024 * 1024, 3 * MiB].map((size, i) => ({
      name: `closing-${i}`,
      file: origin.addFile(`closing-${i}.safetensors`, size),
    }));
    const answers = await Promise.all(
      files.map(({ name, file }) =>
        fetchModel({ kind: 'lora', name, url: `${origin.url}/files/${name}.safetensors?close=1`, sha256: file.sha256 }),
      ),
    );
    for (const a of answers) expect(a.body.status).toBe('completed');
    expect(svc.worker.child.exitCode).toBeNull();
  });

  it('retries 500s, and waits at least Retry-After on a 429', async () => {
    const a = origin.addFile('flaky.safetensors', 10_000);
    const flaky = await fetchModel({
      kind: 'lora',
      name: 'flaky',
      url: `${origin.url}/files/flaky.safetensors?failFirst=2&failStatus=500`,
      sha256: a.sha256,
    });
    expect(flaky.body.status).toBe('completed');
    expect(origin.hitCount('/files/flaky.safetensors')).toBe(3);

    origin.addFile('limited.safetensors', 10_000);
    const limited = await fetchModel({
      kind: 'lora',
      name: 'limited',
      url: `${origin.url}/files/limited.safetensors?failFirst=1&failStatus=429&retryAfter=2`,
    });
    expect(limited.body.status).toBe('completed');
    const [first, second] = origin.requests.filter((r) => r.path === '/files/limited.safetensors');
    expect(second!.at - first!.at).toBeGreaterThanOrEqual(1900);
  });

  it.each([408, 425, 502, 503, 504])('retries a %s and then completes', async (status) => {
    const file = origin.addFile(`retry-${status}.safetensors`, 10_000);
    const res = await fetchModel({
      kind: 'lora',
      name: `retry-${status}`,
      url: `${origin.url}/files/retry-${status}.safetensors?failFirst=1&failStatus=${status}${status === 503 ? '&retryAfter=1' : ''}`,
      sha256: file.sha256,
    });
    expect(res.body.status).toBe('completed');
    const hits = origin.requests.filter((r) => r.path === `/files/retry-${status}.safetensors`);
    expect(hits.map((h) => h.status)).toEqual([status, 200]);
    if (status === 503) expect(hits[1]!.at - hits[0]!.at).toBeGreaterThanOrEqual(900);
  });

  it.each([
    ['401', 'AUTH_REQUIRED', 401],
    ['403', 'FORBIDDEN', 403],
    ['410', 'HTTP_ERROR', 410],
    ['400', 'HTTP_ERROR', 400],
  ])('fails at once on %s with %s', async (status, code, expected) => {
    const name = `status-${status}`;
    const res = await fetchModel({ kind: 'lora', name, url: `${origin.url}/status/${status}` });
    expect(res.status).toBe(502);
    expect(res.body.error).toMatchObject({ code, status: expected });
    expect(origin.hitCount(`/status/${status}`)).toBe(1);
    expectNothingSaved(svc, 'lora', name);
  });

  it.each([
    ['an HTML page (Content-Type)', 'html=1', 'login-page'],
    ['an HTML body sent as a binary', 'htmlBody=1', 'login-body'],
  ])('refuses %s with NOT_A_MODEL and saves nothing', async (_label, fault, name) => {
    origin.addFile(`${name}.safetensors`, 10_000);
    const res = await fetchModel({ kind: 'lora', name, url: `${origin.url}/files/${name}.safetensors?${fault}` });
    expect(res.body.error.code).toBe('NOT_A_MODEL');
    expect(origin.hitCount(`/files/${name}.safetensors`)).toBe(1);
    expectNothingSaved(svc, 'lora', name);
  });

  it('refuses a truncated or non-safetensors .safetensors body with NOT_A_MODEL, even without a hash', async () => {
    const whole = safetensorsOf(200_000);
    origin.addBody('truncated.safetensors', whole.subarray(0, 150_000));
    const truncated = await fetchModel({
      kind: 'checkpoint',
      name: 'truncated',
      url: `${origin.url}/files/truncated.safetensors`,
    });
    expect(truncated.body.error.code).toBe('NOT_A_MODEL');
    expect(truncated.body.error.message).toMatch(/truncated/);
    expectNothingSaved(svc, 'checkpoint', 'truncated');

    origin.addFile('noise.safetensors', 50_000, { raw: true });
    const noise = await fetchModel({ kind: 'checkpoint', name: 'noise', url: `${origin.url}/files/noise.safetensors` });
    expect(noise.body.error.code).toBe('NOT_A_MODEL');
    expectNothingSaved(svc, 'checkpoint', 'noise');

    // Other formats are not parsed: a .ckpt of arbitrary bytes is fine.
    origin.addFile('legacy.ckpt', 50_000, { raw: true });
    expect(
      (await fetchModel({ kind: 'checkpoint', name: 'legacy', url: `${origin.url}/files/legacy.ckpt` })).body.status,
    ).toBe('completed');
  });

  it('fails a body shorter than its Content-Length after its attempts, saving nothing', async () => {
    origin.addFile('short.safetensors', 100_000);
    const res = await fetchModel({
      kind: 'lora',
      name: 'short',
      url: `${origin.url}/files/short.safetensors?wrongLength=1`,
    });
    expect(res.status).toBe(502);
    expect(['SIZE_MISMATCH', 'NETWORK_ERROR']).toContain(res.body.error.code);
    expect(origin.hitCount('/files/short.safetensors')).toBe(4); // DOWNLOAD_ATTEMPTS
    expectNothingSaved(svc, 'lora', 'short');
  });

  it('sends Authorization only to its own host: a redirect to another host gets none', async () => {
    const file = origin.addFile('private.safetensors', 20_000);
    const target = `${origin.otherHostUrl}/files/private.safetensors`;
    const res = await fetchModel({
      kind: 'lora',
      name: 'private',
      url: `${origin.url}/redirect/private.safetensors?to=${encodeURIComponent(target)}`,
      sha256: file.sha256,
    });
    expect(res.body.status).toBe('completed');
    const hops = origin.requests.filter((r) => r.path.endsWith('/private.safetensors'));
    expect(hops.map((h) => [h.headers.host, h.headers.authorization])).toEqual([
      [new URL(origin.url).host, 'Bearer mirror-secret'],
      [new URL(origin.otherHostUrl).host, undefined],
    ]);
  });

  it('sends no token after a redirect has left the starting host, even when it comes back', async () => {
    const file = origin.addFile('roundtrip.safetensors', 20_000);
    const back = `${origin.url}/files/roundtrip.safetensors`;
    const away = `${origin.otherHostUrl}/redirect/roundtrip.safetensors?to=${encodeURIComponent(back)}`;
    const res = await fetchModel({
      kind: 'lora',
      name: 'roundtrip',
      url: `${origin.url}/redirect/roundtrip.safetensors?to=${encodeURIComponent(away)}`,
      sha256: file.sha256,
    });
    expect(res.body.status).toBe('completed');
    const hops = origin.requests.filter((r) => r.path.endsWith('/roundtrip.safetensors'));
    expect(hops.map((h) => h.headers.authorization)).toEqual(['Bearer mirror-secret', undefined, undefined]);
  });

  it('starts over when the ETag changed between attempts, and when the origin ignores Range', async () => {
    const size = 2 * MiB;
    const changed = origin.addFile('changed.safetensors', size);
    const a = await fetchModel({
      kind: 'lora',
      name: 'changed',
      url: `${origin.url}/files/changed.safetensors?etagChanges=1&resetAt=${size / 2}`,
      sha256: changed.sha256,
    });
    expect(a.body).toMatchObject({ status: 'completed', model: { sha256: changed.sha256 } });
    const retry = origin.requests.filter((r) => r.path === '/files/changed.safetensors')[1]!;
    expect(retry.headers['if-range']).toBeTruthy();
    expect(retry.status).toBe(200);

    const ignored = origin.addFile('norange.safetensors', size);
    const b = await fetchModel({
      kind: 'lora',
      name: 'norange',
      url: `${origin.url}/files/norange.safetensors?noRange=1&resetAt=${size / 2}`,
      sha256: ignored.sha256,
    });
    expect(b.body).toMatchObject({ status: 'completed', model: { sha256: ignored.sha256, fileSize: size } });
    expect(origin.sent('norange.safetensors')).toBe(size * 1.5);
  });

  it('re-resolves an expired redirect target from the original URL', async () => {
    const file = origin.addFile('signed.safetensors', 30_000);
    // The storage host is another host than the one asked (as Civitai redirects to signed storage URLs).
    const expiring = encodeURIComponent(`${origin.otherHostUrl}/files/signed.safetensors?failFirst=1&failStatus=403`);
    const res = await fetchModel({
      kind: 'lora',
      name: 'signed',
      url: `${origin.url}/redirect/signed.safetensors?to=${expiring}`,
      sha256: file.sha256,
    });
    expect(res.body.status).toBe('completed');
    expect(origin.hitCount('/redirect/signed.safetensors')).toBe(2);

    // A 403 behind a redirect on the same host is a real refusal: FORBIDDEN, not retried.
    const sameHost = encodeURIComponent('/files/signed.safetensors?failFirst=9&failStatus=403');
    const refused = await fetchModel({
      kind: 'lora',
      name: 'refused',
      url: `${origin.url}/redirect/signed.safetensors?to=${sameHost}&x=1`,
    });
    expect(refused.body.error.code).toBe('FORBIDDEN');
  });

  it('moves on to a mirror when the first source is missing, and records the URL that worked', async () => {
    const file = origin.addFile('mirrored.safetensors', 30_000);
    const mirror = `${origin.url}/files/mirrored.safetensors`;
    const res = await fetchModel({
      kind: 'lora',
      name: 'mirrored',
      url: `${origin.url}/files/gone.safetensors`,
      mirrors: [mirror],
      sha256: file.sha256,
    });
    expect(res.body).toMatchObject({ status: 'completed', model: { url: mirror } });
    expect(registryOf(svc.modelsDir).loras.mirrored.url).toBe(mirror);
  });

  it('skips a mirror that answers a login page, and fails with the last error when no source is left', async () => {
    const file = origin.addFile('walled.safetensors', 30_000);
    const good = `${origin.url}/files/walled.safetensors`;
    const res = await fetchModel({
      kind: 'lora',
      name: 'walled',
      url: `${origin.url}/files/walled.safetensors?html=1`,
      mirrors: [good],
      sha256: file.sha256,
    });
    expect(res.body).toMatchObject({ status: 'completed', model: { url: good } });

    const none = await fetchModel({
      kind: 'lora',
      name: 'nowhere',
      url: `${origin.url}/status/404`,
      mirrors: [`${origin.url}/status/401`],
    });
    expect(none.body.error.code).toBe('AUTH_REQUIRED');
    expect(origin.hitCount('/status/404')).toBe(1);
    expectNothingSaved(svc, 'lora', 'nowhere');
  });

  it('keeps a ?token= out of the job, the registry, the answers and the logs, yet sends it to the origin', async () => {
    const file = origin.addFile('tokened.safetensors', 10_000);
    const res = await fetchModel({
      kind: 'lora',
      name: 'tokened',
      url: `${origin.url}/files/tokened.safetensors?token=s3cr3t-t0ken&type=Model`,
      sha256: file.sha256,
    });
    expect(res.body.status).toBe('completed');
    expect(origin.requests.find((r) => r.path === '/files/tokened.safetensors')?.url).toContain('token=s3cr3t-t0ken');
    const job = await call(svc.apiUrl, 'GET', `/v1/jobs/${res.body.jobId}`);
    const board = await call(
      svc.apiUrl,
      'GET',
      '/admin/queues/api/queues?activeQueue=model-fetch&status=completed&page=1&jobsPerPage=50',
    );
    const registry = readFileSync(path.join(svc.modelsDir, 'cache_registry.json'), 'utf8');
    for (const text of [
      JSON.stringify(res.body),
      JSON.stringify(job.body),
      JSON.stringify(board.body),
      registry,
      ...svc.api.logs,
      ...svc.worker.logs,
    ]) {
      expect(text).not.toContain('s3cr3t-t0ken');
    }
    expect(registryOf(svc.modelsDir).loras.tokened.url).toBe(`${origin.url}/files/tokened.safetensors?type=Model`);

    // A token is kept (under its own key, for the worker) only for an item that will download.
    const other = origin.addFile('tokened-other.safetensors', 10_000);
    const batch = await call(svc.apiUrl, 'POST', '/v1/batches', {
      items: [
        { kind: 'lora', name: 'tokened', url: `${origin.url}/files/tokened.safetensors?token=cached-t0ken&type=Model` },
        {
          kind: 'lora',
          name: 'tokened-other',
          url: `${origin.url}/files/tokened-other.safetensors?token=new-t0ken`,
          sha256: other.sha256,
        },
      ],
    });
    expect(batch.body.jobs.map((j: { status: string }) => j.status)).toEqual([
      'cached',
      expect.stringMatching(/queued|active|completed/),
    ]);
    const redis = new Redis(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379');
    try {
      const kept = await redis.mget(
        urlTokenKey(svc.prefix, `${origin.url}/files/tokened.safetensors?type=Model`),
        urlTokenKey(svc.prefix, `${origin.url}/files/tokened-other.safetensors`),
      );
      // The cached item's token was not kept: the key still holds the one its download used.
      expect(kept).toEqual(['s3cr3t-t0ken', 'new-t0ken']);
    } finally {
      redis.disconnect();
    }
  });

  it('links the same content under another name instead of downloading it again', async () => {
    const file = origin.addFile('original.safetensors', 40_000);
    const first = await fetchModel({
      kind: 'lora',
      name: 'original',
      url: `${origin.url}/files/original.safetensors`,
      sha256: file.sha256,
    });
    const twin = await fetchModel({
      kind: 'checkpoint',
      name: 'twin',
      url: `${origin.url}/files/never-asked.safetensors`,
      sha256: file.sha256.toUpperCase(),
    });
    // Known before queueing (the sha256 given): answered at once, with no job.
    expect(twin.body).toMatchObject({
      status: 'linked',
      verified: true,
      model: { sha256: file.sha256, path: path.join(svc.modelsDir, 'checkpoints', 'twin.safetensors') },
    });
    expect(twin.body.jobId).toBeUndefined();
    expect(origin.hitCount('/files/never-asked.safetensors')).toBe(0);
    expect(statSync(twin.body.model.path).ino).toBe(statSync(first.body.model.path).ino);
  });
});

describe('disk space', () => {
  const origin = new TestOrigin();
  beforeAll(() => origin.start());
  afterAll(() => origin.close());

  it('refuses a download that would eat into MIN_FREE_BYTES before writing a byte', async () => {
    const svc = await startService('diskfull', { MIN_FREE_BYTES: String(1024 ** 5) });
    try {
      origin.addFile('huge.safetensors', 100_000);
      const res = await call(svc.apiUrl, 'POST', '/v1/fetch?wait=30', {
        kind: 'checkpoint',
        name: 'huge',
        url: `${origin.url}/files/huge.safetensors`,
      });
      expect(res.body.error.code).toBe('DISK_FULL');
      expect(res.body.error.message).toMatch(/MIN_FREE_BYTES/);
      expect(origin.hitCount('/files/huge.safetensors')).toBe(1);
      expectNothingSaved(svc, 'checkpoint', 'huge');
    } finally {
      await svc.stop();
    }
  });
});
