import { defineConfig } from 'vitest/config';

// Three projects: pure unit tests once, and every database-backed suite twice, on the embedded
// database (PGlite) and on a throwaway PostgreSQL cluster started by the global setup.
const databaseSuites = ['test/{db,domain,http,oidc,cli,process,security}/**/*.test.ts'];

export default defineConfig({
  test: {
    testTimeout: 30_000,
    hookTimeout: 120_000,
    pool: 'forks',
    allowOnly: false,
    projects: [
      {
        extends: true,
        test: { name: 'unit', include: ['src/**/*.test.{ts,tsx}', 'test/unit/**/*.test.{ts,tsx}'] },
      },
      {
        extends: true,
        test: {
          name: 'pglite',
          include: databaseSuites,
          env: { TEST_DB: 'pglite' },
          globalSetup: ['test/support/global-setup.ts'],
        },
      },
      {
        extends: true,
        test: {
          name: 'postgres',
          include: databaseSuites,
          env: { TEST_DB: 'postgres' },
          globalSetup: ['test/support/global-setup.ts'],
        },
      },
    ],
  },
});
