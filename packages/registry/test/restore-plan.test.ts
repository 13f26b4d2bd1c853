import { describe, expect, it } from 'vitest';
import {
  mergeSameFile,
  planRestore,
  rebuildFromLastGood,
  type RegistryData,
  type RegistryEntry,
} from '@model-manager/registry';

const entry = (name: string, extra: Partial<RegistryEntry> = {}): RegistryEntry => ({
  url: `https://origin/${name}`,
  path: `/workspace/models/loras/${name}.safetensors`,
  hash: `${name}`.padEnd(64, '0'),
  downloaded_at: 100,
  last_used: 100,
  usage_count: 1,
  file_size: 10,
  ...extra,
});
const registry = (loras: Record<string, RegistryEntry>, extra: Record<string, unknown> = {}): RegistryData => ({
  checkpoints: {},
  loras,
  embeddings: {},
  last_updated: 0,
  ...extra,
});

describe('restoring what a rewrite from an older copy dropped', () => {
  it('puts back pins as the service set them, the larger counts, and fields the older copy lacks', () => {
    const lastGood = entry('a', { pinned: true, usage_count: 5, last_used: 300, civitai: { id: 1 } });
    expect(mergeSameFile(entry('a', { usage_count: 7 }), lastGood)).toEqual({ ...lastGood, usage_count: 7 });
    // Unpinned since the older copy was loaded: the pin goes.
    expect(mergeSameFile(entry('a', { pinned: true }), entry('a'))).toEqual(entry('a'));
    expect(mergeSameFile(entry('a', { url: '' }), entry('a'))).toEqual(entry('a'));
    expect(mergeSameFile(entry('a', { usage_count: 9 }), entry('a'))).toBeNull();
  });

  it('merges entries for the same file, and leaves entries it lost or that describe another file to a disk check', () => {
    const current = registry({
      same: entry('same'),
      other: entry('other', { file_size: 11, hash: 'f'.repeat(64) }),
      theirs: entry('theirs'),
    });
    const lastGood = registry({
      same: entry('same', { pinned: true }),
      other: entry('other'),
      dropped: entry('dropped'),
    });
    const { merged, candidates } = planRestore(current, lastGood);
    expect(merged).toEqual([{ kind: 'lora', name: 'same', entry: entry('same', { pinned: true }) }]);
    expect(candidates).toEqual([
      { kind: 'lora', name: 'other', entry: entry('other'), current: current.loras.other },
      { kind: 'lora', name: 'dropped', entry: entry('dropped') },
    ]);
  });
});

describe('rebuilding a corrupt registry', () => {
  const pending = (name: string, file = `${name}.safetensors`): RegistryEntry => ({
    ...entry(name),
    path: `/vol/loras/${file}`,
    url: '',
    hash: '',
    usage_count: 0,
    hash_pending: true,
    rebuilt: true,
  });

  it('describes known files as the last copy did, keeps unknown files pending, leaves out entries whose file is gone', () => {
    const lastGood = registry(
      {
        known: entry('known', { pinned: true, usage_count: 4 }),
        renamed: entry('file-of-renamed'),
        gone: entry('gone'),
      },
      { webui: { x: 1 } },
    );
    const found = registry({
      known: pending('known'),
      'file-of-renamed': pending('file-of-renamed'),
      stranger: pending('stranger'),
    });
    const { data, known, unknown } = rebuildFromLastGood(lastGood, found);
    expect(data.loras).toEqual({
      known: lastGood.loras.known,
      renamed: lastGood.loras.renamed,
      stranger: found.loras.stranger,
    });
    expect(data.webui).toEqual({ x: 1 });
    expect({ known, unknown }).toEqual({ known: 2, unknown: 1 });
  });

  it('is the folders alone without a last copy', () => {
    const found = registry({ a: pending('a') });
    expect(rebuildFromLastGood(null, found)).toEqual({ data: found, known: 0, unknown: 1 });
  });
});
