/**
 * Dependency boundaries, checked on the static import graph: ioredis only behind the redis adapter
 * (loaded by dynamic import), ws only in the gateway, and a client free of Node built-ins.
 */
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const here = dirname(fileURLToPath(import.meta.url));

/** Bare specifiers reachable from `entry` through value imports (type-only and dynamic imports do not load anything). */
function reachable(entry: string): Set<string> {
  const bare = new Set<string>();
  const seen = new Set<string>();
  const visit = (file: string): void => {
    if (seen.has(file)) return;
    seen.add(file);
    const source = readFileSync(file, 'utf8');
    const statements = /^(?:import|export)\s+(?!type\b)[^;]*?from\s+'([^']+)'/gms;
    for (const [, spec] of source.matchAll(statements)) {
      if (spec!.startsWith('.')) visit(resolve(dirname(file), spec!.replace(/\.js$/, '.ts')));
      else bare.add(spec!);
    }
  };
  visit(resolve(here, entry));
  return bare;
}

describe('dependency boundaries', () => {
  it('the main entry and the memory adapter load neither ioredis nor ws', () => {
    for (const entry of ['index.ts', 'adapters/memory.ts']) {
      const deps = reachable(entry);
      expect(deps).not.toContain('ioredis');
      expect(deps).not.toContain('ws');
    }
    expect(reachable('adapters/redis.ts')).toContain('ioredis');
    expect(readFileSync(resolve(here, 'create-pubsub.ts'), 'utf8')).toMatch(/await import\('\.\/adapters\/redis\.js'\)/);
  });

  it('the browser client imports no Node built-in and no server package', () => {
    expect([...reachable('client/index.ts')]).toEqual([]);
  });

  it('only the gateway imports ws', () => {
    expect(reachable('websocket/index.ts')).toContain('ws');
  });
});
