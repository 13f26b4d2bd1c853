import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  type FakeFile,
  FakeCivitai,
  FakeStorage,
  civitaiHashes,
  fakeFile,
  safetensorsOf,
} from '@model-manager/fake-hosts';

describe('FakeCivitai metadata', () => {
  let storage: FakeStorage;
  let civitai: FakeCivitai;
  let lora: FakeFile;
  beforeAll(async () => {
    storage = await new FakeStorage().start();
    civitai = await new FakeCivitai(storage).start();
    [lora] = civitai.addVersion({
      versionId: 87153,
      modelId: 82098,
      modelName: 'Add More Details!',
      modelType: 'LORA',
      files: [
        {
          name: 'add_detail.safetensors',
          file: fakeFile('x', safetensorsOf(1.2 * 1024 * 1024, 'd')),
          fp: 'fp16',
          sizeLabel: 'full',
        },
        { name: 'data.zip', size: 2048, type: 'Training Data', format: 'Other' },
      ],
    }) as [FakeFile];
    civitai.addVersion({ versionId: 5, modelId: 6, files: [{ name: 'gated.safetensors', size: 1000 }] });
    civitai.gate(5, 'civ_right');
  });
  beforeEach(() => {
    Object.assign(civitai, { down: false, malformed: false, metadataDelayMs: 0 });
  });
  afterAll(async () => {
    await civitai.close();
    await storage.close();
  });
  const get = (path: string, headers: Record<string, string> = {}) => fetch(`${civitai.url}${path}`, { headers });
  const json = (res: Response): Promise<any> => res.json();

  it('answers a model version in the documented shape', async () => {
    const res = await get('/api/v1/model-versions/87153');
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^application\/json/);
    const body = await json(res);
    expect(body).toMatchObject({
      id: 87153,
      modelId: 82098,
      baseModel: 'SDXL 1.0',
      trainedWords: [],
      model: { name: 'Add More Details!', type: 'LORA', nsfw: false, poi: false },
      images: [],
      downloadUrl: `${civitai.url}/api/download/models/87153`,
    });
    expect(body.createdAt).toMatch(/^\d{4}-\d\d-\d\dT/);
    const [model, data] = body.files;
    expect(model).toMatchObject({
      name: 'add_detail.safetensors',
      type: 'Model',
      sizeKB: lora.size / 1024,
      metadata: { format: 'SafeTensor', size: 'full', fp: 'fp16' },
      pickleScanResult: 'Success',
      virusScanResult: 'Success',
      primary: true,
      downloadUrl: `${civitai.url}/api/download/models/87153?type=Model&format=SafeTensor&size=full&fp=fp16`,
    });
    expect(model.hashes).toEqual(civitaiHashes(lora));
    expect(model.hashes.SHA256).toBe(lora.sha256.toUpperCase());
    expect(model.hashes.AutoV2).toBe(lora.sha256.slice(0, 10).toUpperCase());
    expect(Object.keys(model.hashes).sort()).toEqual(['AutoV1', 'AutoV2', 'BLAKE3', 'CRC32', 'SHA256']);
    expect(model.hashes.BLAKE3).toMatch(/^[0-9A-F]{64}$/);
    expect(model.hashes.CRC32).toMatch(/^[0-9A-F]{8}$/);
    expect(data).toMatchObject({ type: 'Training Data', metadata: { format: 'Other' }, primary: false });
    expect(data.downloadUrl).toBe(`${civitai.url}/api/download/models/87153?type=Training%20Data&format=Other`);
  });

  it('finds a version by SHA-256 in either case and by AutoV2; 404 otherwise', async () => {
    for (const hash of [lora.sha256, lora.sha256.toUpperCase(), lora.sha256.slice(0, 10)]) {
      const res = await get(`/api/v1/model-versions/by-hash/${hash}`);
      expect(res.status).toBe(200);
      expect((await json(res)).id).toBe(87153);
    }
    const missing = await get(`/api/v1/model-versions/by-hash/${'0'.repeat(64)}`);
    expect(missing.status).toBe(404);
    expect(await missing.json()).toEqual({ error: 'Model not found' });
    const unknown = await get('/api/v1/model-versions/999');
    expect(unknown.status).toBe(404);
    expect(await unknown.json()).toEqual({ error: 'No version with id 999' });
  });

  it('needs the token for a gated version: 401 without, 403 with another, Bearer or ?token=', async () => {
    const anonymous = await get('/api/v1/model-versions/5');
    expect(anonymous.status).toBe(401);
    expect(await anonymous.json()).toEqual({ error: 'Unauthorized' });
    expect((await get('/api/v1/model-versions/5', { authorization: 'Bearer civ_wrong' })).status).toBe(403);
    expect((await get('/api/v1/model-versions/5', { authorization: 'Bearer civ_right' })).status).toBe(200);
    expect((await get('/api/v1/model-versions/5?token=civ_right')).status).toBe(200);
  });

  it('answers 503 while down, yet downloads still redirect', async () => {
    civitai.down = true;
    expect((await get('/api/v1/model-versions/87153')).status).toBe(503);
    const download = await fetch(`${civitai.url}/api/download/models/87153`, { redirect: 'manual' });
    expect(download.status).toBe(307);
  });

  it('breaks the file list, or the hashes, while malformed', async () => {
    civitai.malformed = true;
    expect((await json(await get('/api/v1/model-versions/87153'))).files).toBe('nope');
    civitai.malformed = 'hash';
    const body = await json(await get('/api/v1/model-versions/87153'));
    expect(body.files[0].hashes.SHA256).toBe('xyz');
  });

  it('delays metadata by metadataDelayMs and counts metadata calls', async () => {
    civitai.metadataDelayMs = 250;
    const before = civitai.metadataCalls();
    const t = Date.now();
    await get('/api/v1/model-versions/87153');
    expect(Date.now() - t).toBeGreaterThanOrEqual(230);
    await fetch(`${civitai.url}/api/download/models/87153`, { redirect: 'manual' });
    expect(civitai.metadataCalls()).toBe(before + 1);
    expect(civitai.requests.at(-1)).toMatchObject({ method: 'GET', path: '/api/download/models/87153', status: 307 });
  });
});
