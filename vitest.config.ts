import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['packages/*/test/**/*.test.ts', 'apps/*/test/**/*.test.ts', 'test/**/*.test.ts'],
    // The container checks need images and a Docker daemon: .ci/containers/check runs them.
    exclude: ['test/stack/**', '**/node_modules/**'],
    // Real Redis, real processes, real HTTP: give set-up room on a busy 2-core machine.
    testTimeout: 60_000,
    hookTimeout: 60_000,
    pool: 'forks',
    maxWorkers: 2,
  },
});
