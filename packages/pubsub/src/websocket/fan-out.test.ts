import { describe, expect, it } from 'vitest';
import { FanOutScheduler, forEachSliced } from './fan-out.js';

const turn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/** Flushables that record the slice (scheduler turn) they were written in. */
function clients(n: number, scheduler: () => FanOutScheduler) {
  const log: Array<{ client: number; slice: number }> = [];
  const list = Array.from({ length: n }, (_, client) => ({ flush: () => void log.push({ client, slice: scheduler().stats().slices }) }));
  return { list, log };
}

async function drained(s: FanOutScheduler): Promise<void> {
  while (s.stats().waiting > 0) await turn();
}

describe('fan-out scheduler', () => {
  it('writes at most maxClientsPerTurn clients per turn, in the order they were staged, and the loop turns between slices', async () => {
    const s = new FanOutScheduler({ maxClientsPerTurn: 500, maxSliceMs: 60_000 });
    const { list, log } = clients(5_000, () => s);
    let seenBetween: number | undefined;
    // An immediate queued during the first slice runs before the second: other work is served in between.
    list[0] = {
      flush: () => {
        log.push({ client: 0, slice: s.stats().slices });
        setImmediate(() => (seenBetween = log.length));
      },
    };
    for (const c of list) s.schedule(c);
    await drained(s);
    expect(log.map((e) => e.client)).toEqual(list.map((_, i) => i));
    const perSlice = new Map<number, number>();
    for (const e of log) perSlice.set(e.slice, (perSlice.get(e.slice) ?? 0) + 1);
    expect([...perSlice.values()]).toEqual(Array(10).fill(500));
    expect(seenBetween).toBe(500);
  });

  it('ends a slice once maxSliceMs has passed (0: one client per turn)', async () => {
    const s = new FanOutScheduler({ maxClientsPerTurn: 1_000, maxSliceMs: 0 });
    const { list, log } = clients(20, () => s);
    for (const c of list) s.schedule(c);
    await drained(s);
    expect(new Set(log.map((e) => e.slice)).size).toBe(20);
  });

  it('writes a client once per slice however often it is staged, keeping its first place', async () => {
    const s = new FanOutScheduler();
    const { list, log } = clients(3, () => s);
    s.schedule(list[0]!);
    s.schedule(list[1]!);
    s.schedule(list[0]!);
    s.schedule(list[2]!);
    await drained(s);
    expect(log.map((e) => e.client)).toEqual([0, 1, 2]);
  });

  it('skips a cancelled client, and reports a throwing one without stopping the slice', async () => {
    const errors: unknown[] = [];
    const s = new FanOutScheduler({}, (e) => errors.push(e));
    const { list, log } = clients(3, () => s);
    const boom = { flush: () => { throw new Error('boom'); } };
    s.schedule(list[0]!);
    s.schedule(boom);
    s.schedule(list[1]!);
    s.schedule(list[2]!);
    s.cancel(list[1]!);
    await drained(s);
    expect(log.map((e) => e.client)).toEqual([0, 2]);
    expect(errors).toHaveLength(1);
  });

  it('forEachSliced turns the loop after every `perTurn` items', async () => {
    const seen: number[] = [];
    let done = 0;
    let between: number | undefined;
    const run = forEachSliced(Array.from({ length: 10 }, (_, i) => i), 4, (i) => {
      done += 1;
      if (i === 0) setImmediate(() => (between = done));
      seen.push(i);
    });
    await run;
    expect(seen).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(between).toBe(4);
  });
});
