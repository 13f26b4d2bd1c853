import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createLogger, volumeKeys } from '@model-manager/core';
import { Registry, prepareVolume } from '@model-manager/registry';

const redis = new Redis(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379');
let dir: string;
let registry: Registry;
const registryText = () => readFileSync(path.join(dir, 'cache_registry.json'), 'utf8');

beforeEach(async () => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'mm-removal-'));
  await prepareVolume(dir);
  const lockKey = volumeKeys(`mmtest-removal-${randomBytes(4).toString('hex')}`, false).registryLock;
  registry = new Registry({ modelsDir: dir, redis, lockKey, logger: createLogger({ level: 'silent', name: 'test' }) });
  for (const name of ['a', 'b']) {
    const file = path.join(dir, 'loras', `${name}.safetensors`);
    writeFileSync(file, name);
    await registry.put('lora', name, {
      url: '',
      path: file,
      hash: '',
      downloaded_at: 1,
      last_used: 1,
      usage_count: 0,
      file_size: 1,
    });
  }
});
afterEach(async () => {
  await registry.close();
  rmSync(dir, { recursive: true, force: true });
});
afterAll(() => {
  redis.disconnect();
});

describe('removing models', () => {
  it('removes file and entry together, and says what it removed', async () => {
    const removed = await registry.removeWhere(() => [
      { kind: 'lora', name: 'a' },
      { kind: 'lora', name: 'missing' },
    ]);
    expect(removed).toEqual([
      { kind: 'lora', name: 'a', fileSize: 1, model: expect.objectContaining({ name: 'a', pinned: false }) },
    ]);
    expect(readdirSync(path.join(dir, 'loras'))).toEqual(['b.safetensors']);
    expect(Object.keys(JSON.parse(registryText()).loras)).toEqual(['b']);
    expect(readdirSync(path.join(dir, '.incoming'))).toEqual([]);
  });

  it('touches nothing when the last check before the files go refuses', async () => {
    const before = registryText();
    await expect(
      registry.removeWhere(() => [{ kind: 'lora', name: 'a' }], {
        beforeRemove: async () => {
          throw new Error('leased meanwhile');
        },
      }),
    ).rejects.toThrow('leased meanwhile');
    expect(registryText()).toBe(before);
    expect(existsSync(path.join(dir, 'loras', 'a.safetensors'))).toBe(true);
  });

  it('keeps a pin in the entry, where the old module keeps unknown fields', async () => {
    expect(await registry.setPinned('lora', 'b', true)).toMatchObject({ name: 'b', pinned: true });
    expect(JSON.parse(registryText()).loras.b.pinned).toBe(true);
    expect(await registry.setPinned('lora', 'b', false)).toMatchObject({ pinned: false });
    expect(JSON.parse(registryText()).loras.b).not.toHaveProperty('pinned');
    expect(await registry.setPinned('lora', 'nope', true)).toBeUndefined();
  });
});
