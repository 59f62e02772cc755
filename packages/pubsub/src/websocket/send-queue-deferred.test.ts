/**
 * The send queue in deferred mode (the gateway's): frames are staged and written by `flush()`, a
 * client's burst in one corked write, completion callbacks only near the bound. Order, bounds and
 * the drop policies are the same as when writing at once.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { BufferPolicy } from './protocol.js';
import { type QueueOwner, SendQueue, type SendQueueLimits } from './send-queue.js';

/** A socket whose writes complete when the test says so (`progress`), oldest first. */
function socket(limits: SendQueueLimits) {
  const written: string[] = [];
  const pending: Array<{ bytes: number; done: (() => void) | undefined }> = [];
  let buffered = 0;
  let corked = 0;
  const counts = { corks: 0, writes: 0, callbacks: 0, scheduled: 0, writesWhileUncorked: 0 };
  const queue = new SendQueue(
    {
      write(frame, done) {
        const bytes = Buffer.byteLength(frame);
        written.push(String(frame));
        buffered += bytes;
        counts.writes += 1;
        if (corked === 0) counts.writesWhileUncorked += 1;
        if (done) counts.callbacks += 1;
        pending.push({ bytes, done });
      },
      buffered: () => buffered,
      cork: () => ((corked += 1), (counts.corks += 1)),
      uncork: () => void (corked -= 1),
    },
    limits,
    () => void (counts.scheduled += 1),
  );
  const progress = (n: number): void => {
    for (const w of pending.splice(0, n)) {
      buffered -= w.bytes;
      w.done?.();
    }
  };
  const settle = (): void => {
    for (let i = 0; i < 10_000 && (pending.length > 0 || queue.stats().queuedMessages > 0 || queue.stats().inflightBytes > 0); i += 1) {
      queue.flush();
      progress(pending.length);
    }
  };
  return { queue, written, counts, progress, settle };
}

const owner = (policy: BufferPolicy, name: string): QueueOwner => {
  const o: QueueOwner = { policy, dropped: 0, notice: () => `dropped:${name}:${o.dropped}` };
  return o;
};

describe('send queue, deferred', () => {
  it('stages frames until flush, then writes them in one corked burst with no callback while far from the bound', () => {
    const { queue, written, counts } = socket({ highWaterBytes: 1_000_000 });
    const o = owner('drop-oldest', 'a');
    for (let i = 0; i < 5; i += 1) queue.push(`m${i}`, o);
    queue.pushControl('{"type":"subscribed"}');
    expect(written).toEqual([]);
    expect(counts.scheduled).toBeGreaterThan(0);
    queue.flush();
    expect(written).toEqual(['m0', 'm1', 'm2', 'm3', 'm4', '{"type":"subscribed"}']);
    expect(counts).toMatchObject({ corks: 1, writesWhileUncorked: 0, callbacks: 0 });
  });

  it('asks for a completion callback once the socket buffer is past half its bound, and writes held frames when it comes', () => {
    const { queue, written, counts, progress } = socket({ highWaterBytes: 40, maxMessages: 100 });
    const o = owner('drop-newest', 'a');
    for (let i = 0; i < 10; i += 1) queue.push(`frame-${i}`, o); // 7 bytes each
    queue.flush();
    expect(written).toHaveLength(6); // staged up to the mark: 6 x 7 = 42 >= 40
    expect(counts.callbacks).toBe(4); // the writes that left 21 bytes or more buffered
    progress(6);
    expect(written).toHaveLength(10);
  });

  it('keeps per-client order, the bounds and the drop accounting under any sequence of broadcasts, replies and a slow socket', () => {
    type Op = { kind: 'push'; owner: number } | { kind: 'control' } | { kind: 'flush' } | { kind: 'progress'; n: number };
    const op: fc.Arbitrary<Op> = fc.oneof(
      { weight: 6, arbitrary: fc.record({ kind: fc.constant('push' as const), owner: fc.integer({ min: 0, max: 2 }) }) },
      { weight: 1, arbitrary: fc.constant({ kind: 'control' as const }) },
      { weight: 2, arbitrary: fc.constant({ kind: 'flush' as const }) },
      { weight: 2, arbitrary: fc.record({ kind: fc.constant('progress' as const), n: fc.integer({ min: 0, max: 8 }) }) },
    );
    fc.assert(
      fc.property(
        fc.array(op, { maxLength: 300 }),
        fc.constantFrom<BufferPolicy>('drop-oldest', 'drop-newest'),
        fc.integer({ min: 1, max: 12 }),
        (ops, policy, maxMessages) => {
          const limits = { maxMessages, maxBytes: 40 * maxMessages, highWaterBytes: 60, maxControlMessages: 4 };
          const { queue, written, progress, settle } = socket(limits);
          const owners = [0, 1, 2].map((k) => owner(policy, String(k)));
          const pushed = [0, 0, 0];
          let seq = 0;
          let controls = 0;
          for (const o of ops) {
            if (o.kind === 'push') {
              pushed[o.owner]! += 1;
              expect(queue.push(`m:${o.owner}:${String(seq++).padStart(5, '0')}`, owners[o.owner])).toBe(true);
            } else if (o.kind === 'control') {
              if (queue.pushControl(`c:${String(seq).padStart(5, '0')}`)) controls += 1;
              seq += 1;
            } else if (o.kind === 'flush') queue.flush();
            else progress(o.n);
            const stats = queue.stats();
            expect(stats.queuedMessages).toBeLessThanOrEqual(limits.maxMessages + limits.maxControlMessages);
            expect(stats.inflightBytes).toBeLessThan(limits.highWaterBytes + 2 * 20);
          }
          settle();
          // One FIFO per client: whatever is written leaves in the order it was pushed.
          const seqs = written.filter((w) => !w.startsWith('dropped')).map((w) => Number(w.slice(-5)));
          expect(seqs).toEqual([...seqs].sort((a, b) => a - b));
          expect(written.filter((w) => w.startsWith('c:'))).toHaveLength(controls);
          // Every message is written, or counted dropped (announced, or still to announce).
          for (const k of [0, 1, 2]) {
            const got = written.filter((w) => w.startsWith(`m:${k}:`)).length;
            const announced = written.filter((w) => w.startsWith(`dropped:${k}:`)).reduce((n, w) => n + Number(w.split(':')[2]), 0);
            expect(got + announced + owners[k]!.dropped).toBe(pushed[k]);
          }
          expect(queue.stats().droppedTotal).toBe(pushed.reduce((a, b) => a + b, 0) - written.filter((w) => w.startsWith('m:')).length);
        },
      ),
      { numRuns: 300 },
    );
  });

  it('disconnect still reports a frame that does not fit; clear() forgets what was staged', () => {
    const { queue, written } = socket({ highWaterBytes: 10, maxMessages: 2 });
    const o = owner('disconnect', 'a');
    expect(['0123456789a', 'b', 'c'].map((m) => queue.push(m, o))).toEqual([true, true, true]);
    expect(queue.push('d', o)).toBe(false);
    queue.clear();
    queue.flush();
    expect(written).toEqual([]);
    expect(queue.stats()).toMatchObject({ queuedMessages: 0, inflightBytes: 0 });
  });
});
