import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import * as ws from 'ws';
import { framed, wireOf } from './wire-frame.js';

// ws' own framer and parser (exported at runtime, not in @types/ws): the reference to compare with.
interface FrameOptions { fin: boolean; rsv1: boolean; opcode: number; mask: boolean; readOnly: boolean }
interface ReceiverLike { on(event: 'message', listener: (data: Buffer, isBinary: boolean) => void): void; write(chunk: Buffer): void }
const { Sender, Receiver } = ws as unknown as {
  Sender: { frame(data: Buffer, options: FrameOptions): Buffer[] };
  Receiver: new (options: { isServer: boolean }) => ReceiverLike;
};

describe('wire frames', () => {
  it('are the frame ws itself would send, and a ws receiver reads back the text (any text, any of the three length forms)', () => {
    fc.assert(
      fc.property(fc.oneof(fc.string({ unit: 'grapheme', maxLength: 200 }), fc.integer({ min: 0, max: 70_000 }).map((n) => 'é'.repeat(n))), (text) => {
        const payload = framed(text);
        expect(payload.toString('utf8')).toBe(text);
        const wire = wireOf(payload)!;
        const expected = Buffer.concat(Sender.frame(Buffer.from(text), { fin: true, rsv1: false, opcode: 1, mask: false, readOnly: false }));
        expect(wire.equals(expected)).toBe(true);
        const got: string[] = [];
        const receiver = new Receiver({ isServer: false });
        receiver.on('message', (data, isBinary) => got.push(isBinary ? 'binary' : data.toString('utf8')));
        receiver.write(wire);
        expect(got).toEqual([text]);
      }),
      { numRuns: 60 },
    );
  });

  it('knows only the payloads it framed', () => {
    expect(wireOf(Buffer.from('x'))).toBeUndefined();
  });
});
