import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { GapDetector, Namespace, parseSeq, SequenceCounter } from './wire.js';

describe('sequence numbers and gaps', () => {
  it('counts per channel from 1', () => {
    const seq = new SequenceCounter();
    expect([seq.next('a'), seq.next('a'), seq.next('b'), seq.next('a')]).toEqual([1, 2, 1, 3]);
  });

  it('reports a jump forward as a gap, per topic, node and channel', () => {
    const gaps = new GapDetector();
    const s = { topic: 't', node: 'n1', channel: 'c' };
    expect(gaps.check(s, 1)).toBeUndefined(); // the first message seen tells nothing
    expect(gaps.check(s, 2)).toBeUndefined();
    expect(gaps.check(s, 5)).toEqual({ expected: 3, received: 5, missing: 2 });
    expect(gaps.check({ ...s, node: 'n2' }, 9)).toBeUndefined();
    expect(gaps.check({ ...s, topic: 'c*' }, 9)).toBeUndefined();
  });

  it('takes a number that goes back as a fresh start, not a gap', () => {
    const gaps = new GapDetector();
    const s = { topic: 't', node: 'n1', channel: 'c' };
    gaps.check(s, 10);
    expect(gaps.check(s, 1)).toBeUndefined();
    expect(gaps.check(s, 2)).toBeUndefined();
    gaps.forget('t');
    expect(gaps.check(s, 7)).toBeUndefined();
  });
});

describe('hostile transport text read on every message', () => {
  // The definition parseSeq had as a regular expression: its character loop must agree with it.
  const bySpec = (value: string): number | undefined => {
    if (!/^[1-9][0-9]{0,15}$/.test(value)) return undefined;
    const n = Number(value);
    return Number.isSafeInteger(n) ? n : undefined;
  };

  it('parseSeq reads what the rule allows and nothing else, never throwing', () => {
    const digits = fc.stringMatching(/^[0-9]{0,18}$/);
    fc.assert(
      fc.property(fc.oneof(fc.string(), fc.string({ unit: 'binary' }), digits, fc.bigInt({ min: 0n, max: 2n ** 60n }).map(String)), (value) => {
        expect(parseSeq(value)).toBe(bySpec(value));
      }),
      { numRuns: 2000 },
    );
    expect(parseSeq(undefined)).toBeUndefined();
    expect(parseSeq(String(Number.MAX_SAFE_INTEGER))).toBe(Number.MAX_SAFE_INTEGER);
    expect(parseSeq(String(Number.MAX_SAFE_INTEGER + 1))).toBeUndefined();
    expect(parseSeq('01')).toBeUndefined();
  });

  it('Namespace.wire / local give the same answers as without their one-entry cache, in any order', () => {
    const ns = new Namespace('app');
    const names = fc.oneof(fc.constantFrom('app:a', 'app:', 'app:a', 'a', 'app:b:c', 'other:a', ''), fc.string());
    fc.assert(
      fc.property(fc.array(names, { maxLength: 30 }), (list) => {
        for (const name of list) {
          expect(ns.wire(name)).toBe(`app:${name}`);
          expect(ns.local(name)).toBe(name.startsWith('app:') && name.length > 4 ? name.slice(4) : undefined);
        }
      }),
    );
  });

  it('GapDetector keeps streams apart whatever order their messages interleave in', () => {
    const stream = fc.record({ topic: fc.constantFrom('t', 'u'), node: fc.constantFrom('n1', 'n2', 'n1\u0000c'), channel: fc.constantFrom('c', 'd', '') });
    fc.assert(
      fc.property(fc.array(fc.tuple(stream, fc.integer({ min: 1, max: 50 })), { maxLength: 60 }), (steps) => {
        const gaps = new GapDetector();
        const last = new Map<string, number>();
        for (const [s, seq] of steps) {
          const key = JSON.stringify([s.topic, s.node, s.channel]);
          const previous = last.get(key);
          last.set(key, seq);
          const expected = previous === undefined || seq <= previous || seq === previous + 1 ? undefined : { expected: previous + 1, received: seq, missing: seq - previous - 1 };
          expect(gaps.check(s, seq)).toEqual(expected);
        }
      }),
    );
  });
});
