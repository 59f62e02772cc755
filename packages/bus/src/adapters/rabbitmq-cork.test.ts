import { PassThrough, Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { FrameCork } from './rabbitmq-cork.js';

/**
 * amqplib's write path in small: frames go into a per-channel object-mode PassThrough, and a
 * muxer, woken by its 'readable' event, moves them to the socket in a setImmediate.
 */
function amqpLike(): { channel: { connection: { stream: Writable } }; frames: PassThrough; writes: number[] } {
  const writes: number[] = [];
  const socket = new Writable({
    write(chunk: Buffer, _encoding, done) {
      writes.push(1);
      done();
    },
    writev(chunks, done) {
      writes.push(chunks.length);
      done();
    },
  });
  const frames = new PassThrough({ objectMode: true });
  let scheduled = false;
  frames.on('readable', () => {
    if (scheduled) return;
    scheduled = true;
    setImmediate(() => {
      scheduled = false;
      for (let chunk = frames.read() as Buffer | null; chunk !== null; chunk = frames.read() as Buffer | null) socket.write(chunk);
    });
  });
  return { channel: { connection: { stream: socket } }, frames, writes };
}

const turn = (): Promise<void> => new Promise((resolve) => setTimeout(resolve, 5));

describe('FrameCork', () => {
  it('sends the frames of one turn in one socket write, after the muxer moved them', async () => {
    const { channel, frames, writes } = amqpLike();
    const cork = new FrameCork();
    for (let i = 0; i < 5; i += 1) {
      frames.write(Buffer.from([i]));
      cork.hold(channel);
    }
    await turn();
    expect(writes).toEqual([5]);
    expect(channel.connection.stream.writableCorked).toBe(0);
  });

  it('without it the muxer writes frame by frame (what the cork saves)', async () => {
    const { frames, writes } = amqpLike();
    for (let i = 0; i < 5; i += 1) frames.write(Buffer.from([i]));
    await turn();
    expect(writes).toEqual([1, 1, 1, 1, 1]);
  });

  it('never leaves the socket corked, and ignores a channel without a stream', async () => {
    const { channel, frames, writes } = amqpLike();
    const cork = new FrameCork();
    cork.hold({});
    cork.hold(undefined);
    cork.hold({ connection: { stream: 'no' } });
    cork.hold(channel); // corked before any frame was written: the uncork still comes
    await turn();
    expect(channel.connection.stream.writableCorked).toBe(0);
    frames.write(Buffer.from([1]));
    await turn();
    expect(writes).toEqual([1]);
  });
});
