import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { beforeEach, describe, expect, it } from 'vitest';
import { createLogger } from '@model-manager/core';
import { Registry, parseRegistry, serializeRegistry } from '@model-manager/registry';
import { volumePerTest } from './support/volume-per-test.js';

const logger = createLogger({ level: 'silent', name: 'test' });
/** cache_registry.json as the Python module wrote it (json.dump, indent=2): float times, /workspace paths, an upper-case hash. */
const fixture = readFileSync(
  path.join(path.dirname(fileURLToPath(import.meta.url)), 'fixtures', 'old-module-registry.json'),
  'utf8',
);
const UPPER = 'C93EEE2D0DB02F10ACC7460D9576E122DCF8CD53C4BF8DFCAE1B3E74EBCFFF5A';
const vol = volumePerTest('old-module');

beforeEach(async () => {
  writeFileSync(path.join(vol.dir, 'checkpoints', 'old-dreamshaper.safetensors'), Buffer.alloc(4096, 'a'));
  writeFileSync(path.join(vol.dir, 'loras', 'old-detail.safetensors'), Buffer.alloc(2048, 'b'));
  writeFileSync(path.join(vol.dir, 'cache_registry.json'), fixture);
});

describe('a registry the old Python module wrote', () => {
  it('is read as it is, compares the upper-case hash in either case, and is written back with it in lower case', async () => {
    expect(fixture).toContain(UPPER);
    const registry = new Registry({
      modelsDir: vol.dir,
      redis: vol.redis,
      lockKey: vol.lockKey,
      logger,
      hitFlushMs: 50,
    });
    expect((await registry.check('checkpoint', 'old-dreamshaper', UPPER.toLowerCase())).hit).toBe(true);
    expect((await registry.check('checkpoint', 'old-dreamshaper', UPPER)).hit).toBe(true);
    expect((await registry.findByHash(UPPER.toLowerCase()))?.name).toBe('old-dreamshaper');
    expect((await registry.model('checkpoint', 'old-dreamshaper'))?.sha256).toBe(UPPER.toLowerCase());

    registry.recordHit('lora', 'old-detail'); // any write will do
    await registry.close();
    const written = JSON.parse(readFileSync(path.join(vol.dir, 'cache_registry.json'), 'utf8'));
    expect(written.checkpoints['old-dreamshaper']).toEqual({
      ...JSON.parse(fixture).checkpoints['old-dreamshaper'],
      hash: UPPER.toLowerCase(),
    });
    expect(written.loras['old-detail'].usage_count).toBe(1);
  });

  it('is written back with hashes lower-cased and nothing else changed, entries it cannot read included', () => {
    const text = JSON.stringify({
      checkpoints: { a: { hash: 'ABC', path: '/x', file_size: 1 }, odd: 'not an entry' },
      loras: { b: { hash: 5 } },
    });
    const result = parseRegistry(text);
    if (result.status !== 'ok') throw new Error(result.status);
    expect(Object.keys(result.data.checkpoints)).toEqual(['a']);
    expect(result.data.loras).toEqual({});
    const written = JSON.parse(serializeRegistry(result.data));
    expect(written.checkpoints).toEqual({
      a: { hash: 'abc', path: '/x', file_size: 1, url: '', downloaded_at: 0, last_used: 0, usage_count: 0 },
      odd: 'not an entry',
    });
    expect(written.loras).toEqual({ b: { hash: 5 } });
    expect(written.embeddings).toEqual({});
  });
});
