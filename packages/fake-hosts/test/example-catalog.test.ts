import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EXAMPLE_CIVITAI_VERSIONS, type FakeHosts, startFakeHosts } from '@model-manager/fake-hosts';

const root = path.resolve(import.meta.dirname, '../../..');
const MiB = 1024 * 1024;

describe('the example catalog', () => {
  let a: FakeHosts;
  let b: FakeHosts;
  beforeAll(async () => {
    a = await startFakeHosts({ catalog: 'example' });
    b = await startFakeHosts({ catalog: 'example' });
  });
  afterAll(async () => {
    await a.close();
    await b.close();
  });
  const version = async (hosts: FakeHosts, id: number): Promise<any> =>
    (await fetch(`${hosts.civitai.url}/api/v1/model-versions/${id}`)).json();

  it('holds every Civitai version of the old module example request', () => {
    const request = JSON.parse(readFileSync(path.join(root, 'test/fixtures/old-module-example-request.json'), 'utf8'));
    const urls: string[] = [request.input.checkpoint.url, ...request.input.loras.map((l: { url: string }) => l.url)];
    const ids = urls.map((u) => Number(/\/models\/(\d+)$/.exec(u)![1]));
    expect(EXAMPLE_CIVITAI_VERSIONS.map((v) => v.versionId).sort()).toEqual(ids.sort());
  });

  it('publishes the same hashes from two instances (content is seeded)', async () => {
    for (const { versionId } of EXAMPLE_CIVITAI_VERSIONS) {
      const [x, y] = await Promise.all([version(a, versionId), version(b, versionId)]);
      expect(x.files.map((f: any) => f.hashes)).toEqual(y.files.map((f: any) => f.hashes));
    }
    // Pinned, so a change to the generator (which would change every example hash) is noticed.
    expect((await version(a, 87153)).files[0].hashes.SHA256).toBe(
      '79F4D102C5C013952A8CF874A9DCAC7BA390CDBFCAC7DF51CE49EFD81BCE3797',
    );
  });

  it('has a large checkpoint, small LoRAs, and a second file to choose by type', async () => {
    for (const { versionId } of EXAMPLE_CIVITAI_VERSIONS) {
      const v = await version(a, versionId);
      const bytes = v.files[0].sizeKB * 1024;
      if (v.model.type === 'Checkpoint') expect(bytes).toBeGreaterThan(20 * MiB);
      else {
        expect(bytes).toBeGreaterThan(MiB);
        expect(bytes).toBeLessThan(3 * MiB);
      }
      expect(v.files[0]).toMatchObject({ primary: true, metadata: { format: 'SafeTensor' } });
    }
    const hand = await version(a, 135867);
    expect(hand.files[0].name).toBe('hand 5.5.safetensors');
    expect(hand.files[1]).toMatchObject({ type: 'Training Data', metadata: { format: 'Other' }, primary: false });
    const zip = await fetch(`${a.civitai.url}/api/download/models/135867?type=Training%20Data`);
    expect(
      Buffer.from(await zip.arrayBuffer())
        .subarray(0, 4)
        .toString('latin1'),
    ).toBe('PK\x03\x04');
  });

  it('serves the Hub files: an LFS VAE and a plain config.json', async () => {
    const vae = await fetch(`${a.hf.url}/stabilityai/sdxl-vae/resolve/main/sdxl_vae.safetensors`, {
      method: 'HEAD',
      redirect: 'manual',
    });
    expect(vae.status).toBe(302);
    expect(vae.headers.get('x-linked-etag')).toBe('"232cfe65b75944165120b4ccca76ade76375ba0c2550fdb25bb0a1759ae3ac50"');
    const body = await (
      await fetch(`${a.hf.url}/stabilityai/sdxl-vae/resolve/main/sdxl_vae.safetensors`)
    ).arrayBuffer();
    expect(createHash('sha256').update(Buffer.from(body)).digest('hex')).toBe(
      '232cfe65b75944165120b4ccca76ade76375ba0c2550fdb25bb0a1759ae3ac50',
    );
    const config = await fetch(`${a.hf.url}/runwayml/tiny/resolve/main/config.json`);
    expect(config.status).toBe(200);
    expect(config.headers.get('etag')).toMatch(/^"[0-9a-f]{40}"$/);
    expect(((await config.json()) as any)._class_name).toBe('UNet2DConditionModel');
  });

  it('gives the settings that point the service at the fakes', () => {
    expect(a.env).toEqual({
      HF_ENDPOINT: a.hf.url,
      CIVITAI_ENDPOINT: a.civitai.url,
      ALLOW_PRIVATE_NETWORKS: 'true',
    });
  });
});
