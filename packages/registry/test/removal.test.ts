import { existsSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { beforeEach, describe, expect, it } from 'vitest';
import { registryPerTest } from './support/registry-per-test.js';
import { testEntry } from './support/test-entry.js';

const vol = registryPerTest('removal');
const registryText = () => readFileSync(path.join(vol.dir, 'cache_registry.json'), 'utf8');

beforeEach(async () => {
  for (const name of ['a', 'b']) {
    const file = path.join(vol.dir, 'loras', `${name}.safetensors`);
    writeFileSync(file, name);
    await vol.registry.put('lora', name, testEntry(file));
  }
});

describe('removing models', () => {
  it('removes file and entry together, and says what it removed', async () => {
    const removed = await vol.registry.removeWhere(() => [
      { kind: 'lora', name: 'a' },
      { kind: 'lora', name: 'missing' },
    ]);
    expect(removed).toEqual([
      { kind: 'lora', name: 'a', fileSize: 1, model: expect.objectContaining({ name: 'a', pinned: false }) },
    ]);
    expect(readdirSync(path.join(vol.dir, 'loras'))).toEqual(['b.safetensors']);
    expect(Object.keys(JSON.parse(registryText()).loras)).toEqual(['b']);
    expect(readdirSync(path.join(vol.dir, '.incoming'))).toEqual([]);
  });

  it('touches nothing when the last check before the files go refuses', async () => {
    const before = registryText();
    await expect(
      vol.registry.removeWhere(() => [{ kind: 'lora', name: 'a' }], {
        beforeRemove: async () => {
          throw new Error('leased meanwhile');
        },
      }),
    ).rejects.toThrow('leased meanwhile');
    expect(registryText()).toBe(before);
    expect(existsSync(path.join(vol.dir, 'loras', 'a.safetensors'))).toBe(true);
  });

  it('keeps a pin in the entry, where the old module keeps unknown fields', async () => {
    expect(await vol.registry.setPinned('lora', 'b', true)).toMatchObject({ name: 'b', pinned: true });
    expect(JSON.parse(registryText()).loras.b.pinned).toBe(true);
    expect(await vol.registry.setPinned('lora', 'b', false)).toMatchObject({ pinned: false });
    expect(JSON.parse(registryText()).loras.b).not.toHaveProperty('pinned');
    expect(await vol.registry.setPinned('lora', 'nope', true)).toBeUndefined();
  });
});
