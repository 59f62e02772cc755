/** No promise of ours is left to reject unhandled: the edge paths run under --unhandled-rejections=strict. */
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { spawnTs } from '@events/testing';

describe('unhandled rejections', () => {
  it('the lifecycle edge paths of pubsub, the gateway and the client leave none', async () => {
    const proc = spawnTs(fileURLToPath(new URL('./fixtures/strict-edges.ts', import.meta.url)), [], {
      env: { NODE_OPTIONS: '--unhandled-rejections=strict' },
    });
    const { code } = await proc.exited;
    expect(proc.stderr()).toBe('');
    expect({ code, stdout: proc.stdout() }).toEqual({ code: 0, stdout: 'ok\n' });
  }, 30_000);
});
