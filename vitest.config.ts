import { defineConfig } from 'vitest/config';

// Four projects: pure unit tests once, every database-backed suite twice, on the embedded
// database (PGlite) and on a throwaway PostgreSQL cluster started by the global setup, and the
// browser suites (headless Chromium, test/e2e/support/browser.ts) once. A browser suite that needs
// a server on a database (the sign-in flows) goes in test/e2e/flows/ and runs on both databases.
const databaseSuites = ['test/{db,domain,http,oidc,cli,process,security}/**/*.test.ts', 'test/e2e/flows/**/*.spec.ts'];

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
        test: { name: 'browser', include: ['test/e2e/*.spec.ts'], testTimeout: 60_000 },
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
