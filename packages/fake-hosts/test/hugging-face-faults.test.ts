import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { FakeHuggingFace, FakeStorage } from '@model-manager/fake-hosts';

describe('FakeHuggingFace errors and faults', () => {
  let storage: FakeStorage;
  let hf: FakeHuggingFace;
  beforeAll(async () => {
    storage = await new FakeStorage().start();
    hf = await new FakeHuggingFace(storage).start();
    hf.addFile('org/open', 'model.safetensors', 1000);
    hf.addFile('org/gated', 'model.safetensors', 1000);
    hf.gate('org/gated', 'hf_right');
  });
  beforeEach(() => {
    Object.assign(hf, { down: false, malformed: false, metadataDelayMs: 0 });
  });
  afterAll(async () => {
    await hf.close();
    await storage.close();
  });
  const head = (path: string, token?: string) =>
    fetch(`${hf.url}${path}`, {
      method: 'HEAD',
      redirect: 'manual',
      headers: token ? { authorization: `Bearer ${token}` } : {},
    });
  const error = (res: Response) => [res.status, res.headers.get('x-error-code')];

  it('answers an unknown repo 401 to the anonymous and 404 to a known token', async () => {
    expect(error(await head('/org/missing/resolve/main/model.safetensors'))).toEqual([401, 'RepoNotFound']);
    expect(error(await head('/org/missing/resolve/main/model.safetensors', 'hf_unknown'))).toEqual([
      401,
      'RepoNotFound',
    ]);
    expect(error(await head('/org/missing/resolve/main/model.safetensors', 'hf_right'))).toEqual([404, 'RepoNotFound']);
    const get = await fetch(`${hf.url}/org/missing/resolve/main/model.safetensors`);
    expect(get.headers.get('x-error-message')).toBe('Repository not found');
    expect(await get.json()).toEqual({ error: 'Repository not found' });
  });

  it('answers a gated repo 401 without a token, 403 with another, and lets its token in', async () => {
    const anonymous = await head('/org/gated/resolve/main/model.safetensors');
    expect(error(anonymous)).toEqual([401, 'GatedRepo']);
    expect(anonymous.headers.get('x-error-message')).toMatch(/restricted/);
    expect(error(await head('/org/gated/resolve/main/model.safetensors', 'hf_wrong'))).toEqual([403, 'GatedRepo']);
    expect((await head('/org/gated/resolve/main/model.safetensors', 'hf_right')).status).toBe(302);
  });

  it('answers an unknown revision RevisionNotFound and an unknown path EntryNotFound', async () => {
    const revision = await head('/org/open/resolve/v9/model.safetensors');
    expect(error(revision)).toEqual([404, 'RevisionNotFound']);
    expect(revision.headers.get('x-error-message')).toBe('Invalid rev id: v9');
    expect(error(await head('/org/open/resolve/main/other.safetensors'))).toEqual([404, 'EntryNotFound']);
  });

  it('answers 503 while down', async () => {
    hf.down = true;
    expect((await head('/org/open/resolve/main/model.safetensors')).status).toBe(503);
    expect((await fetch(`${hf.url}/org/open/resolve/main/model.safetensors`)).status).toBe(503);
  });

  it('sends garbage linked headers while malformed', async () => {
    hf.malformed = true;
    const res = await head('/org/open/resolve/main/model.safetensors');
    expect(res.status).toBe(302);
    expect(res.headers.get('x-linked-etag')).toBe('"not-a-hash"');
    expect(res.headers.get('x-linked-size')).toBe('abc');
  });

  it('delays HEAD answers and GET redirects by metadataDelayMs', async () => {
    hf.metadataDelayMs = 300;
    let t = Date.now();
    await head('/org/open/resolve/main/model.safetensors');
    expect(Date.now() - t).toBeGreaterThanOrEqual(280);
    t = Date.now();
    await fetch(`${hf.url}/org/open/resolve/main/model.safetensors`, { redirect: 'manual' });
    expect(Date.now() - t).toBeGreaterThanOrEqual(280);
  });

  it('closes promptly with a delayed answer pending', async () => {
    const slow = await new FakeHuggingFace(storage).start();
    slow.addFile('org/open', 'model.safetensors', 1000);
    slow.metadataDelayMs = 60_000;
    const pending = fetch(`${slow.url}/org/open/resolve/main/model.safetensors`, { method: 'HEAD' });
    await new Promise((resolve) => setTimeout(resolve, 50));
    const t = Date.now();
    await slow.close();
    await expect(pending).rejects.toThrow();
    expect(Date.now() - t).toBeLessThan(1000);
  });
});
