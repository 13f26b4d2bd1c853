import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type FakeFile, FakeHuggingFace, FakeStorage, fakeFile } from '@model-manager/fake-hosts';

const sha256 = (b: ArrayBuffer) => createHash('sha256').update(Buffer.from(b)).digest('hex');

describe('FakeHuggingFace', () => {
  let storage: FakeStorage;
  let hf: FakeHuggingFace;
  let vae: FakeFile;
  beforeAll(async () => {
    storage = await new FakeStorage().start();
    hf = await new FakeHuggingFace(storage).start();
    vae = hf.addFile('org/vae', 'vae/diffusion model.safetensors', 200_000);
    hf.addFile('org/vae', 'README.md', fakeFile('README.md', Buffer.from('hello\n')), { lfs: false });
    hf.addFile('org/vae', 'pr.safetensors', 1000, { revision: 'refs/pr/1' });
  });
  afterAll(async () => {
    await hf.close();
    await storage.close();
  });
  const resolve = (rest: string) => `${hf.url}/org/vae/resolve/${rest}`;

  it('answers HEAD on an LFS file with a 302 to storage and the linked ETag and size', async () => {
    const res = await fetch(resolve('main/vae/diffusion%20model.safetensors'), { method: 'HEAD', redirect: 'manual' });
    expect(res.status).toBe(302);
    expect(res.headers.get('location')).toMatch(new RegExp(`^${storage.url}/blob/`));
    expect(res.headers.get('x-linked-etag')).toBe(`"${vae.sha256}"`);
    expect(res.headers.get('x-linked-size')).toBe(String(vae.size));
    expect(res.headers.get('etag')).toBe(`"${vae.sha256}"`);
    expect(res.headers.get('x-repo-commit')).toMatch(/^[0-9a-f]{40}$/);
    expect(Number(res.headers.get('content-length'))).toBeGreaterThan(0);
  });

  it('redirects GET to storage, whose bytes hash to X-Linked-Etag', async () => {
    const head = await fetch(resolve('main/vae/diffusion%20model.safetensors'), { method: 'HEAD', redirect: 'manual' });
    const res = await fetch(resolve('main/vae/diffusion%20model.safetensors'));
    expect(res.status).toBe(200);
    expect(res.url).toMatch(new RegExp(`^${storage.url}/blob/`));
    expect(`"${sha256(await res.arrayBuffer())}"`).toBe(head.headers.get('x-linked-etag'));
    expect(res.headers.get('content-disposition')).toBe('attachment; filename="diffusion model.safetensors"');
  });

  it('serves a non-LFS file itself, with the git blob id as ETag and ranges', async () => {
    const head = await fetch(resolve('main/README.md'), { method: 'HEAD', redirect: 'manual' });
    expect(head.status).toBe(200);
    // `git hash-object` of "hello\n".
    expect(head.headers.get('etag')).toBe('"ce013625030ba8dba906f756967f9e9ca394464a"');
    expect(head.headers.get('content-length')).toBe('6');
    expect(head.headers.get('x-linked-etag')).toBeNull();
    expect(head.headers.get('x-repo-commit')).toMatch(/^[0-9a-f]{40}$/);
    expect(await (await fetch(resolve('main/README.md'))).text()).toBe('hello\n');
    const piece = await fetch(resolve('main/README.md'), { headers: { range: 'bytes=1-3' } });
    expect(piece.status).toBe(206);
    expect(await piece.text()).toBe('ell');
  });

  it('resolves an encoded ref, an unencoded one and a commit id', async () => {
    const byRef = await fetch(resolve('refs%2Fpr%2F1/pr.safetensors'), { method: 'HEAD', redirect: 'manual' });
    expect(byRef.status).toBe(302);
    expect((await fetch(resolve('refs/pr/1/pr.safetensors'), { method: 'HEAD', redirect: 'manual' })).status).toBe(302);
    const commit = byRef.headers.get('x-repo-commit')!;
    expect((await fetch(resolve(`${commit}/pr.safetensors`), { method: 'HEAD', redirect: 'manual' })).status).toBe(302);
    const main = await fetch(resolve('main/README.md'), { method: 'HEAD' });
    expect(main.headers.get('x-repo-commit')).not.toBe(commit);
  });

  it('sends a renamed repo a relative 307 to the new name', async () => {
    hf.addRename('old-org/vae', 'org/vae');
    const res = await fetch(`${hf.url}/old-org/vae/resolve/main/README.md?download=true`, {
      method: 'HEAD',
      redirect: 'manual',
    });
    expect(res.status).toBe(307);
    expect(res.headers.get('location')).toBe('/org/vae/resolve/main/README.md?download=true');
  });

  it('records requests and counts HEADs as metadata calls', async () => {
    const before = hf.metadataCalls();
    await fetch(resolve('main/README.md'), { method: 'HEAD', headers: { authorization: 'Bearer hf_x' } });
    await fetch(resolve('main/README.md'));
    expect(hf.metadataCalls()).toBe(before + 1);
    expect(hf.requests.at(-2)).toMatchObject({
      method: 'HEAD',
      path: '/org/vae/resolve/main/README.md',
      authorization: 'Bearer hf_x',
      status: 200,
    });
  });
});
