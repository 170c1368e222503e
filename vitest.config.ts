import { defineConfig } from 'vitest/config';

/**
 * Three projects: `unit` (pure code next to its sources, and test/lint/, no servers), `integration`
 * (test/, against one real Temporal dev server and one real PostgreSQL started by
 * test/global-setup.ts for the whole run) and `e2e` (test/e2e/, Chromium against the built app).
 */
export default defineConfig({
  test: {
    pool: 'forks',
    maxWorkers: 2,
    projects: [
      {
        test: {
          name: 'unit',
          include: ['{chain,workflows,activities,db,api,temporal,cli,lib}/**/*.test.ts', 'web/src/**/*.test.ts', 'web/scripts/**/*.test.ts', 'test/lint/**/*.test.ts'],
          environment: 'node',
        },
      },
      {
        test: {
          name: 'integration',
          include: ['test/**/*.test.ts'],
          exclude: ['test/e2e/**', 'test/lint/**'],
          globalSetup: ['test/global-setup.ts'],
          testTimeout: 60_000,
          hookTimeout: 180_000,
        },
      },
      {
        // Browser tests: Debian's Chromium (playwright-core) against the built web app
        // served by the real API on the same stack.
        test: {
          name: 'e2e',
          include: ['test/e2e/**/*.test.ts'],
          globalSetup: ['test/global-setup.ts', 'test/e2e/build-web.ts'],
          testTimeout: 120_000,
          hookTimeout: 180_000,
        },
      },
    ],
  },
});
