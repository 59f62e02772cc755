import { defineConfig } from 'vitest/config';

// Tests run from TypeScript sources: the "@events/source" export condition maps every
// workspace import (and its subpaths) to src, so no build step comes before a test.
const conditions = ['@events/source', 'node', 'import', 'default'];

export default defineConfig({
  resolve: { conditions },
  ssr: { resolve: { conditions, externalConditions: ["@events/source"] } },
  test: {
    projects: ['packages/*', 'apps/*', 'bench'],
    // Fails the run in seconds, naming what is missing, when a broker or Chromium is not there.
    globalSetup: ['packages/testing/src/global-setup.ts'],
    testTimeout: 30_000,
    hookTimeout: 30_000,
  },
});
