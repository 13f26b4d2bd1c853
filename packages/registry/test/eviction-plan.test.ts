import { describe, expect, it } from 'vitest';
import {
  evictionScore,
  parseRegistry,
  planEviction,
  type EvictionInput,
  type RegistryData,
  type RegistryEntry,
} from '@model-manager/registry';

const DAY = 86_400;
const NOW = 1000 * DAY;

const entry = (size: number, idleDays: number, usage = 0, extra: Partial<RegistryEntry> = {}): RegistryEntry => ({
  url: '',
  path: '/x',
  hash: '',
  downloaded_at: NOW - 100 * DAY,
  last_used: NOW - idleDays * DAY,
  usage_count: usage,
  file_size: size,
  ...extra,
});

const registry = (
  loras: Record<string, RegistryEntry>,
  checkpoints: Record<string, RegistryEntry> = {},
): RegistryData => ({
  checkpoints,
  loras,
  embeddings: {},
  last_updated: 0,
});

const input = (over: Partial<EvictionInput> = {}): EvictionInput => ({
  nowSeconds: NOW,
  freeBytes: 1e12,
  minFreeBytes: 0,
  graceSeconds: 3600,
  keep: new Map(),
  ...over,
});

describe('the value rule', () => {
  it('grows with idle time and size, shrinks with use', () => {
    const base = { fileSize: 100, lastUsed: NOW - 10 * DAY, usageCount: 0 };
    expect(evictionScore({ ...base, lastUsed: NOW - 20 * DAY }, NOW)).toBeGreaterThan(evictionScore(base, NOW));
    expect(evictionScore({ ...base, fileSize: 200 }, NOW)).toBeCloseTo(2 * evictionScore(base, NOW));
    expect(evictionScore({ ...base, usageCount: 9 }, NOW)).toBeCloseTo(evictionScore(base, NOW) / 10);
    // A model used a moment ago still has a size-weighted score, never a negative one.
    expect(evictionScore({ ...base, lastUsed: NOW + 5 }, NOW)).toBe(100);
  });
});

describe('planEviction', () => {
  it('removes the least valuable first, only until the quota holds', () => {
    const data = registry({
      bigStale: entry(400, 30),
      smallStale: entry(100, 30),
      bigUsed: entry(400, 30, 9),
      fresh: entry(100, 1),
    });
    const plan = planEviction(data, input({ maxBytes: 500 }));
    expect(plan.remove.map((r) => [r.name, r.reason])).toEqual([
      ['bigStale', 'max-bytes'],
      ['smallStale', 'max-bytes'],
    ]);
    expect(plan).toMatchObject({ fits: true, totalBytes: 500 });
  });

  it('nothing to do when both limits hold', () => {
    const plan = planEviction(
      registry({ a: entry(100, 30) }),
      input({ maxBytes: 100, freeBytes: 50, minFreeBytes: 50 }),
    );
    expect(plan).toMatchObject({ remove: [], skipped: [], fits: true });
  });

  it('frees space for MIN_FREE_BYTES and counts a download about to start', () => {
    const data = registry({ a: entry(300, 30), b: entry(300, 20), c: entry(300, 10) });
    const plan = planEviction(data, input({ freeBytes: 200, minFreeBytes: 400, needBytes: 300 }));
    // 200 free - 300 needed < 400 kept free: two models must go (each frees 300).
    expect(plan.remove.map((r) => [r.name, r.reason])).toEqual([
      ['a', 'min-free'],
      ['b', 'min-free'],
    ]);
    expect(plan.freeBytes).toBe(800);
  });

  it('names the limit each removal was for', () => {
    const data = registry({ a: entry(100, 30), b: entry(100, 20), c: entry(100, 10) });
    const plan = planEviction(data, input({ maxBytes: 200, freeBytes: 0, minFreeBytes: 150 }));
    expect(plan.remove.map((r) => [r.name, r.reason])).toEqual([
      ['a', 'max-bytes'],
      ['b', 'min-free'],
    ]);
  });

  it('never removes pinned, leased, in-flight or too young models, and says why it kept them', () => {
    const data = registry({
      pinned: entry(100, 90, 0, { pinned: true }),
      leased: entry(100, 80),
      busy: entry(100, 70),
      young: entry(100, 60, 0, { downloaded_at: NOW - 600 }),
      victim: entry(100, 1),
    });
    const keep = new Map([
      ['lora/leased', 'leased' as const],
      ['lora/busy', 'in-flight' as const],
    ]);
    const plan = planEviction(data, input({ maxBytes: 0, keep }));
    expect(plan.remove.map((r) => r.name)).toEqual(['victim']);
    expect(plan.skipped).toEqual([
      { kind: 'lora', name: 'pinned', reason: 'pinned' },
      { kind: 'lora', name: 'leased', reason: 'leased' },
      { kind: 'lora', name: 'busy', reason: 'in-flight' },
      { kind: 'lora', name: 'young', reason: 'grace' },
    ]);
    expect(plan.fits).toBe(false);
  });

  it('leaves out models another rule already removes, and entries of the file that make no sense', () => {
    const parsed = parseRegistry(
      JSON.stringify(
        registry(
          { gone: entry(500, 90), keep: entry(100, 1) },
          { broken: { path: 3, file_size: 10 ** 9 } as unknown as RegistryEntry },
        ),
      ),
    );
    if (parsed.status !== 'ok') throw new Error(parsed.status);
    const data = parsed.data;
    const plan = planEviction(data, input({ maxBytes: 100, alreadyRemoved: new Set(['lora/gone']) }));
    expect(plan).toMatchObject({ remove: [], fits: true, totalBytes: 100 });
  });

  it('is the same plan for the same registry (ties broken by idle time, then name)', () => {
    const data = registry({ b: entry(100, 10), a: entry(100, 10) }, { a: entry(100, 10) });
    const plan = planEviction(data, input({ maxBytes: 100 }));
    expect(plan.remove.map((r) => `${r.kind}/${r.name}`)).toEqual(['checkpoint/a', 'lora/a']);
  });
});
