import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeEach } from 'vitest';
import { volumeKeys } from '@model-manager/core';
import { prepareVolume } from '@model-manager/registry';
import { REDIS_URL } from '../../../../test/support/redis-url.js';

export interface TestVolume {
  /** The test file's one connection, closed after its tests. */
  redis: Redis;
  /** A prepared models folder of this test's own (`mm-LABEL-…` in the temp folder). */
  dir: string;
  /** A registry lock key of this test's own. */
  lockKey: string;
}

/**
 * A fresh volume and lock key for each test of a file, removed after it. `dir` and `lockKey`
 * change per test: read them inside tests and hooks, not at the top of the file.
 */
export function volumePerTest(label: string): TestVolume {
  const volume: TestVolume = { redis: new Redis(REDIS_URL), dir: '', lockKey: '' };
  beforeEach(async () => {
    volume.dir = mkdtempSync(path.join(os.tmpdir(), `mm-${label}-`));
    volume.lockKey = volumeKeys(`mmtest-${label}-${randomBytes(4).toString('hex')}`, false).registryLock;
    await prepareVolume(volume.dir);
  });
  afterEach(async () => {
    await volume.redis.del(volume.lockKey);
    rmSync(volume.dir, { recursive: true, force: true });
  });
  afterAll(() => volume.redis.disconnect());
  return volume;
}
