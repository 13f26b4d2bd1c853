import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { Redis } from 'ioredis';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { createApp, ServiceContext } from '@model-manager/api';
import { startInProcessApi, type InProcessApi } from '../../../test/support/in-process-api.js';
import { REDIS_URL } from '../../../test/support/service.js';

const ok = { kind: 'lora', name: 'fine', url: 'https://example.invalid/fine.safetensors' };
const hex = 'ab'.repeat(32);

/** [label, method, path, body, field the error must name] */
const badRequests: Array<[string, 'post' | 'get' | 'delete', string, unknown, string]> = [
  ['unknown kind', 'post', '/v1/fetch', { ...ok, kind: 'vae' }, 'kind'],
  [
    'missing name, and a URL that names no file',
    'post',
    '/v1/fetch',
    { kind: 'lora', url: 'https://example.invalid/download?id=3' },
    'name',
  ],
  ['neither url nor source', 'post', '/v1/fetch', { kind: 'lora', name: 'fine' }, 'url'],
  ['both url and source', 'post', '/v1/fetch', { ...ok, source: 'civitai:135867' }, 'url'],
  ['a source that is no reference', 'post', '/v1/fetch', { kind: 'lora', source: 'civitai:abc' }, 'source'],
  [
    'an AIR without its version',
    'post',
    '/v1/fetch',
    { kind: 'lora', source: 'urn:air:sdxl:lora:civitai:122359' },
    'source',
  ],
  [
    'a batch item naming no file',
    'post',
    '/v1/batches',
    { items: [ok, { kind: 'lora', source: 'hf:only-owner' }] },
    'items.1.source',
  ],
  ['empty name', 'post', '/v1/fetch', { ...ok, name: '' }, 'name'],
  ['path-like name', 'post', '/v1/fetch', { ...ok, name: '../../etc/passwd' }, 'name'],
  ['slash in name', 'post', '/v1/fetch', { ...ok, name: 'a/b' }, 'name'],
  ['backslash in name', 'post', '/v1/fetch', { ...ok, name: 'a\\b' }, 'name'],
  ['name ".."', 'post', '/v1/fetch', { ...ok, name: '..' }, 'name'],
  ['trailing dot', 'post', '/v1/fetch', { ...ok, name: 'v2.' }, 'name'],
  ['newline in name', 'post', '/v1/fetch', { ...ok, name: 'a\nb' }, 'name'],
  ['reserved name', 'post', '/v1/fetch', { ...ok, name: 'constructor' }, 'name'],
  ['leading dot', 'post', '/v1/fetch', { ...ok, name: '.hidden' }, 'name'],
  ['NUL in name', 'post', '/v1/fetch', { ...ok, name: 'a\u0000b' }, 'name'],
  ['overlong name', 'post', '/v1/fetch', { ...ok, name: 'x'.repeat(201) }, 'name'],
  ['overlong name in UTF-8 bytes', 'post', '/v1/fetch', { ...ok, name: '風'.repeat(67) }, 'name'],
  ['name of spaces', 'post', '/v1/fetch', { ...ok, name: '   ' }, 'name'],
  ['trailing space', 'post', '/v1/fetch', { ...ok, name: 'trail ' }, 'name'],
  ['URL with spaces around it', 'post', '/v1/fetch', { ...ok, url: ` ${ok.url} ` }, 'url'],
  ['bad mirror', 'post', '/v1/fetch', { ...ok, mirrors: ['ftp://x/y'] }, 'mirrors.0'],
  ['file URL', 'post', '/v1/fetch', { ...ok, url: 'file:///etc/passwd' }, 'url'],
  ['ftp URL', 'post', '/v1/fetch', { ...ok, url: 'ftp://host/x' }, 'url'],
  ['relative URL', 'post', '/v1/fetch', { ...ok, url: '/x.safetensors' }, 'url'],
  ['short sha256', 'post', '/v1/fetch', { ...ok, sha256: 'abc' }, 'sha256'],
  ['non-hex sha256', 'post', '/v1/fetch', { ...ok, sha256: 'z'.repeat(64) }, 'sha256'],
  ['unknown field', 'post', '/v1/fetch', { ...ok, sha265: hex }, ''],
  ['array body', 'post', '/v1/fetch', [ok], 'body'],
  ['wait too long', 'post', '/v1/fetch?wait=3601', ok, 'wait'],
  ['wait not a number', 'post', '/v1/fetch?wait=soon', ok, 'wait'],
  ['negative wait', 'get', '/v1/jobs/1?wait=-1', undefined, 'wait'],
  ['empty batch', 'post', '/v1/batches', { items: [] }, 'items'],
  [
    'batch over 1000',
    'post',
    '/v1/batches',
    { items: Array.from({ length: 1001 }, (_, i) => ({ ...ok, name: `m${i}` })) },
    'items',
  ],
  ['bad item in batch', 'post', '/v1/batches', { items: [ok, { ...ok, name: 'b', url: 'gopher://x' }] }, 'items.1.url'],
  [
    'same name, other url in one batch',
    'post',
    '/v1/batches',
    { items: [ok, { ...ok, url: 'https://example.invalid/other' }] },
    'items.1',
  ],
  [
    'prepare lora without scale number',
    'post',
    '/v1/prepare',
    { loras: [{ name: 'a', url: ok.url, scale: 'big' }] },
    'loras.0.scale',
  ],
  ['prepare checkpoint of wrong kind', 'post', '/v1/prepare', { checkpoint: { ...ok } }, 'checkpoint.kind'],
  ['models: unknown kind', 'get', '/v1/models?kind=vae', undefined, 'kind'],
  ['model: bad name', 'get', '/v1/models/lora/..%2F..%2Fetc', undefined, 'name'],
  ['model: encoded slash', 'get', '/v1/models/lora/a%2Fb', undefined, 'name'],
  ['delete: bad kind', 'delete', '/v1/models/vae/x', undefined, 'kind'],
  ['cleanup: negative age', 'post', '/v1/cleanup', { maxAgeDays: -1 }, 'maxAgeDays'],
  ['cleanup: quota not a boolean', 'post', '/v1/cleanup', { quota: 'yes' }, 'quota'],
  ['fetch: lease not a boolean', 'post', '/v1/fetch', { ...ok, lease: 1 }, 'lease'],
  ['pin: bad kind', 'post', '/v1/models/vae/x/pin', {}, 'kind'],
  ['lease: zero seconds', 'post', '/v1/leases/abc', { seconds: 0 }, 'seconds'],
];

describe('bad input never reaches the queue or the disk', () => {
  let api: InProcessApi;
  let ctx: ServiceContext;
  let app: ReturnType<typeof createApp>;

  beforeAll(async () => {
    api = await startInProcessApi('validation');
    ({ ctx, app } = api);
  });
  afterAll(() => api?.close());

  it.each(badRequests)('%s is answered 400 naming the field', async (_label, method, route, body, field) => {
    const res = await request(app)
      [method](route)
      .send(body as object);
    expect(res.status).toBe(400);
    expect(res.body.error.code).toBe('INVALID_REQUEST');
    expect(typeof res.body.error.message).toBe('string');
    if (field) expect(res.body.error.details.map((d: { field: string }) => d.field)).toContain(field);
  });

  it('answers malformed JSON 400, a body over 1 MiB 413, an unknown route 404, all in the error shape', async () => {
    const malformed = await request(app).post('/v1/fetch').set('content-type', 'application/json').send('{"kind":');
    expect(malformed.status).toBe(400);
    expect(malformed.body.error.code).toBe('INVALID_REQUEST');
    expect(malformed.body.error.details).toEqual([{ field: 'body', message: expect.any(String) }]);

    const huge = await request(app)
      .post('/v1/batches')
      .set('content-type', 'application/json')
      .send(JSON.stringify({ items: [{ ...ok, name: 'x'.repeat(1024 * 1024) }] }));
    expect(huge.status).toBe(413);
    expect(huge.body.error.code).toBe('PAYLOAD_TOO_LARGE');

    const notJson = await request(app).post('/v1/fetch').set('content-type', 'text/plain').send('kind=lora');
    expect(notJson.status).toBe(400);

    // A body that is not JSON is never read as `{}`: cleanup's defaults would delete models.
    const formCleanup = await request(app).post('/v1/cleanup').type('form').send('dryRun=true');
    expect(formCleanup.status).toBe(400);
    expect(formCleanup.body.error.details[0].field).toBe('body');
    const emptyCleanup = await request(app).post('/v1/cleanup');
    expect(emptyCleanup.status).toBe(200); // no body at all: the documented defaults

    const unknown = await request(app).get('/v2/whatever');
    expect(unknown.status).toBe(404);
    expect(unknown.body).toEqual({ error: { code: 'NOT_FOUND', message: expect.any(String) } });
  });

  it('left nothing in the queue and nothing on the volume', async () => {
    const counts = await ctx.queue.getJobCounts();
    expect(Object.values(counts).every((n) => n === 0)).toBe(true);
    for (const dir of ['checkpoints', 'loras', 'embeddings', '.incoming']) {
      expect(readdirSync(path.join(api.modelsDir, dir))).toEqual([]);
    }
    expect(existsSync(path.join(api.modelsDir, 'cache_registry.json'))).toBe(false);
  });

  it('answers a lookup of an absent model 404', async () => {
    const res = await request(app).get('/v1/models/lora/absent');
    expect(res.status).toBe(404);
    expect(res.body.error.code).toBe('NOT_FOUND');
  });
});

describe('shutdown', () => {
  it('closes every Redis connection it opened', async () => {
    const api = await startInProcessApi('shutdown');
    const observer = new Redis(REDIS_URL);
    const ours = async () =>
      ((await observer.client('LIST')) as string).split('\n').filter((line) => line.includes(` name=${api.prefix}:`))
        .length;
    try {
      await request(api.app).get('/v1/stats').expect(200);
      expect(await ours()).toBeGreaterThanOrEqual(2);
      await api.ctx.close();
      await expect.poll(ours, { timeout: 5000 }).toBe(0);
    } finally {
      observer.disconnect();
      await api.close();
    }
  });
});
