import { readdirSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TestOrigin } from '../support/origin.js';
import { call, startService, type Service } from '../support/service.js';
import { MODEL_FOLDERS } from '../support/volume.js';

/** Nothing was written to the volume: no model file, no registry. */
const volumeUntouched = (svc: Service) =>
  expect(MODEL_FOLDERS.flatMap((d) => readdirSync(path.join(svc.modelsDir, d)))).toEqual([]);

describe('where downloads may come from', () => {
  const origin = new TestOrigin();
  beforeAll(() => origin.start());
  afterAll(() => origin.close());

  describe('with the origin allowed by name only (ALLOWED_HOSTS=localhost, private networks closed)', () => {
    let svc: Service;
    beforeAll(async () => {
      svc = await startService('policy-closed', {
        ALLOWED_HOSTS: 'localhost',
        ALLOW_PRIVATE_NETWORKS: 'false',
        DOWNLOAD_ATTEMPTS: '3',
      });
    });
    afterAll(() => svc?.stop());

    it('refuses hosts off the list and private addresses at the API with 400, naming the field', async () => {
      origin.addFile('x.safetensors', 1000);
      const offList = await call(svc.apiUrl, 'POST', '/v1/fetch', {
        kind: 'lora',
        name: 'x',
        url: 'https://example.com/x.safetensors',
      });
      expect(offList.status).toBe(400);
      expect(offList.body.error).toMatchObject({
        code: 'HOST_NOT_ALLOWED',
        details: [{ field: 'url', message: 'host example.com is not in ALLOWED_HOSTS' }],
      });

      const mirror = await call(svc.apiUrl, 'POST', '/v1/batches', {
        items: [
          {
            kind: 'lora',
            name: 'x',
            url: `${origin.otherHostUrl}/files/x.safetensors`,
            mirrors: [`${origin.otherHostUrl}/files/x.safetensors`, 'http://[::ffff:169.254.169.254]/latest'],
          },
        ],
      });
      expect(mirror.status).toBe(400);
      expect(mirror.body.error.details).toEqual([
        { field: 'items.0.mirrors.1', message: expect.stringContaining('not in ALLOWED_HOSTS') },
      ]);

      const metadata = await call(svc.apiUrl, 'POST', '/v1/prepare', {
        checkpoint: { name: 'c', url: 'http://169.254.169.254/latest/meta-data' },
      });
      expect(metadata.status).toBe(400);
      expect(metadata.body.error.details[0].field).toBe('checkpoint.url');
      for (const url of ['file:///etc/passwd', 'gopher://localhost:6379/_PING']) {
        expect((await call(svc.apiUrl, 'POST', '/v1/fetch', { kind: 'lora', name: 'x', url })).status).toBe(400);
      }
      volumeUntouched(svc);
    });

    it('refuses a name that resolves to a private address after DNS, without connecting', async () => {
      origin.addFile('behind-dns.safetensors', 1000);
      const before = origin.requests.length;
      const res = await call(svc.apiUrl, 'POST', '/v1/fetch?wait=30', {
        kind: 'lora',
        name: 'behind-dns',
        url: `${origin.otherHostUrl}/files/behind-dns.safetensors`,
      });
      expect(res.body.status).toBe('failed');
      expect(res.body.error.code).toBe('PRIVATE_ADDRESS');
      expect(res.body.error.message).toMatch(/localhost resolves to .*127\.0\.0\.1|::1/);
      expect(origin.requests.length).toBe(before); // never connected
      volumeUntouched(svc);
    });
  });

  describe('with loopback allowed but only one host name (ALLOWED_HOSTS=127.0.0.1)', () => {
    let svc: Service;
    beforeAll(async () => {
      svc = await startService('policy-redirect', {
        ALLOWED_HOSTS: '127.0.0.1',
        ALLOW_PRIVATE_NETWORKS: 'true',
        DOWNLOAD_ATTEMPTS: '3',
      });
    });
    afterAll(() => svc?.stop());

    it('fails a job whose redirect leads off the list with HOST_NOT_ALLOWED, at once and without following it', async () => {
      origin.addFile('away.safetensors', 1000);
      const target = `${origin.otherHostUrl}/files/away.safetensors`;
      const res = await call(svc.apiUrl, 'POST', '/v1/fetch?wait=30', {
        kind: 'lora',
        name: 'away',
        url: `${origin.url}/redirect/away.safetensors?to=${encodeURIComponent(target)}`,
      });
      expect(res.body.status).toBe('failed');
      expect(res.body.error).toMatchObject({
        code: 'HOST_NOT_ALLOWED',
        message: expect.stringContaining('redirected to a refused source: host localhost'),
      });
      expect(origin.hitCount('/redirect/away.safetensors')).toBe(1); // not retried: no attempt can pass
      expect(origin.hitCount('/files/away.safetensors')).toBe(0);
      volumeUntouched(svc);
    });

    it('still downloads from the allowed host', async () => {
      const file = origin.addFile('fine.safetensors', 5000);
      const res = await call(svc.apiUrl, 'POST', '/v1/fetch?wait=30', {
        kind: 'lora',
        name: 'fine',
        url: `${origin.url}/files/fine.safetensors`,
        sha256: file.sha256,
      });
      expect(res.body.status).toBe('completed');
    });
  });
});
