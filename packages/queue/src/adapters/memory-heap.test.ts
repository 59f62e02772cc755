import { describe, expect, it } from 'vitest';
import { WaitingHeap } from './memory-heap.js';

type Item = { options: { priority: number }; seq: number };

describe('WaitingHeap', () => {
  it('pops unprioritized jobs first in FIFO order, then by priority and FIFO within one', () => {
    const heap = new WaitingHeap<Item>();
    const items: Item[] = [];
    let seq = 0;
    for (let i = 0; i < 2000; i += 1) {
      const item = { options: { priority: i % 7 === 0 ? 0 : (i * 31) % 5 }, seq: (seq += 1) };
      items.push(item);
      heap.push(item);
      // Interleave pops and (re-)pushes of old items, as retries do with their original seq.
      if (i % 3 === 0) heap.push(heap.pop()!);
    }
    const popped: Item[] = [];
    while (heap.length > 0) popped.push(heap.pop()!);
    const expected = [...items].sort((a, b) => a.options.priority - b.options.priority || a.seq - b.seq);
    expect(popped).toEqual(expected);
    expect(heap.pop()).toBeUndefined();
  });
});
