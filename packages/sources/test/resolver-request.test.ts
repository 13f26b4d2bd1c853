import { describe, expect, it } from 'vitest';
import { json, versionJson } from './support/fake-civitai.js';
import { resolverSetup } from './support/resolver-setup.js';
import { rejection } from './support/source-failure.js';

const setup = resolverSetup({ hub: false });
const { civitai, endpoints } = setup;

describe('what a request must say', () => {
  it('needs exactly one of url and source', async () => {
    const resolver = setup.resolver(endpoints);
    for (const request of [
      { kind: 'lora' as const },
      { kind: 'lora' as const, url: 'https://x.example/a.bin', source: 'civitai:1' },
    ]) {
      expect(await rejection(resolver.resolve(request))).toMatchObject({
        code: 'INVALID_REQUEST',
        message: 'give url or source (not both)',
        details: { field: 'url' },
      });
    }
    expect(await rejection(resolver.resolve({ kind: 'lora', source: 'civitai:x' }))).toMatchObject({
      code: 'INVALID_REQUEST',
      details: { field: 'source' },
    });
  });

  it('fetches a plain URL as it is, named after its file, asking no host', async () => {
    const resolver = setup.resolver(endpoints);
    expect(
      await resolver.resolve({
        kind: 'checkpoint',
        url: 'https://files.example/m/Real%20Vision.safetensors',
        mirrors: ['https://b.example/x'],
      }),
    ).toEqual({
      ref: {
        kind: 'checkpoint',
        name: 'Real Vision',
        url: 'https://files.example/m/Real%20Vision.safetensors',
        mirrors: ['https://b.example/x'],
      },
      verified: false,
      unverifiedReason: 'no sha256 given',
    });
    expect(await rejection(resolver.resolve({ kind: 'lora', url: 'https://files.example/get?id=3' }))).toMatchObject({
      code: 'INVALID_REQUEST',
      details: { field: 'name' },
    });
    expect(resolver.stats.metadataCalls).toBe(0);
  });

  it('refuses what is not verified when REQUIRE_VERIFIED is on', async () => {
    const strict = setup.resolver(endpoints, { requireVerified: true });
    expect(await rejection(strict.resolve({ kind: 'lora', url: 'https://files.example/a.safetensors' }))).toMatchObject(
      {
        code: 'UNVERIFIED',
        message: expect.stringMatching(/^REQUIRE_VERIFIED is on and no sha256 given$/),
      },
    );
    // The Hub at endpoints.hf cannot be reached: no hash is known.
    expect(await rejection(strict.resolve({ kind: 'lora', source: 'hf:o/r/x.safetensors' }))).toMatchObject({
      code: 'UNVERIFIED',
      message: expect.stringMatching(/^REQUIRE_VERIFIED is on and Hugging Face metadata unavailable: /),
    });
    // A hash, given or published, is enough.
    const sha256 = 'ab'.repeat(32);
    expect((await strict.resolve({ kind: 'lora', url: 'https://files.example/a.safetensors', sha256 })).verified).toBe(
      true,
    );
    civitai.versions[301] = json(versionJson(301));
    expect((await strict.resolve({ kind: 'lora', source: 'civitai:301' })).verified).toBe(true);
  });
});
