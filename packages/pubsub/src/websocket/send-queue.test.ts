import { describe, expect, it } from 'vitest';
import type { BufferPolicy } from './protocol.js';
import { type QueueOwner, SendQueue } from './send-queue.js';

/** A socket that never finishes writing: everything past the high-water mark waits in the queue. */
function stuck(limits = { maxMessages: 3, maxBytes: 1000, highWaterBytes: 10 }) {
  const written: string[] = [];
  const callbacks: Array<() => void> = [];
  // Bytes handed to the socket and not yet written out, as ws' bufferedAmount counts them.
  let buffered = 0;
  const queue = new SendQueue(
    {
      write: (frame, done) => {
        const bytes = Buffer.byteLength(frame);
        written.push(String(frame));
        buffered += bytes;
        callbacks.push(() => {
          buffered -= bytes;
          done?.();
        });
      },
      buffered: () => buffered,
    },
    limits,
  );
  // The socket catches up: every pending write completes, including those its completion triggers.
  const release = (): void => {
    while (callbacks.length > 0) callbacks.splice(0).forEach((cb) => cb());
  };
  return { queue, written, release };
}

const owner = (policy: BufferPolicy): QueueOwner => {
  const o: QueueOwner = { policy, dropped: 0, notice: () => `dropped:${o.dropped}` };
  return o;
};

describe('send queue', () => {
  it('writes up to the high-water mark, then queues', () => {
    const { queue, written } = stuck();
    const o = owner('drop-oldest');
    queue.push('first-frame', o);
    queue.push('m2', o);
    expect(written).toEqual(['first-frame']);
    expect(queue.stats()).toMatchObject({ queuedMessages: 1, queuedBytes: 2, inflightBytes: 11 });
  });

  it('drop-oldest evicts the owner’s oldest and announces the count before its next message', () => {
    const { queue, written, release } = stuck();
    const o = owner('drop-oldest');
    for (const m of ['in-flight!', 'a', 'b', 'c', 'd', 'e']) queue.push(m, o);
    expect(queue.stats()).toMatchObject({ queuedMessages: 3, droppedTotal: 2 });
    release();
    expect(written).toEqual(['in-flight!', 'dropped:2', 'c', 'd', 'e']);
  });

  it('drop-newest refuses what does not fit', () => {
    const { queue, written, release } = stuck();
    const o = owner('drop-newest');
    for (const m of ['in-flight!', 'a', 'b', 'c', 'd', 'e']) queue.push(m, o);
    release();
    expect(written).toEqual(['in-flight!', 'dropped:2', 'a', 'b', 'c']);
  });

  it('conflate replaces the queued message of the same key in place', () => {
    const { queue, written, release } = stuck();
    const o = owner('conflate');
    queue.push('in-flight!', o, 'x');
    for (let i = 0; i < 10; i += 1) {
      queue.push(`x${i}`, o, 'x');
      queue.push(`y${i}`, o, 'y');
    }
    expect(queue.stats()).toMatchObject({ queuedMessages: 2, conflatedTotal: 18, droppedTotal: 0 });
    release();
    expect(written).toEqual(['in-flight!', 'x9', 'y9']);
  });

  it('disconnect reports that the frame did not fit', () => {
    const { queue } = stuck();
    const o = owner('disconnect');
    expect(['in-flight!', 'a', 'b', 'c'].map((m) => queue.push(m, o))).toEqual([true, true, true, true]);
    expect(queue.push('d', o)).toBe(false);
  });

  it('bounds bytes as well as messages, and one owner’s overflow never evicts another’s messages', () => {
    const { queue } = stuck({ maxMessages: 100, maxBytes: 20, highWaterBytes: 1 });
    const a = owner('drop-oldest');
    const b = owner('drop-oldest');
    queue.push('x', a);
    queue.push('bbbbbbbbbb', b);
    queue.push('aaaaaaaaaa', a);
    queue.push('AAAAAAAAAA', a);
    expect(queue.stats()).toMatchObject({ queuedBytes: 20, queuedMessages: 2 });
    expect(b.dropped).toBe(0);
    expect(a.dropped).toBe(1);
  });
});
