import { Agent } from 'undici';
import { afterAll, describe, expect, it } from 'vitest';
import { civitaiByHash, civitaiHashAnswer, type MetadataClient } from '../src/index.js';
import { json, SHA_A, SHA_B, versionJson } from './support/fake-civitai.js';
import { resolverSetup } from './support/resolver-setup.js';

// Only its fake Civitai and endpoints are used: by-hash lookups are not cached.
const { civitai, endpoints, tokens } = resolverSetup({ hub: false });
const dispatcher = new Agent();
afterAll(() => dispatcher.close());
const client = (more: Partial<MetadataClient> = {}): MetadataClient => ({
  dispatcher,
  auth: tokens(),
  networkPolicy: { allowedHosts: ['127.0.0.1'], allowPrivateNetworks: true },
  timeoutMs: 300,
  ...more,
});
const lookUp = (sha256: string, more: Partial<MetadataClient> = {}) => civitaiByHash(sha256, endpoints, client(more));

describe('civitaiByHash: which Civitai file has this SHA-256', () => {
  it('names the version, model and file whose hash it is, and the URL that downloads that very file', async () => {
    civitai.hashes[SHA_B] = json(versionJson(120, 77));
    expect(await lookUp(SHA_B.toLowerCase())).toEqual({
      found: {
        source: { host: 'civitai', versionId: 120, modelId: 77, fileId: 12 },
        url: `${civitai.origin}/api/download/models/120?type=Model&format=SafeTensor&size=pruned&fp=fp16`,
        fileName: 'some_lora_fp16.safetensors',
      },
    });
    // Asked in upper case, as Civitai publishes hashes, with CIVITAI_TOKEN for the endpoint.
    expect(civitai.seen.at(-1)).toEqual({
      method: 'GET',
      path: `/api/v1/model-versions/by-hash/${SHA_B}`,
      authorization: 'Bearer civ_secret',
    });
  });

  it('knows no origin for an unknown hash, a version only an account may see, or an answer without the file', async () => {
    const unknown = 'c'.repeat(64);
    expect(await lookUp(unknown)).toEqual({ notFound: true });
    civitai.hashes['D'.repeat(64)] = { status: 401, body: '{"error":"Unauthorized"}' };
    civitai.hashes['E'.repeat(64)] = { status: 403 };
    expect(await lookUp('d'.repeat(64))).toEqual({ notFound: true });
    expect(await lookUp('e'.repeat(64))).toEqual({ notFound: true });
    // Civitai matched another of the hashes it keeps: no file of the version has this SHA-256.
    civitai.hashes['F'.repeat(64)] = json(versionJson(121));
    expect(await lookUp('f'.repeat(64))).toEqual({ notFound: true });
    const before = civitai.seen.length;
    expect(await lookUp('not a hash')).toEqual({ notFound: true });
    expect(civitai.seen.length).toBe(before);
  });

  it('is unavailable, saying why, when Civitai fails, hangs, answers garbage or may not be asked', async () => {
    const answers = {
      ['1'.repeat(64)]: { status: 500 },
      ['2'.repeat(64)]: { status: 429 },
      ['3'.repeat(64)]: { status: 200, body: '<html>rate limited</html>' },
      ['4'.repeat(64)]: json({ modelId: 1, files: [] }),
      ['5'.repeat(64)]: json(versionJson(122), { delayMs: 3000 }),
    };
    Object.assign(civitai.hashes, answers);
    const reasons = [];
    for (const hash of Object.keys(answers)) reasons.push(await lookUp(hash));
    reasons.push(
      await lookUp(SHA_A, { networkPolicy: { allowedHosts: ['civitai.com'], allowPrivateNetworks: false } }),
    );
    expect(reasons).toEqual([
      { unavailable: 'Civitai metadata unavailable: answered 500' },
      { unavailable: 'Civitai metadata unavailable: answered 429' },
      { unavailable: 'Civitai metadata unavailable: malformed answer (not JSON)' },
      { unavailable: expect.stringMatching(/^Civitai metadata unavailable: malformed answer \(id: /) },
      { unavailable: 'Civitai metadata unavailable: timed out after 300 ms' },
      { unavailable: expect.stringMatching(/^Civitai metadata unavailable: [A-Z_]+: .*127\.0\.0\.1/) },
    ]);
    const closed = await civitaiByHash(SHA_A, { hf: endpoints.hf, civitai: 'http://127.0.0.1:1' }, client());
    expect(closed).toEqual({ unavailable: expect.stringMatching(/^Civitai metadata unavailable: .*ECONNREFUSED/) });
  });
});

describe('civitaiHashAnswer', () => {
  it('builds the download URL on the configured endpoint, a mirror with a path of its own too', () => {
    const version = { ...versionJson(130), modelId: null };
    expect(
      civitaiHashAnswer(SHA_A.toLowerCase(), version, { hf: '', civitai: 'https://mirror.example/civitai' }),
    ).toEqual({
      found: {
        source: { host: 'civitai', versionId: 130, fileId: 11 },
        url: 'https://mirror.example/civitai/api/download/models/130?type=Model&format=SafeTensor&size=full&fp=fp32',
        fileName: 'some_lora_fp32.safetensors',
      },
    });
  });
});
