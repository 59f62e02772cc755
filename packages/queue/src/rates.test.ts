import type { QueueAdapterAdmin, RateBucket } from '@events/core';
import { afterEach, expect, it, vi } from 'vitest';
import { MemoryAdmin } from './adapters/memory-admin.js';
import { RateRecorder } from './rates.js';

afterEach(() => vi.useRealTimers());

function store(): { admin: QueueAdapterAdmin; written: RateBucket[][] } {
  const written: RateBucket[][] = [];
  const admin = new MemoryAdmin({ lanes: new Map(), lane: () => { throw new Error('unused'); }, makeWaiting: () => undefined, pump: () => undefined, deadLetters: { put: async () => undefined, query: async () => [], count: async () => 0, remove: async () => 0 } });
  const record = admin.recordRates.bind(admin);
  admin.recordRates = async (buckets) => {
    written.push([...buckets]);
    await record(buckets);
  };
  return { admin, written };
}

it('adds the counts of a second to the minute series in one write, and close() flushes the rest', async () => {
  vi.useFakeTimers({ now: Date.UTC(2026, 11, 1, 10, 0, 30) });
  const { admin, written } = store();
  const rates = new RateRecorder(() => admin, () => undefined);
  rates.count('mail', 'enqueued', 3);
  rates.count('mail', 'completed');
  rates.count('report', 'failed');
  expect(written).toEqual([]);
  await vi.advanceTimersByTimeAsync(1000);
  expect(written).toHaveLength(1);
  rates.count('mail', 'completed');
  await rates.close();
  const minute = Math.floor(Date.now() / 60_000);
  expect(await admin.rates('mail', minute)).toEqual([{ name: 'mail', minute, enqueued: 3, completed: 2, failed: 0 }]);
  expect(await admin.rates('report', minute)).toEqual([{ name: 'report', minute, enqueued: 0, completed: 0, failed: 1 }]);
});

it('keeps at most 1,000 pending buckets (the rest counted as dropped) and reports a failed write', async () => {
  const errors: unknown[] = [];
  const failing = { recordRates: async () => Promise.reject(new Error('backend away')) } as unknown as QueueAdapterAdmin;
  const rates = new RateRecorder(() => failing, (e) => errors.push(e));
  for (let i = 0; i < 1500; i += 1) rates.count(`name${i}`, 'enqueued');
  expect(rates.dropped).toBe(500);
  await rates.close();
  expect(errors).toEqual([new Error('backend away')]);
});

it('keeps an hour of minutes per name in the memory store', async () => {
  const { admin } = store();
  const now = Math.floor(Date.now() / 60_000);
  await admin.recordRates([{ name: 'mail', minute: now - 90, enqueued: 1, completed: 0, failed: 0 }, { name: 'mail', minute: now, enqueued: 2, completed: 0, failed: 0 }]);
  expect((await admin.rates('mail', 0)).map((b) => b.minute)).toEqual([now]);
});

it('ignores counts after close, and reports nothing once the queue has abandoned its last flush', async () => {
  const errors: unknown[] = [];
  let fail: (error: Error) => void = () => undefined;
  const written: RateBucket[][] = [];
  const slow = {
    recordRates: (buckets: RateBucket[]) => {
      written.push(buckets);
      return new Promise<void>((_, reject) => (fail = reject));
    },
  } as unknown as QueueAdapterAdmin;
  const rates = new RateRecorder(() => slow, (e) => errors.push(e));
  rates.count('mail', 'enqueued');
  const closing = rates.close();
  rates.count('mail', 'completed'); // a worker's event while the queue closes
  rates.abandon();
  await vi.waitFor(() => expect(written).toHaveLength(1)); // the last write is under way
  fail(new Error('the BullMQ queue adapter is not started'));
  await closing;
  expect(errors).toEqual([]);
  expect(written).toEqual([[expect.objectContaining({ name: 'mail', enqueued: 1, completed: 0 })]]);
});
