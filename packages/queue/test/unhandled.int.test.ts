/** No promise of ours is left to reject unhandled: the queue's edge paths run under --unhandled-rejections=strict. */
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { runStrict } from '@events/testing';

describe('unhandled rejections', () => {
  it('the queue lifecycle edge paths (memory, BullMQ failed start, outage, close while cut) leave none', async () => {
    const { code, stdout, stderr } = await runStrict(fileURLToPath(new URL('./fixtures/strict-edges.ts', import.meta.url)));
    expect(stderr).toBe('');
    expect({ code, stdout }).toEqual({ code: 0, stdout: 'ok\n' });
  }, 30_000);
});
