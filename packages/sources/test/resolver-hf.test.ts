import { describe, expect, it } from 'vitest';
import { HF_NO_SHA256 } from '../src/index.js';
import { gitHead, lfsHead } from './support/fake-hf.js';
import { resolverSetup } from './support/resolver-setup.js';
import { rejection } from './support/source-failure.js';

const SHA = 'ab'.repeat(32);
const setup = resolverSetup();
const { civitai, hf, endpoints } = setup;

describe('resolving Hugging Face files against a Hub on loopback', () => {
  it('reads an LFS file: SHA-256, size, commit and name, with HF_TOKEN sent to the endpoint only', async () => {
    hf.files['/o/r/resolve/main/dir/lfs%20one.safetensors'] = lfsHead(SHA, 123, 'f'.repeat(40));
    const resolver = setup.resolver(endpoints, { auth: setup.tokens() });
    const resolution = await resolver.resolve({ kind: 'lora', source: 'hf:o/r/dir/lfs one.safetensors' });
    expect(resolution).toEqual({
      ref: {
        kind: 'lora',
        name: 'lfs one',
        url: `${hf.origin}/o/r/resolve/main/dir/lfs%20one.safetensors`,
        sha256: SHA,
      },
      expectedSize: 123,
      source: {
        host: 'huggingface',
        repo: 'o/r',
        revision: 'main',
        path: 'dir/lfs one.safetensors',
        commit: 'f'.repeat(40),
      },
      verified: true,
    });
    const asked = hf.seen.filter((s) => s.path === '/o/r/resolve/main/dir/lfs%20one.safetensors');
    expect(asked).toEqual([
      { method: 'HEAD', path: '/o/r/resolve/main/dir/lfs%20one.safetensors', authorization: 'Bearer hf_secret' },
    ]);
    // The CDN the answer redirects to is not asked, and Civitai's host never sees HF_TOKEN.
    expect(civitai.seen.some((s) => s.authorization?.includes('hf_secret'))).toBe(false);
    expect(resolver.stats).toEqual({ metadataCalls: 1, cacheHits: 0, unavailable: 0 });
  });

  it('fetches a pasted huggingface.co URL from the configured endpoint', async () => {
    hf.files['/o/r/resolve/refs%2Fpr%2F1/pasted.safetensors'] = lfsHead(SHA, 5);
    const resolution = await setup.resolver(endpoints).resolve({
      kind: 'lora',
      url: 'https://huggingface.co/o/r/resolve/refs%2Fpr%2F1/pasted.safetensors?download=true',
    });
    expect(resolution.ref.url).toBe(`${hf.origin}/o/r/resolve/refs%2Fpr%2F1/pasted.safetensors`);
    expect(resolution).toMatchObject({ verified: true, expectedSize: 5, source: { revision: 'refs/pr/1' } });
  });

  it('reads a file kept in git: size, but unverified', async () => {
    hf.files['/o/r/resolve/main/config.json'] = gitHead('1'.repeat(40), 77);
    const resolution = await setup
      .resolver(endpoints)
      .resolve({ kind: 'lora', name: 'cfg', source: 'hf:o/r/config.json' });
    expect(resolution).toMatchObject({ verified: false, unverifiedReason: HF_NO_SHA256, expectedSize: 77 });
    expect(resolution.ref.sha256).toBeUndefined();
  });

  it('follows relative redirects of a renamed repository (token kept), at most 5', async () => {
    hf.files['/old/r/resolve/main/x.safetensors'] = {
      status: 307,
      headers: { location: '/new/r/resolve/main/x.safetensors' },
    };
    hf.files['/new/r/resolve/main/x.safetensors'] = lfsHead(SHA, 9);
    const resolution = await setup
      .resolver(endpoints, { auth: setup.tokens() })
      .resolve({ kind: 'lora', source: 'hf:old/r/x.safetensors' });
    expect(resolution).toMatchObject({ verified: true, ref: { sha256: SHA } });
    expect(hf.seen.find((s) => s.path === '/new/r/resolve/main/x.safetensors')?.authorization).toBe('Bearer hf_secret');

    for (let i = 0; i < 7; i++)
      hf.files[`/loop/r/resolve/main/${i}.safetensors`] = {
        status: 307,
        headers: { location: `${i + 1}.safetensors` },
      };
    const looping = await setup.resolver(endpoints).resolve({ kind: 'lora', source: 'hf:loop/r/0.safetensors' });
    expect(looping).toMatchObject({
      verified: false,
      unverifiedReason: 'Hugging Face metadata unavailable: more than 5 redirects',
    });
    expect(hf.seen.filter((s) => s.path.startsWith('/loop/'))).toHaveLength(6);
  });

  it('does not follow an absolute redirect to another host', async () => {
    hf.files['/o/r/resolve/main/away.safetensors'] = {
      status: 302,
      headers: { location: `${civitai.origin}/elsewhere`, 'x-linked-etag': `"${SHA}"`, 'x-linked-size': '1' },
    };
    const resolution = await setup
      .resolver(endpoints, { auth: setup.tokens() })
      .resolve({ kind: 'lora', source: 'hf:o/r/away.safetensors' });
    expect(resolution.verified).toBe(true);
    expect(civitai.seen.some((s) => s.path === '/elsewhere')).toBe(false);
  });

  it('asks for HF_TOKEN for a gated repository, and says when the token has no access', async () => {
    hf.files['/gated/r/resolve/main/x.safetensors'] = { status: 401, headers: { 'x-error-code': 'GatedRepo' } };
    const err = await rejection(
      setup.resolver(endpoints).resolve({ kind: 'lora', source: 'hf:gated/r/x.safetensors' }),
    );
    expect(err).toMatchObject({
      code: 'AUTH_REQUIRED',
      message: 'Hugging Face answered 401 for gated/r: a gated or private repository; set HF_TOKEN with access to it',
      details: { status: 401 },
    });
    hf.files['/gated/r/resolve/main/y.safetensors'] = { status: 403, headers: { 'x-error-code': 'GatedRepo' } };
    const denied = await rejection(
      setup.resolver(endpoints, { auth: setup.tokens() }).resolve({ kind: 'lora', source: 'hf:gated/r/y.safetensors' }),
    );
    expect(denied).toMatchObject({
      code: 'AUTH_REQUIRED',
      message: expect.stringContaining('HF_TOKEN has no access to it'),
    });
  });

  it('says which part is missing on a 404', async () => {
    hf.files['/o/r/resolve/v9/x.safetensors'] = { status: 404, headers: { 'x-error-code': 'RevisionNotFound' } };
    const err = await rejection(setup.resolver(endpoints).resolve({ kind: 'lora', source: 'hf:o/r/x.safetensors@v9' }));
    expect(err).toMatchObject({ code: 'SOURCE_NOT_FOUND', message: 'Hugging Face repository o/r has no revision v9' });
  });

  it('goes on unverified, with a warning, when the Hub hangs, fails, answers garbage or cannot be reached', async () => {
    hf.files['/o/r/resolve/main/slow.safetensors'] = { ...lfsHead(SHA, 1), delayMs: 3000 };
    hf.files['/o/r/resolve/main/down.safetensors'] = { status: 503 };
    hf.files['/o/r/resolve/main/odd.safetensors'] = {
      status: 302,
      headers: { location: 'https://cdn-lfs.hf.co/x', 'x-linked-etag': `"${SHA}"`, 'x-linked-size': 'lots' },
    };
    const resolver = setup.resolver(endpoints);
    const reasons = [];
    for (const file of ['slow', 'down', 'odd']) {
      const resolution = await resolver.resolve({ kind: 'lora', source: `hf:o/r/${file}.safetensors` });
      expect(resolution).toMatchObject({
        verified: false,
        ref: { name: file },
        source: { host: 'huggingface', path: `${file}.safetensors` },
      });
      expect(resolution.expectedSize).toBeUndefined();
      reasons.push(resolution.unverifiedReason);
    }
    expect(reasons).toEqual([
      'Hugging Face metadata unavailable: timed out after 300 ms',
      'Hugging Face metadata unavailable: answered 503',
      'Hugging Face metadata unavailable: malformed answer (size "lots")',
    ]);
    expect(resolver.stats).toEqual({ metadataCalls: 3, cacheHits: 0, unavailable: 3 });
    const warned = setup.log.lines.filter((l) => l.msg === 'source metadata unavailable');
    expect(warned.map((l) => l.reason)).toEqual(expect.arrayContaining(reasons));

    const closed = setup.resolver({ ...endpoints, hf: 'http://127.0.0.1:1' });
    const refused = await closed.resolve({ kind: 'lora', source: 'hf:o/r/x.safetensors' });
    expect(refused.unverifiedReason).toMatch(/^Hugging Face metadata unavailable: .*ECONNREFUSED/);
  });

  it('asks no host the network policy refuses', async () => {
    hf.files['/o/r/resolve/main/policy.safetensors'] = lfsHead(SHA, 1);
    const strict = setup.resolver(endpoints, {
      networkPolicy: { allowedHosts: ['127.0.0.1'], allowPrivateNetworks: false },
    });
    const resolution = await strict.resolve({ kind: 'lora', source: 'hf:o/r/policy.safetensors' });
    expect(resolution.unverifiedReason).toMatch(
      /^Hugging Face metadata unavailable: PRIVATE_ADDRESS: 127\.0\.0\.1 is a private/,
    );
    expect(hf.seen.some((s) => s.path === '/o/r/resolve/main/policy.safetensors')).toBe(false);
  });
});
