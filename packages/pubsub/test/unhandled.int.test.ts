/** No promise of ours is left to reject unhandled: the edge paths run under --unhandled-rejections=strict. */
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { runStrict } from '@events/testing';

describe('unhandled rejections', () => {
  it('the lifecycle edge paths of pubsub, the gateway and the client leave none', async () => {
    const { code, stdout, stderr } = await runStrict(fileURLToPath(new URL('./fixtures/strict-edges.ts', import.meta.url)));
    expect(stderr).toBe('');
    expect({ code, stdout }).toEqual({ code: 0, stdout: 'ok\n' });
  }, 30_000);
});
