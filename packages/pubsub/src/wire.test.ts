import { describe, expect, it } from 'vitest';
import { GapDetector, SequenceCounter } from './wire.js';

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
