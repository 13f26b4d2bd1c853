import { describe, expect, it } from 'vitest';
import { json, SHA_A, SHA_B, versionJson } from './support/fake-civitai.js';
import { resolverSetup } from './support/resolver-setup.js';
import { rejection } from './support/source-failure.js';

const setup = resolverSetup();
const { civitai, hf, endpoints } = setup;

describe('resolving Civitai files against a Civitai on loopback', () => {
  it('takes the primary file of a version, with CIVITAI_TOKEN sent to the endpoint only', async () => {
    civitai.versions[101] = json(versionJson(101));
    const resolution = await setup
      .resolver(endpoints, { auth: setup.tokens() })
      .resolve({ kind: 'lora', source: 'civitai:101' });
    expect(resolution).toEqual({
      ref: {
        kind: 'lora',
        name: 'some_lora_fp32',
        url: `${civitai.origin}/api/download/models/101?type=Model&format=SafeTensor&size=full&fp=fp32`,
        sha256: SHA_A.toLowerCase(),
      },
      expectedSize: 1536,
      source: { host: 'civitai', versionId: 101, modelId: 4201, fileId: 11 },
      verified: true,
    });
    expect(civitai.seen.find((s) => s.path === '/api/v1/model-versions/101')).toEqual({
      method: 'GET',
      path: '/api/v1/model-versions/101',
      authorization: 'Bearer civ_secret',
    });
    expect(hf.seen).toEqual([]);
  });

  it('fetches a pasted civitai.com URL from the endpoint, for the file its parameters pick', async () => {
    civitai.versions[102] = json(versionJson(102));
    const resolution = await setup.resolver(endpoints).resolve({
      kind: 'lora',
      url: 'https://civitai.com/api/download/models/102?type=Model&format=SafeTensor&size=pruned&fp=FP16&token=abc',
    });
    expect(resolution).toMatchObject({
      ref: {
        name: 'some_lora_fp16',
        url: `${civitai.origin}/api/download/models/102?type=Model&format=SafeTensor&size=pruned&fp=FP16`,
        sha256: SHA_B.toLowerCase(),
      },
      expectedSize: 768,
      source: { fileId: 12 },
    });
  });

  it("reads an AIR, and refuses one whose model is not the version's", async () => {
    civitai.versions[103] = json(versionJson(103, 77));
    const resolution = await setup
      .resolver(endpoints)
      .resolve({ kind: 'lora', source: 'urn:air:sdxl:lora:civitai:77@103.safetensors' });
    expect(resolution).toMatchObject({ verified: true, source: { modelId: 77, versionId: 103 } });
    expect(resolution.ref.url).toContain('format=SafeTensor');
    const err = await rejection(
      setup.resolver(endpoints).resolve({ kind: 'lora', source: 'urn:air:sdxl:lora:civitai:78@103' }),
    );
    expect(err.code).toBe('SOURCE_NOT_FOUND');
  });

  it('asks for CIVITAI_TOKEN on 401/403, and says a version does not exist on 404', async () => {
    civitai.versions[104] = { status: 401, body: '{"error":"Unauthorized"}' };
    expect(await rejection(setup.resolver(endpoints).resolve({ kind: 'lora', source: 'civitai:104' }))).toMatchObject({
      code: 'AUTH_REQUIRED',
      message: expect.stringMatching(/^Civitai answered 401 for model version 104: .*set CIVITAI_TOKEN$/),
      details: { status: 401 },
    });
    civitai.versions[105] = { status: 403 };
    expect(
      await rejection(
        setup.resolver(endpoints, { auth: setup.tokens() }).resolve({ kind: 'lora', source: 'civitai:105' }),
      ),
    ).toMatchObject({
      code: 'AUTH_REQUIRED',
      message: 'Civitai answered 403 for model version 105: CIVITAI_TOKEN has no access to it',
    });
    expect(await rejection(setup.resolver(endpoints).resolve({ kind: 'lora', source: 'civitai:106' }))).toMatchObject({
      code: 'SOURCE_NOT_FOUND',
      message: 'Civitai has no model version 106',
    });
  });

  it('goes on unverified when Civitai hangs, fails or answers garbage', async () => {
    civitai.versions[107] = json(versionJson(107), { delayMs: 3000 });
    civitai.versions[108] = { status: 500 };
    civitai.versions[109] = { status: 200, body: '<html>rate limited</html>' };
    civitai.versions[110] = json({ id: 110, files: [{ id: 1 }] });
    civitai.versions[111] = { status: 429 };
    const reasons = [];
    for (const id of [107, 108, 109, 110, 111]) {
      const resolution = await setup.resolver(endpoints).resolve({ kind: 'lora', source: `civitai:${id}` });
      expect(resolution).toMatchObject({
        verified: false,
        ref: { name: `civitai-${id}`, url: `${civitai.origin}/api/download/models/${id}` },
        source: { host: 'civitai', versionId: id },
      });
      reasons.push(resolution.unverifiedReason);
    }
    expect(reasons).toEqual([
      'Civitai metadata unavailable: timed out after 300 ms',
      'Civitai metadata unavailable: answered 500',
      'Civitai metadata unavailable: malformed answer (not JSON)',
      expect.stringMatching(/^Civitai metadata unavailable: malformed answer \(files\.0\.sizeKB: /),
      'Civitai metadata unavailable: answered 429',
    ]);
  });

  it('refuses a hash that is not the one Civitai publishes', async () => {
    civitai.versions[112] = json(versionJson(112));
    const given = 'cd'.repeat(32);
    const err = await rejection(
      setup.resolver(endpoints).resolve({ kind: 'lora', source: 'civitai:112', sha256: given }),
    );
    expect(err).toMatchObject({
      code: 'HASH_CONFLICT',
      message: `the sha256 given (cdcdcdcdcdcd…) is not the one Civitai publishes for version 112 (aaaaaaaaaaaa…)`,
      details: { given, host: SHA_A.toLowerCase() },
    });
  });
});
