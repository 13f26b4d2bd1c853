import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type FakeFile, FakeCivitai, FakeStorage } from '@model-manager/fake-hosts';

const sha256 = (b: ArrayBuffer) => createHash('sha256').update(Buffer.from(b)).digest('hex');

describe('FakeCivitai downloads', () => {
  let storage: FakeStorage;
  let civitai: FakeCivitai;
  let files: FakeFile[];
  beforeAll(async () => {
    storage = await new FakeStorage().start();
    civitai = await new FakeCivitai(storage).start();
    files = civitai.addVersion({
      versionId: 348913,
      modelId: 133005,
      modelType: 'Checkpoint',
      files: [
        { name: 'full-fp32.safetensors', size: 4000, sizeLabel: 'full', fp: 'fp32' },
        { name: 'pruned-fp16.safetensors', size: 3000, sizeLabel: 'pruned', fp: 'fp16', primary: true },
        { name: 'pruned-fp16.ckpt', size: 3000, format: 'PickleTensor', sizeLabel: 'pruned', fp: 'fp16' },
        { name: 'vae.safetensors', size: 2000, type: 'VAE' },
      ],
    });
    civitai.addVersion({ versionId: 7, modelId: 8, files: [{ name: 'early.safetensors', size: 1000 }] });
    civitai.gate(7, 'civ_right');
  });
  afterAll(async () => {
    await civitai.close();
    await storage.close();
  });
  const chosen = async (query: string, headers: Record<string, string> = {}) => {
    const res = await fetch(`${civitai.url}/api/download/models/348913${query}`, { redirect: 'manual', headers });
    expect(res.status).toBe(307);
    const location = res.headers.get('location')!;
    expect(location.startsWith(`${storage.url}/blob/`)).toBe(true);
    const head = await fetch(location, { method: 'HEAD' });
    return /filename="([^"]+)"/.exec(head.headers.get('content-disposition')!)![1];
  };

  it('picks the file by type, format, size and fp, case-insensitively', async () => {
    expect(await chosen('')).toBe('pruned-fp16.safetensors');
    expect(await chosen('?size=full')).toBe('full-fp32.safetensors');
    expect(await chosen('?fp=FP32')).toBe('full-fp32.safetensors');
    expect(await chosen('?type=Model&format=PickleTensor')).toBe('pruned-fp16.ckpt');
    expect(await chosen('?type=vae')).toBe('vae.safetensors');
  });

  it('gives the primary file for parameters that match nothing', async () => {
    expect(await chosen('?type=Config&format=Diffusers&size=tiny&fp=fp8')).toBe('pruned-fp16.safetensors');
  });

  it('redirects to bytes of the published hash, served in ranges', async () => {
    const res = await fetch(`${civitai.url}/api/download/models/348913?type=Model&format=SafeTensor`);
    expect(res.status).toBe(200);
    expect(sha256(await res.arrayBuffer())).toBe(files[1]!.sha256);
    const piece = await fetch(`${civitai.url}/api/download/models/348913`, { headers: { range: 'bytes=10-19' } });
    expect(piece.status).toBe(206);
    expect(piece.headers.get('content-range')).toBe(`bytes 10-19/${files[1]!.size}`);
  });

  it('answers 404 for an unknown version and guards a gated one', async () => {
    expect((await fetch(`${civitai.url}/api/download/models/1`, { redirect: 'manual' })).status).toBe(404);
    const url = `${civitai.url}/api/download/models/7`;
    expect((await fetch(url, { redirect: 'manual' })).status).toBe(401);
    expect((await fetch(`${url}?token=civ_wrong`, { redirect: 'manual' })).status).toBe(403);
    expect((await fetch(`${url}?token=civ_right`, { redirect: 'manual' })).status).toBe(307);
    const bearer = { authorization: 'Bearer civ_right' };
    expect((await fetch(url, { redirect: 'manual', headers: bearer })).status).toBe(307);
  });

  it('signs redirects for signedUrlTtlMs', async () => {
    civitai.signedUrlTtlMs = 50;
    const res = await fetch(`${civitai.url}/api/download/models/348913`, { redirect: 'manual' });
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect((await fetch(res.headers.get('location')!)).status).toBe(403);
    civitai.signedUrlTtlMs = 3_600_000;
  });
});
