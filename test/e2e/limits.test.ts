import { readdirSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TestOrigin } from '../support/origin.js';
import { call, startService, type Service } from '../support/service.js';
import { MODEL_FOLDERS } from '../support/volume.js';

describe('size and format limits (MAX_MODEL_BYTES, REQUIRE_SAFETENSORS)', () => {
  const origin = new TestOrigin();
  let svc: Service;
  const fetchModel = (body: Record<string, unknown>) => call(svc.apiUrl, 'POST', '/v1/fetch?wait=30', body);
  const nothingSaved = () => {
    expect(MODEL_FOLDERS.flatMap((d) => readdirSync(path.join(svc.modelsDir, d)))).toEqual([]);
    expect(readdirSync(path.join(svc.modelsDir, '.incoming')).filter((f) => f.endsWith('.part'))).toEqual([]);
  };

  beforeAll(async () => {
    await origin.start();
    svc = await startService('limits', {
      MAX_MODEL_BYTES: '50000',
      REQUIRE_SAFETENSORS: 'true',
      DOWNLOAD_ATTEMPTS: '3',
      SEGMENTS: '1',
    });
  });
  afterAll(async () => {
    await svc?.stop();
    await origin.close();
  });

  it('refuses a file whose Content-Length is over MAX_MODEL_BYTES before writing, without retrying', async () => {
    origin.addFile('big.safetensors', 100_000);
    const res = await fetchModel({ kind: 'lora', name: 'big', url: `${origin.url}/files/big.safetensors` });
    expect(res.body.status).toBe('failed');
    expect(res.body.error).toMatchObject({
      code: 'TOO_LARGE',
      message: expect.stringContaining('100000 bytes, more than MAX_MODEL_BYTES (50000)'),
    });
    expect(origin.hitCount('/files/big.safetensors')).toBe(1);
    nothingSaved();
  });

  it('cuts off a body without Content-Length once it runs past MAX_MODEL_BYTES', async () => {
    origin.addFile('endless.safetensors', 200_000);
    const res = await fetchModel({
      kind: 'lora',
      name: 'endless',
      url: `${origin.url}/files/endless.safetensors?noLength=1`,
    });
    expect(res.body.error).toMatchObject({
      code: 'TOO_LARGE',
      message: expect.stringContaining('ran past 50000 bytes'),
    });
    expect(origin.hitCount('/files/endless.safetensors')).toBe(1);
    nothingSaved();
  });

  it('refuses pickle formats: at the API when the URL names one, in the worker when the origin does', async () => {
    const byUrl = await call(svc.apiUrl, 'POST', '/v1/fetch', {
      kind: 'checkpoint',
      name: 'old',
      url: `${origin.url}/files/old.ckpt`,
    });
    expect(byUrl.status).toBe(400);
    expect(byUrl.body.error).toMatchObject({
      code: 'UNSAFE_FORMAT',
      details: [{ field: 'url', message: expect.stringContaining('.ckpt') }],
    });

    origin.addFile('download', 1000, { raw: true });
    const byHeader = await fetchModel({
      kind: 'checkpoint',
      name: 'sneaky',
      url: `${origin.url}/files/download?cd=sneaky.pt`,
    });
    expect(byHeader.body.error).toMatchObject({ code: 'UNSAFE_FORMAT', message: expect.stringContaining('.pt') });
    nothingSaved();

    const file = origin.addFile('fine.safetensors', 20_000);
    expect(
      (
        await fetchModel({
          kind: 'lora',
          name: 'fine',
          url: `${origin.url}/files/fine.safetensors`,
          sha256: file.sha256,
        })
      ).body.status,
    ).toBe('completed');
  });
});
