import { defineProject, type UserWorkspaceConfig } from 'vitest/config';

// Every package resolves workspace imports to their TypeScript sources (see package.json
// "exports" -> "@events/source"), so tests never need a build first.
const conditions = ['@events/source', 'node', 'import', 'default'];
// Vitest hands the SSR conditions to Node as --conditions, which also steer require(): with
// `import` there, a CommonJS package's require() of a dual package (pg -> pg-pool) got the ESM
// build's namespace. Vite adds `import` itself for ESM imports, so Node is not given it.
const ssrConditions = conditions.filter((c) => c !== 'import');

export function project(name: string, overrides: UserWorkspaceConfig['test'] = {}): UserWorkspaceConfig {
  return defineProject({
    resolve: { conditions },
    ssr: { resolve: { conditions: ssrConditions, externalConditions: ['@events/source'] } },
    test: {
      name,
      include: ['src/**/*.test.ts', 'test/**/*.test.ts'],
      testTimeout: 30_000,
      hookTimeout: 30_000,
      typecheck: { enabled: true, include: ['src/**/*.test-d.ts', 'test/**/*.test-d.ts'], tsconfig: '../../tsconfig.json' },
      ...overrides,
    },
  });
}
