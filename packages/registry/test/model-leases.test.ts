import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { volumeKeys } from '@model-manager/core';
import { ModelLeases, volumeId } from '@model-manager/registry';
import { volumePerTest } from './support/volume-per-test.js';

const vol = volumePerTest('leases');
let leases: ModelLeases;

beforeEach(() => {
  leases = new ModelLeases(vol.redis, vol.dir, 900);
});
afterEach(async () => {
  const keys = await vol.redis.keys(volumeKeys(await volumeId(vol.dir), false).pattern);
  if (keys.length > 0) await vol.redis.unlink(...keys);
});

describe('model leases', () => {
  it('protect their models until released, extended or not', async () => {
    const lease = await leases.create([
      { kind: 'lora', name: 'a' },
      { kind: 'lora', name: 'a' },
      { kind: 'checkpoint', name: 'b c' },
    ]);
    expect(lease.models).toEqual([
      { kind: 'lora', name: 'a' },
      { kind: 'checkpoint', name: 'b c' },
    ]);
    expect(await leases.leased()).toEqual(new Set(['lora/a', 'checkpoint/b c']));
    const extended = await leases.extend(lease.leaseId, 30);
    expect(extended?.models).toEqual(lease.models);
    expect(await leases.release(lease.leaseId)).toBe(true);
    expect(await leases.leased()).toEqual(new Set());
    expect(await leases.release(lease.leaseId)).toBe(false);
    expect(await leases.extend(lease.leaseId)).toBeNull();
  });

  it('vanish when they expire', async () => {
    const lease = await leases.create([{ kind: 'lora', name: 'short' }], 1);
    expect(await leases.leased()).toEqual(new Set(['lora/short']));
    await expect.poll(() => leases.leased(), { timeout: 5000, interval: 100 }).toEqual(new Set());
    expect(await leases.extend(lease.leaseId)).toBeNull();
  });

  it('and an eviction never both win: a leased model is not marked, a marked model makes the lease wait', async () => {
    const lease = await leases.create([{ kind: 'lora', name: 'held' }]);
    expect(await leases.markEvicting(['lora/free', 'lora/held'])).toEqual(['lora/held']);
    // Nothing was marked, so a new lease on `free` does not wait.
    await leases.create([{ kind: 'lora', name: 'free' }]);
    await leases.release(lease.leaseId);

    expect(await leases.markEvicting(['lora/going'])).toEqual([]);
    let leased = false;
    const waiting = leases.create([{ kind: 'lora', name: 'going' }]).then(() => {
      leased = true;
    });
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(leased).toBe(false);
    await leases.unmarkEvicting(['lora/going']);
    await waiting;
    expect(leased).toBe(true);
  });
});
