import { randomBytes } from 'node:crypto';
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { SourceRecord } from '@model-manager/core';
import {
  publishModel,
  publishSameContent,
  sourceOfEntry,
  type Publication,
  type RegistryEntry,
} from '@model-manager/registry';
import { registryPerTest } from './support/registry-per-test.js';

// Where a model came from (a Hugging Face file, a Civitai version): recorded by a publication
// as the entry's `source`, shown in the Model view, and read generously from a file others write.
const vol = registryPerTest('source');
const registryFile = () => path.join(vol.dir, 'cache_registry.json');
const entries = () => JSON.parse(readFileSync(registryFile(), 'utf8')).loras;
const staged = (bytes: string) => {
  const file = path.join(vol.dir, '.incoming', `staged-${randomBytes(4).toString('hex')}`);
  writeFileSync(file, bytes);
  return file;
};
const publication = (over: Partial<Publication> = {}): Publication => {
  const file = staged('weights');
  return {
    kind: 'lora',
    name: 'a',
    url: 'https://huggingface.co/org/repo/resolve/main/a.safetensors',
    file,
    ext: '.safetensors',
    sha256: 'ab'.repeat(32),
    size: statSync(file).size,
    ...over,
  };
};
const hf: SourceRecord = {
  host: 'huggingface',
  repo: 'org/repo',
  revision: 'main',
  path: 'a.safetensors',
  commit: '0123456789abcdef0123456789abcdef01234567',
};
const civitai: SourceRecord = { host: 'civitai', versionId: 135867, modelId: 1234, fileId: 98765 };

describe('a publication records where the file came from', () => {
  it('a Hugging Face file: in the entry as `source`, and in the Model', async () => {
    const model = await publishModel(vol.registry, publication({ source: hf }));
    expect(entries().a.source).toEqual(hf);
    expect(model.source).toEqual(hf);
    expect((await vol.registry.model('lora', 'a'))?.source).toEqual(hf);
    expect((await vol.registry.list())[0]?.source).toEqual(hf);
  });

  it('a Civitai version, with the ids the host gave', async () => {
    await publishModel(vol.registry, publication({ name: 'c', source: civitai }));
    expect(entries().c.source).toEqual(civitai);
    expect((await vol.registry.model('lora', 'c'))?.source).toEqual(civitai);
  });

  it('nothing without a source: no field, and none in the Model', async () => {
    const model = await publishModel(vol.registry, publication());
    expect('source' in entries().a).toBe(false);
    expect('source' in model).toBe(false);
  });

  it('a download from another URL drops the old source; from the same URL without one, it is kept', async () => {
    await publishModel(vol.registry, publication({ source: hf }));
    await publishModel(vol.registry, publication());
    expect(entries().a.source).toEqual(hf);
    await publishModel(vol.registry, publication({ url: 'https://mirror.example/a.safetensors' }));
    expect('source' in entries().a).toBe(false);
  });

  it('a same-content link records the new request’s source, if it has one', async () => {
    await publishModel(vol.registry, publication({ source: hf }));
    const tmp = (name: string) => path.join(vol.dir, '.incoming', `tmp-${name}`);
    const ref = {
      kind: 'lora' as const,
      url: 'https://civitai.com/api/download/models/135867',
      sha256: 'ab'.repeat(32),
    };
    const linked = await publishSameContent(vol.registry, { ...ref, name: 'b', source: civitai }, tmp('b'));
    expect(linked?.model.source).toEqual(civitai);
    expect(entries().b.source).toEqual(civitai);
    await publishSameContent(vol.registry, { ...ref, name: 'plain' }, tmp('plain'));
    expect('source' in entries().plain).toBe(false);
  });
});

describe('an entry’s source, read generously', () => {
  const entry = (source: unknown): RegistryEntry => ({
    url: '',
    path: '/p/a.safetensors',
    hash: '',
    downloaded_at: 0,
    last_used: 0,
    usage_count: 0,
    file_size: 1,
    source,
  });

  it('takes ids written as strings, null for a field not recorded, and leaves out fields it does not know', () => {
    expect(sourceOfEntry(entry({ host: 'civitai', versionId: ' 135867 ', modelId: null, note: 'by hand' }))).toEqual({
      host: 'civitai',
      versionId: 135867,
    });
    expect(sourceOfEntry(entry({ ...hf, commit: null, extra: 1 }))).toEqual({
      host: 'huggingface',
      repo: 'org/repo',
      revision: 'main',
      path: 'a.safetensors',
    });
  });

  it('shows no source that makes no sense', () => {
    for (const bad of [
      'hf:org/repo/a.safetensors',
      42,
      [],
      { host: 'github', repo: 'x' },
      { host: 'civitai', versionId: 'latest' },
      { host: 'civitai', versionId: 1.5 },
      { host: 'huggingface', repo: 'org/repo', path: 'a.safetensors' },
      { host: 'huggingface', repo: '', revision: 'main', path: 'a.safetensors' },
    ])
      expect(sourceOfEntry(entry(bad)), JSON.stringify(bad)).toBeUndefined();
    expect(sourceOfEntry(entry(undefined))).toBeUndefined();
    expect(sourceOfEntry(entry(null))).toBeUndefined();
  });

  it('an entry whose source makes no sense is still a usable model, and the field stays in the file as written', async () => {
    const bad = { host: 'civitai', versionId: 'latest', by: 'hand' };
    await publishModel(vol.registry, publication());
    const written = JSON.parse(readFileSync(registryFile(), 'utf8'));
    written.loras.a.source = bad;
    writeFileSync(registryFile(), JSON.stringify(written));
    vol.registry.invalidate();
    const model = await vol.registry.model('lora', 'a');
    expect(model).toMatchObject({ kind: 'lora', name: 'a', fileSize: 7 });
    expect(model && 'source' in model).toBe(false);
    expect(await vol.registry.check('lora', 'a', 'ab'.repeat(32))).toMatchObject({ hit: true });
    // Another change to the registry writes the entry back with its source untouched.
    await vol.registry.setPinned('lora', 'a', true);
    expect(entries().a).toMatchObject({ pinned: true, source: bad });
  });
});
