import { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { sourceMetadataKey } from '@model-manager/core';
import { json, versionJson } from './support/fake-civitai.js';
import { lfsHead } from './support/fake-hf.js';
import { resolverSetup } from './support/resolver-setup.js';

const SHA = 'ab'.repeat(32);
const setup = resolverSetup();
const { civitai, hf, endpoints } = setup;
const asked = (path: string) => [...civitai.seen, ...hf.seen].filter((s) => s.path === path).length;

describe('the metadata cache', () => {
  it('answers a second resolve, in this process or another, from Redis with no call to the host', async () => {
    civitai.versions[201] = json(versionJson(201));
    const first = await setup.resolver(endpoints).resolve({ kind: 'lora', source: 'civitai:201' });
    const again = setup.resolver(endpoints);
    // Another way of naming the same file shares the entry.
    const second = await again.resolve({ kind: 'lora', url: 'https://civitai.com/api/download/models/201' });
    expect(second).toEqual(first);
    expect(again.stats).toEqual({ metadataCalls: 0, cacheHits: 1, unavailable: 0 });
    expect(asked('/api/v1/model-versions/201')).toBe(1);
    const ttl = await setup.redis.ttl(sourceMetadataKey(setup.prefix, 'civitai:201'));
    expect(ttl).toBeGreaterThan(0);
    expect(ttl).toBeLessThanOrEqual(60);
  });

  it('makes one call for 100 concurrent resolves of one file', async () => {
    hf.files['/o/r/resolve/main/batch.safetensors'] = { ...lfsHead(SHA, 4), delayMs: 50 };
    const resolver = setup.resolver(endpoints);
    const all = await Promise.all(
      Array.from({ length: 100 }, (_, i) =>
        resolver.resolve({ kind: 'lora', name: `n${i}`, source: 'hf:o/r/batch.safetensors' }),
      ),
    );
    expect(new Set(all.map((r) => r.ref.sha256))).toEqual(new Set([SHA]));
    expect(resolver.stats.metadataCalls).toBe(1);
    expect(asked('/o/r/resolve/main/batch.safetensors')).toBe(1);
  });

  it('keeps no failure: a missing file, a refusal or an unavailable answer is asked again', async () => {
    const resolver = setup.resolver(endpoints);
    await expect(resolver.resolve({ kind: 'lora', source: 'civitai:202' })).rejects.toMatchObject({
      code: 'SOURCE_NOT_FOUND',
    });
    civitai.versions[202] = { status: 503 };
    expect((await resolver.resolve({ kind: 'lora', source: 'civitai:202' })).verified).toBe(false);
    civitai.versions[202] = json(versionJson(202));
    expect((await resolver.resolve({ kind: 'lora', source: 'civitai:202' })).verified).toBe(true);
    expect(resolver.stats).toEqual({ metadataCalls: 3, cacheHits: 0, unavailable: 1 });
  });

  it('keeps nothing with cacheSeconds 0', async () => {
    civitai.versions[203] = json(versionJson(203));
    const resolver = setup.resolver(endpoints, { cacheSeconds: 0 });
    await resolver.resolve({ kind: 'lora', source: 'civitai:203' });
    await resolver.resolve({ kind: 'lora', source: 'civitai:203' });
    expect(resolver.stats.metadataCalls).toBe(2);
    expect(await setup.redis.exists(sourceMetadataKey(setup.prefix, 'civitai:203'))).toBe(0);
  });

  it('asks the host again for an entry it cannot read', async () => {
    civitai.versions[204] = json(versionJson(204));
    await setup.redis.set(sourceMetadataKey(setup.prefix, 'civitai:204'), '{"fileName":1}', 'EX', 60);
    const resolver = setup.resolver(endpoints);
    expect((await resolver.resolve({ kind: 'lora', source: 'civitai:204' })).verified).toBe(true);
    expect(resolver.stats).toMatchObject({ metadataCalls: 1, cacheHits: 0 });
  });

  it('works on without Redis, logging the failure', async () => {
    civitai.versions[205] = json(versionJson(205));
    const broken = new Redis({
      port: 1,
      lazyConnect: true,
      maxRetriesPerRequest: 0,
      enableOfflineQueue: false,
      retryStrategy: () => null,
    });
    try {
      const resolver = setup.resolver(endpoints, { redis: broken });
      expect((await resolver.resolve({ kind: 'lora', source: 'civitai:205' })).verified).toBe(true);
      expect(setup.log.lines.map((l) => l.msg)).toEqual(
        expect.arrayContaining(['source metadata cache unreadable; asking the host', 'source metadata not cached']),
      );
    } finally {
      broken.disconnect();
    }
  });
});
