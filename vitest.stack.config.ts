import { defineConfig } from 'vitest/config';

// The container checks of test/stack/: run by .ci/containers/check, against images it built and
// a Docker daemon it started; `npm test` (vitest.config.ts) leaves them out.
export default defineConfig({
  test: {
    include: ['test/stack/**/*.test.ts'],
    testTimeout: 120_000,
    hookTimeout: 180_000,
    pool: 'forks',
    maxWorkers: 1,
    // One stack, checked in order: start, look, stop.
    sequence: { concurrent: false },
  },
});
