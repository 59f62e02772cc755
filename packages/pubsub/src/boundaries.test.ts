/**
 * Dependency boundaries, checked on what a fresh process really loads: ioredis only behind the
 * redis subpath, ws only behind the websocket subpath, and a client free of any server package.
 */
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { spawnTs } from '@events/testing';

const fixture = fileURLToPath(new URL('../test/fixtures/loaded-modules.ts', import.meta.url));

/** Names of the packages under node_modules that importing `entry` (relative to src/) loads. */
async function packagesLoadedBy(entry: string): Promise<Set<string>> {
  const proc = spawnTs(fixture, [fileURLToPath(new URL(entry, import.meta.url))]);
  const { code } = await proc.exited;
  if (code !== 0) throw new Error(`loading ${entry} failed: ${proc.stderr()}`);
  const files = JSON.parse(proc.stdout()) as string[];
  const names = new Set<string>();
  for (const file of files) {
    const match = /node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(file);
    if (match) names.add(match[1]!);
  }
  return names;
}

describe('dependency boundaries (modules loaded in a fresh process)', () => {
  it('the main entry and the memory adapter load neither ioredis nor ws; the redis subpath loads ioredis', async () => {
    const [main, memory, redis] = await Promise.all([packagesLoadedBy('./index.ts'), packagesLoadedBy('./adapters/memory.ts'), packagesLoadedBy('./adapters/redis.ts')]);
    for (const loaded of [main, memory]) {
      expect(loaded).not.toContain('ioredis');
      expect(loaded).not.toContain('ws');
    }
    // The check can fail: the redis entry is seen loading ioredis.
    expect(redis).toContain('ioredis');
  }, 60_000);

  it('the client loads no server package; only the gateway loads ws', async () => {
    const [client, gateway] = await Promise.all([packagesLoadedBy('./client/index.ts'), packagesLoadedBy('./websocket/index.ts')]);
    expect([...client].filter((name) => ['ws', 'ioredis', 'eventemitter3'].includes(name))).toEqual([]);
    expect(gateway).toContain('ws');
    expect(gateway).not.toContain('ioredis');
  }, 60_000);
});
