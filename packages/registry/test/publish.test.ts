import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { publishModel, publishSameContent, type Publication } from '@model-manager/registry';
import { registryPerTest } from './support/registry-per-test.js';

const vol = registryPerTest('publish');
const registryText = () => readFileSync(path.join(vol.dir, 'cache_registry.json'), 'utf8');
const entries = () => JSON.parse(registryText()).loras;
const staged = (bytes: string) => {
  const file = path.join(vol.dir, '.incoming', `staged-${randomBytes(4).toString('hex')}`);
  writeFileSync(file, bytes);
  return file;
};
const publication = (file: string, over: Partial<Publication> = {}): Publication => ({
  kind: 'lora',
  name: 'a',
  url: 'https://example.test/a.safetensors',
  file,
  ext: '.safetensors',
  sha256: 'ab'.repeat(32),
  size: statSync(file).size,
  ...over,
});

describe('publishing a model', () => {
  it('moves the file into its kind folder and writes its entry, counted as its first use', async () => {
    const file = staged('weights');
    const model = await publishModel(vol.registry, publication(file));
    const finalPath = path.join(vol.dir, 'loras', 'a.safetensors');
    expect(model).toMatchObject({
      kind: 'lora',
      name: 'a',
      path: finalPath,
      url: 'https://example.test/a.safetensors',
      fileSize: 7,
      usageCount: 1,
    });
    expect(readFileSync(finalPath, 'utf8')).toBe('weights');
    expect(existsSync(file)).toBe(false);
    const entry = entries().a;
    expect(entry).toMatchObject({ path: finalPath, hash: 'ab'.repeat(32), usage_count: 1, file_size: 7 });
    expect(entry.last_used).toBe(entry.downloaded_at);
    expect(Math.abs(entry.last_used - Date.now() / 1000)).toBeLessThan(60);
  });

  it('replaces the same model under another extension and keeps its usage count', async () => {
    await publishModel(vol.registry, publication(staged('old'), { ext: '.ckpt' }));
    await vol.registry.update((data) => {
      data.loras.a!.usage_count = 5;
    });
    const model = await publishModel(vol.registry, publication(staged('new!')));
    expect(model.usageCount).toBe(5);
    expect(readdirSync(path.join(vol.dir, 'loras'))).toEqual(['a.safetensors']);
    expect(entries().a).toMatchObject({
      path: path.join(vol.dir, 'loras', 'a.safetensors'),
      usage_count: 5,
      file_size: 4,
    });
  });

  it('leaves neither file nor entry when the last check before the file appears refuses', async () => {
    await publishModel(vol.registry, publication(staged('other'), { name: 'other' }));
    const before = registryText();
    const file = staged('weights');
    const refused = publishModel(
      vol.registry,
      publication(file, { beforePlace: () => Promise.reject(new Error('job taken over')) }),
    );
    await expect(refused).rejects.toThrow('job taken over');
    expect(readdirSync(path.join(vol.dir, 'loras'))).toEqual(['other.safetensors']);
    expect(registryText()).toBe(before);
    expect(readFileSync(file, 'utf8')).toBe('weights');
  });

  it('moves the file back when the registry cannot be replaced after it was placed', async () => {
    const file = staged('weights');
    // A directory appears where the registry file goes: replacing it fails after the file is placed.
    const blockRegistry = async () => {
      mkdirSync(path.join(vol.dir, 'cache_registry.json', 'blocker'), { recursive: true });
    };
    await expect(publishModel(vol.registry, publication(file, { beforePlace: blockRegistry }))).rejects.toThrow();
    expect(readdirSync(path.join(vol.dir, 'loras'))).toEqual([]);
    expect(readFileSync(file, 'utf8')).toBe('weights');
  });

  it('is ordered with a removal of the same model by the registry lease', async () => {
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    let entered!: () => void;
    const inside = new Promise<void>((resolve) => (entered = resolve));
    const order: string[] = [];
    const publishing = publishModel(
      vol.registry,
      publication(staged('weights'), {
        beforePlace: async () => {
          entered();
          await gate;
        },
      }),
    ).then(() => order.push('published'));
    await inside;
    const removing = vol.registry
      .removeWhere(() => [{ kind: 'lora', name: 'a' }])
      .then((removed) => {
        order.push('removed');
        return removed;
      });
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(order).toEqual([]); // the removal waits for the lease the publication holds
    release();
    const removed = await removing;
    await publishing;
    expect(order).toEqual(['published', 'removed']);
    expect(removed.map((r) => r.name)).toEqual(['a']);
    expect(readdirSync(path.join(vol.dir, 'loras'))).toEqual([]);
    expect(entries().a).toBeUndefined();
  });
});

describe('publishing the same content under another name', () => {
  it('links the bytes already on the volume and counts the new name as used once', async () => {
    await publishModel(vol.registry, publication(staged('shared bytes')));
    const tmp = path.join(vol.dir, '.incoming', 'tmp-link');
    const linked = await publishSameContent(
      vol.registry,
      { kind: 'lora', name: 'b', url: 'https://example.test/b', sha256: 'AB'.repeat(32) },
      tmp,
    );
    expect(linked).toMatchObject({
      how: 'hard link',
      from: { kind: 'lora', name: 'a' },
      model: { name: 'b', usageCount: 1, fileSize: 12 },
    });
    const b = path.join(vol.dir, 'loras', 'b.safetensors');
    expect(readFileSync(b, 'utf8')).toBe('shared bytes');
    expect(statSync(b).ino).toBe(statSync(path.join(vol.dir, 'loras', 'a.safetensors')).ino);
    expect(entries().b).toMatchObject({ url: 'https://example.test/b', path: b });
    expect(existsSync(tmp)).toBe(false);
  });

  it('publishes nothing without a hash, without a twin, or when the twin is this very model', async () => {
    await publishModel(vol.registry, publication(staged('bytes')));
    const tmp = path.join(vol.dir, '.incoming', 'tmp-link');
    expect(await publishSameContent(vol.registry, { kind: 'lora', name: 'b', url: '' }, tmp)).toBeNull();
    expect(
      await publishSameContent(vol.registry, { kind: 'lora', name: 'b', url: '', sha256: 'cd'.repeat(32) }, tmp),
    ).toBeNull();
    expect(
      await publishSameContent(vol.registry, { kind: 'lora', name: 'a', url: '', sha256: 'ab'.repeat(32) }, tmp),
    ).toBeNull();
    expect(readdirSync(path.join(vol.dir, '.incoming'))).toEqual([]);
  });
});
