import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type FakeFile, FakeStorage, fakeFile, safetensorsOf } from '@model-manager/fake-hosts';

const sha256 = (b: ArrayBuffer | Buffer) =>
  createHash('sha256')
    .update(Buffer.from(b as ArrayBuffer))
    .digest('hex');

describe('FakeStorage', () => {
  let storage: FakeStorage;
  let file: FakeFile;
  beforeAll(async () => {
    storage = await new FakeStorage().start();
    file = fakeFile('model one.safetensors', safetensorsOf(300_000));
  });
  afterAll(() => storage.close());

  it('serves the whole file with ETag, Accept-Ranges, Content-Length and Content-Disposition', async () => {
    const url = storage.signedUrl(file);
    expect(url).toMatch(new RegExp(`^${storage.url}/blob/[0-9a-f]+\\?expires=\\d+&sig=[0-9a-f]{64}$`));
    const res = await fetch(url);
    expect(res.status).toBe(200);
    expect(res.headers.get('accept-ranges')).toBe('bytes');
    expect(res.headers.get('etag')).toMatch(/^"[0-9a-f]{32}"$/);
    expect(res.headers.get('content-length')).toBe(String(file.size));
    expect(res.headers.get('content-type')).toBe('application/octet-stream');
    expect(res.headers.get('content-disposition')).toBe('attachment; filename="model one.safetensors"');
    expect(sha256(await res.arrayBuffer())).toBe(file.sha256);
    expect(storage.bytesSent(file.name)).toBe(file.size);
  });

  it('answers ranges with 206 and Content-Range, honouring If-Range only with the ETag', async () => {
    const url = storage.signedUrl(file);
    const etag = (await fetch(url, { method: 'HEAD' })).headers.get('etag')!;
    const piece = await fetch(url, { headers: { range: 'bytes=100-199' } });
    expect(piece.status).toBe(206);
    expect(piece.headers.get('content-range')).toBe(`bytes 100-199/${file.size}`);
    expect(Buffer.from(await piece.arrayBuffer())).toEqual(file.body.subarray(100, 200));
    const tail = await fetch(url, { headers: { range: 'bytes=299000-', 'if-range': etag } });
    expect(tail.status).toBe(206);
    expect(tail.headers.get('content-range')).toBe(`bytes 299000-299999/${file.size}`);
    expect((await tail.arrayBuffer()).byteLength).toBe(1000);
    const suffix = await fetch(url, { headers: { range: 'bytes=-10' } });
    expect(Buffer.from(await suffix.arrayBuffer())).toEqual(file.body.subarray(-10));
    const stale = await fetch(url, { headers: { range: 'bytes=100-', 'if-range': '"other"' } });
    expect(stale.status).toBe(200);
    expect((await stale.arrayBuffer()).byteLength).toBe(file.size);
    const past = await fetch(url, { headers: { range: `bytes=${file.size}-` } });
    expect(past.status).toBe(416);
    expect(past.headers.get('content-range')).toBe(`bytes */${file.size}`);
  });

  it('refuses an expired or altered URL with 403 and an S3 error body', async () => {
    const expired = storage.signedUrl(file, -1);
    const res = await fetch(expired);
    expect(res.status).toBe(403);
    expect(await res.text()).toContain('<Code>AccessDenied</Code><Message>Request has expired</Message>');
    const forged = storage.signedUrl(file).replace(/expires=\d+/, `expires=${Date.now() + 10 ** 9}`);
    const bad = await fetch(forged);
    expect(bad.status).toBe(403);
    expect(await bad.text()).toContain('SignatureDoesNotMatch');
    expect((await fetch(`${storage.url}/blob/abc`)).status).toBe(403);
  });

  it('expires a URL after its time to live', async () => {
    const url = storage.signedUrl(file, 150);
    expect((await fetch(url, { method: 'HEAD' })).status).toBe(200);
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect((await fetch(url, { method: 'HEAD' })).status).toBe(403);
  });

  it('serves tampered bytes under a new ETag when told to', async () => {
    const other = fakeFile('tampered.safetensors', safetensorsOf(5000, 'a'));
    const before = (await fetch(storage.signedUrl(other), { method: 'HEAD' })).headers.get('etag');
    storage.tamper(other, safetensorsOf(5000, 'b'));
    const res = await fetch(storage.signedUrl(other));
    expect(sha256(await res.arrayBuffer())).not.toBe(other.sha256);
    expect(res.headers.get('etag')).not.toBe(before);
  });

  it('names a file outside ASCII with an ASCII fallback and filename*', async () => {
    const named = fakeFile('水彩画 "x".safetensors', safetensorsOf(1000));
    const res = await fetch(storage.signedUrl(named), { method: 'HEAD' });
    expect(res.headers.get('content-disposition')).toBe(
      `attachment; filename="___ _x_.safetensors"; filename*=UTF-8''${encodeURIComponent('水彩画 "x".safetensors')}`,
    );
  });

  it('records every request with its range and status', async () => {
    const url = storage.signedUrl(file);
    const before = storage.requests.length;
    await (await fetch(url, { headers: { range: 'bytes=0-9' } })).arrayBuffer();
    const last = storage.requests.at(-1)!;
    expect(storage.requests.length).toBe(before + 1);
    expect(last).toMatchObject({ method: 'GET', range: 'bytes=0-9', status: 206, name: file.name });
    expect(last.path).toMatch(/^\/blob\/[0-9a-f]+$/);
    expect(last.at).toBeLessThanOrEqual(Date.now());
  });
});
