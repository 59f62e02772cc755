import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { EMPTY_HISTORY_EPOCH } from '@events/core';
import { MemoryHistoryStore } from '../src/adapters/memory-history.js';

const window = { size: 10, ttlMs: 60_000 };

describe('memory history store', () => {
  it('never holds anything for a read: reads of any channel names leave the store empty', () => {
    const store = new MemoryHistoryStore();
    fc.assert(
      fc.property(fc.string(), fc.nat(), fc.nat({ max: 1000 }), (channel, after, limit) => {
        const read = store.read(channel, { after, limit });
        expect(read).toEqual({ epoch: EMPTY_HISTORY_EPOCH, top: 0, first: 1, entries: [] });
      }),
    );
    expect(store.size).toBe(0);
  });

  it('starts an epoch at the first write, which a read then reports', () => {
    const store = new MemoryHistoryStore();
    const position = store.append('chat:1', Buffer.from('a'), window);
    expect(position.offset).toBe(1);
    expect(position.epoch).not.toBe(EMPTY_HISTORY_EPOCH);
    expect(store.read('chat:1', { after: 0, limit: 5 })).toEqual({ epoch: position.epoch, top: 1, first: 1, entries: [{ offset: 1, data: Buffer.from('a') }] });
    expect(store.size).toBe(1);
  });
});
