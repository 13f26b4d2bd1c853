import { afterAll, beforeAll } from 'vitest';
import { TestOrigin } from './origin.js';
import { startService, type Service } from './service.js';
import { dropVolumeKeys } from './volume-keys.js';

export interface SuiteService {
  origin: TestOrigin;
  /** Set once beforeAll has run. */
  svc: Service;
}

/**
 * A test origin and the real API and worker for one describe block, on a prefix and volume of
 * their own, without the cleanup schedule or the free-space margin: only what a test asks for
 * removes a model. Leases (volume-wide keys) are dropped afterwards with the rest.
 */
export function servicePerSuite(label: string, extraEnv: Record<string, string> = {}): SuiteService {
  const suite = { origin: new TestOrigin() } as SuiteService;
  beforeAll(async () => {
    await suite.origin.start();
    suite.svc = await startService(label, {
      DOWNLOAD_ATTEMPTS: '1',
      CLEANUP_CRON: 'off',
      MIN_FREE_BYTES: '0',
      ...extraEnv,
    });
  });
  afterAll(async () => {
    if (suite.svc) {
      await dropVolumeKeys(suite.svc.modelsDir);
      await suite.svc.stop();
    }
    await suite.origin.close();
  });
  return suite;
}
