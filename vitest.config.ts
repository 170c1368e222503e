import { defineConfig } from 'vitest/config';

/**
 * Two projects: `unit` (pure code next to its sources, and test/lint/, no servers) and `integration`
 * (test/, against one real Temporal dev server and one real PostgreSQL started by
 * test/global-setup.ts for the whole run).
 */
export default defineConfig({
  test: {
    pool: 'forks',
    maxWorkers: 2,
    projects: [
      {
        test: {
          name: 'unit',
          include: ['{chain,workflows,activities,db,api,temporal,cli,lib}/**/*.test.ts', 'web/src/**/*.test.ts', 'test/lint/**/*.test.ts'],
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
    ],
  },
});
