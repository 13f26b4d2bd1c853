import { afterEach, beforeEach } from 'vitest';
import { createLogger } from '@model-manager/core';
import { Registry } from '@model-manager/registry';
import { type TestVolume, volumePerTest } from './volume-per-test.js';

/**
 * volumePerTest with a Registry open on each test's volume, closed after the test (before its
 * volume goes: after-hooks run last-registered first).
 */
export function registryPerTest(label: string): TestVolume & { registry: Registry } {
  const volume = volumePerTest(label);
  const withRegistry = Object.assign(volume, { registry: undefined as unknown as Registry });
  beforeEach(() => {
    withRegistry.registry = new Registry({
      modelsDir: volume.dir,
      redis: volume.redis,
      lockKey: volume.lockKey,
      logger: createLogger({ level: 'silent', name: 'test' }),
    });
  });
  afterEach(() => withRegistry.registry.close());
  return withRegistry;
}
