/** No promise of ours is left to reject unhandled: the queue's edge paths run under --unhandled-rejections=strict. */
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { spawnTs } from '@events/testing';

describe('unhandled rejections', () => {
  it('the queue lifecycle edge paths (memory, BullMQ failed start, outage, close while cut) leave none', async () => {
    const proc = spawnTs(fileURLToPath(new URL('./fixtures/strict-edges.ts', import.meta.url)), [], {
      env: { NODE_OPTIONS: '--unhandled-rejections=strict' },
    });
    const { code } = await proc.exited;
    expect(proc.stderr()).toBe('');
    expect({ code, stdout: proc.stdout() }).toEqual({ code: 0, stdout: 'ok\n' });
  }, 30_000);
});
