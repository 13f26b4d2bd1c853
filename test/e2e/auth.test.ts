import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  REDIS_URL,
  dropPrefix,
  startApp,
  startService,
  tempModelsDir,
  uniquePrefix,
  type Service,
} from '../support/service.js';

const TOKEN = 'full-access-token-0123456789';
const READ_ONLY = 'read-only-token-0123456789';

/** A request with optional headers, following no redirect. */
async function send(base: string, method: string, route: string, headers: Record<string, string> = {}, body?: string) {
  const res = await fetch(`${base}${route}`, { method, headers, body, redirect: 'manual' });
  const text = await res.text();
  let json: any = null;
  try {
    json = JSON.parse(text);
  } catch {
    /* html or empty */
  }
  return { status: res.status, headers: res.headers, text, json };
}

describe('who may do what (API_TOKEN, API_TOKENS_READONLY)', () => {
  let svc: Service;
  const bearer = (t: string) => ({ authorization: `Bearer ${t}` });

  beforeAll(async () => {
    svc = await startService('auth', {
      API_TOKEN: TOKEN,
      API_TOKENS_READONLY: `${READ_ONLY},second-read-only-token-01`,
    });
  });
  afterAll(() => svc?.stop());

  it('keeps the health probes open and asks for a token everywhere else', async () => {
    expect((await send(svc.apiUrl, 'GET', '/healthz')).status).toBe(200);
    expect((await send(svc.apiUrl, 'GET', '/readyz')).status).toBe(200);
    for (const [method, route] of [
      ['GET', '/v1/models'],
      ['POST', '/v1/fetch'],
      ['GET', '/v1/stats'],
      ['POST', '/v1/cleanup'],
      ['GET', '/admin/queues/api/queues'],
      ['GET', '/metrics'],
    ]) {
      const res = await send(svc.apiUrl, method!, route!);
      expect(res.status, `${method} ${route}`).toBe(401);
      expect(res.json.error.code).toBe('UNAUTHORIZED');
      expect(res.headers.get('www-authenticate')).toMatch(/^Bearer/);
    }
    const wrong = await send(svc.apiUrl, 'GET', '/v1/models', bearer(`${TOKEN}x`));
    expect(wrong.status).toBe(401);
    expect(wrong.json.error.message).toBe('the token is not valid');
    expect((await send(svc.apiUrl, 'GET', '/v1/models', bearer(TOKEN))).status).toBe(200);
  });

  it('lets a read-only token read, and nothing else', async () => {
    expect((await send(svc.apiUrl, 'GET', '/v1/models', bearer(READ_ONLY))).status).toBe(200);
    expect((await send(svc.apiUrl, 'GET', '/v1/stats', bearer('second-read-only-token-01'))).status).toBe(200);
    const write = await send(
      svc.apiUrl,
      'POST',
      '/v1/cleanup',
      { ...bearer(READ_ONLY), 'content-type': 'application/json' },
      '{"dryRun":true}',
    );
    expect(write.status).toBe(403);
    expect(write.json.error.code).toBe('READ_ONLY_TOKEN');
    expect((await send(svc.apiUrl, 'DELETE', '/v1/models/lora/x', bearer(READ_ONLY))).status).toBe(403);
    expect(
      (await send(svc.apiUrl, 'PUT', '/admin/queues/api/queues/model-fetch/pause', bearer(READ_ONLY))).status,
    ).toBe(403);
    expect(
      (
        await send(
          svc.apiUrl,
          'POST',
          '/v1/cleanup',
          { ...bearer(TOKEN), 'content-type': 'application/json' },
          '{"dryRun":true}',
        )
      ).status,
    ).toBe(200);
  });

  it('lets a browser into the dashboard through a login that sets an HttpOnly, SameSite=Strict cookie', async () => {
    const page = await send(svc.apiUrl, 'GET', '/admin/queues');
    expect(page.status).toBe(303);
    expect(page.headers.get('location')).toBe('/admin/queues/login');
    const form = { 'content-type': 'application/x-www-form-urlencoded' };
    const refused = await send(svc.apiUrl, 'POST', '/admin/queues/login', form, 'token=not-the-token-at-all');
    expect(refused.status).toBe(401);
    expect(refused.headers.get('set-cookie')).toBeNull();

    const login = await send(svc.apiUrl, 'POST', '/admin/queues/login', form, `token=${encodeURIComponent(TOKEN)}`);
    expect(login.status).toBe(303);
    const cookie = login.headers.get('set-cookie')!;
    expect(cookie).toMatch(/HttpOnly/i);
    expect(cookie).toMatch(/SameSite=Strict/i);
    expect(cookie).toMatch(/Path=\/admin\/queues/);
    expect(cookie).not.toContain(TOKEN); // the cookie is derived from the token, not the token
    const session = cookie.split(';')[0]!;
    expect((await send(svc.apiUrl, 'GET', '/admin/queues/api/queues', { cookie: session })).status).toBe(200);
    // The session opens the dashboard only, not the API.
    expect((await send(svc.apiUrl, 'GET', '/v1/models', { cookie: session })).status).toBe(401);

    const readOnly = await send(svc.apiUrl, 'POST', '/admin/queues/login', form, `token=${READ_ONLY}`);
    const readSession = readOnly.headers.get('set-cookie')!.split(';')[0]!;
    expect((await send(svc.apiUrl, 'GET', '/admin/queues/api/queues', { cookie: readSession })).status).toBe(200);
    expect(
      (await send(svc.apiUrl, 'PUT', '/admin/queues/api/queues/model-fetch/pause', { cookie: readSession })).status,
    ).toBe(403);
  });

  it('never writes a token to its logs', async () => {
    await send(svc.apiUrl, 'GET', '/v1/models', bearer(TOKEN));
    const logs = svc.api.logs.join('\n');
    expect(logs).toContain('"path":"/v1/models"');
    for (const secret of [TOKEN, READ_ONLY]) expect(logs).not.toContain(secret);
  });
});

describe('rate limit (RATE_LIMIT_PER_MINUTE)', () => {
  let svc: Service;
  beforeAll(async () => {
    svc = await startService('ratelimit', {
      API_TOKEN: TOKEN,
      API_TOKENS_READONLY: READ_ONLY,
      RATE_LIMIT_PER_MINUTE: '5',
    });
  });
  afterAll(() => svc?.stop());

  it('answers 429 with Retry-After once a token used its minute, other tokens and the probes unaffected', async () => {
    // The limit counts per clock minute: start well inside one, so six requests share it.
    const intoMinute = Date.now() % 60_000;
    if (intoMinute > 50_000) await new Promise((r) => setTimeout(r, 60_000 - intoMinute + 100));
    const statuses: number[] = [];
    for (let i = 0; i < 5; i++)
      statuses.push((await send(svc.apiUrl, 'GET', '/v1/models', { authorization: `Bearer ${TOKEN}` })).status);
    expect(statuses).toEqual([200, 200, 200, 200, 200]);
    const limited = await send(svc.apiUrl, 'GET', '/v1/models', { authorization: `Bearer ${TOKEN}` });
    expect(limited.status).toBe(429);
    expect(limited.json.error.code).toBe('RATE_LIMITED');
    const retryAfter = Number(limited.headers.get('retry-after'));
    expect(retryAfter).toBeGreaterThanOrEqual(1);
    expect(retryAfter).toBeLessThanOrEqual(60);
    expect((await send(svc.apiUrl, 'GET', '/v1/models', { authorization: `Bearer ${READ_ONLY}` })).status).toBe(200);
    expect((await send(svc.apiUrl, 'GET', '/healthz')).status).toBe(200);
    expect(svc.api.logs.join('\n')).not.toContain(TOKEN);
  });

  it('slows down an address that keeps failing to authenticate, whatever token it tries next', async () => {
    const intoMinute = Date.now() % 60_000;
    if (intoMinute > 50_000) await new Promise((r) => setTimeout(r, 60_000 - intoMinute + 100));
    const form = { 'content-type': 'application/x-www-form-urlencoded' };
    const failures: number[] = [];
    for (let i = 0; i < 3; i++)
      failures.push(
        (await send(svc.apiUrl, 'GET', '/v1/models', { authorization: `Bearer guess-${i}-0123456789abcdef` })).status,
      );
    for (let i = 0; i < 2; i++)
      failures.push(
        (await send(svc.apiUrl, 'POST', '/admin/queues/login', form, `token=guess-${i}-0123456789abcdef`)).status,
      );
    expect(failures).toEqual([401, 401, 401, 401, 401]);
    // Counting is asynchronous: the sixth guess is refused once the five are in.
    await expect
      .poll(
        async () =>
          (await send(svc.apiUrl, 'GET', '/v1/models', { authorization: 'Bearer guess-6-0123456789abcdef' })).status,
      )
      .toBe(429);
    const blocked = await send(svc.apiUrl, 'POST', '/admin/queues/login', form, `token=${TOKEN}`);
    expect(blocked.status).toBe(429);
    expect(blocked.json.error.code).toBe('RATE_LIMITED');
    expect(Number(blocked.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    expect((await send(svc.apiUrl, 'GET', '/healthz')).status).toBe(200);
  });
});

describe('binding', () => {
  const exitOf = async (env: Record<string, string>) => {
    const volume = tempModelsDir();
    const prefix = uniquePrefix('bind');
    const api = startApp('api', { REDIS_URL, QUEUE_PREFIX: prefix, MODELS_DIR: volume.dir, PORT: '0', ...env });
    const outcome = await Promise.race([
      new Promise<{ code: number | null }>((resolve) => api.child.once('exit', (code) => resolve({ code }))),
      api.waitForLog('api listening').then(() => ({ code: 'listening' as const })),
    ]);
    if (outcome.code === 'listening') await api.stop();
    volume.remove();
    await dropPrefix(prefix);
    return { ...outcome, output: api.logs.join('\n') };
  };

  it('refuses a public address without API_TOKEN, saying why and what to set', async () => {
    const refused = await exitOf({ HOST: '0.0.0.0' });
    expect(refused.code).toBe(1);
    expect(refused.output).toMatch(/HOST=0\.0\.0\.0 would let anyone .* set API_TOKEN .* ALLOW_UNAUTHENTICATED=true/s);
    expect((await exitOf({ HOST: '0.0.0.0', API_TOKEN: TOKEN })).code).toBe('listening');
    expect((await exitOf({ HOST: '0.0.0.0', ALLOW_UNAUTHENTICATED: 'true' })).code).toBe('listening');
    expect((await exitOf({ HOST: '127.0.0.1' })).code).toBe('listening');
  });

  it('refuses a token too short to be one, without printing it', async () => {
    const { code, output } = await exitOf({ API_TOKEN: 'short-secret' });
    expect(code).toBe(1);
    expect(output).toContain('API_TOKEN=(hidden): must be at least 16 characters');
    expect(output).not.toContain('short-secret');
  });
});
