import { describe, expect, it } from 'vitest';
import { ConfigError, MAINTENANCE_JOB_ID, loadConfig } from '@model-manager/core';

describe('eviction settings', () => {
  it('have the documented defaults: no quota, an hour of grace, 15-minute leases, a daily cleanup', () => {
    const config = loadConfig({});
    expect(config.CACHE_MAX_BYTES).toBeUndefined();
    expect(config).toMatchObject({
      EVICTION_GRACE_SECONDS: 3600,
      LEASE_SECONDS: 900,
      CLEANUP_CRON: '0 4 * * *',
      MIN_FREE_BYTES: 1024 ** 3,
    });
  });
  it('read a quota in bytes and refuse a negative one', () => {
    expect(loadConfig({ CACHE_MAX_BYTES: '300000000000' }).CACHE_MAX_BYTES).toBe(300_000_000_000);
    expect(() => loadConfig({ CACHE_MAX_BYTES: '-1' })).toThrow(ConfigError);
    expect(() => loadConfig({ LEASE_SECONDS: '0' })).toThrow(/LEASE_SECONDS/);
  });
});

describe('maintenance job ids', () => {
  it('include the jobs the cleanup schedule makes', () => {
    expect(MAINTENANCE_JOB_ID.test('repeat:cleanup-schedule:1764216000000')).toBe(true);
    expect(MAINTENANCE_JOB_ID.test('cleanup-5b0c')).toBe(true);
    expect(MAINTENANCE_JOB_ID.test('repeat:other:1')).toBe(false);
    expect(MAINTENANCE_JOB_ID.test('42')).toBe(false);
  });
});
