import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createLogger, volumeKeys } from '@model-manager/core';
import { Registry, parseRegistry, prepareVolume, serializeRegistry } from '@model-manager/registry';

const redis = new Redis(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379');
const logger = createLogger({ level: 'silent', name: 'test' });
/** cache_registry.json as the Python module wrote it (json.dump, indent=2): float times, /workspace paths, an upper-case hash. */
const fixture = readFileSync(
  path.join(path.dirname(fileURLToPath(import.meta.url)), 'fixtures', 'old-module-registry.json'),
  'utf8',
);
const UPPER = 'C93EEE2D0DB02F10ACC7460D9576E122DCF8CD53C4BF8DFCAE1B3E74EBCFFF5A';
let dir: string;
let lockKey: string;

beforeEach(async () => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'mm-old-module-'));
  lockKey = volumeKeys(`mmtest-old-module-${randomBytes(4).toString('hex')}`, false).registryLock;
  await prepareVolume(dir);
  writeFileSync(path.join(dir, 'checkpoints', 'old-dreamshaper.safetensors'), Buffer.alloc(4096, 'a'));
  writeFileSync(path.join(dir, 'loras', 'old-detail.safetensors'), Buffer.alloc(2048, 'b'));
  writeFileSync(path.join(dir, 'cache_registry.json'), fixture);
});
afterEach(async () => {
  await redis.del(lockKey);
  rmSync(dir, { recursive: true, force: true });
});
afterAll(() => redis.disconnect());

describe('a registry the old Python module wrote', () => {
  it('is read as it is, compares the upper-case hash in either case, and is written back with it in lower case', async () => {
    expect(fixture).toContain(UPPER);
    const registry = new Registry({ modelsDir: dir, redis, lockKey, logger, hitFlushMs: 50 });
    expect((await registry.check('checkpoint', 'old-dreamshaper', UPPER.toLowerCase())).hit).toBe(true);
    expect((await registry.check('checkpoint', 'old-dreamshaper', UPPER)).hit).toBe(true);
    expect((await registry.findByHash(UPPER.toLowerCase()))?.name).toBe('old-dreamshaper');
    expect((await registry.model('checkpoint', 'old-dreamshaper'))?.sha256).toBe(UPPER.toLowerCase());

    registry.recordHit('lora', 'old-detail'); // any write will do
    await registry.close();
    const written = JSON.parse(readFileSync(path.join(dir, 'cache_registry.json'), 'utf8'));
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
