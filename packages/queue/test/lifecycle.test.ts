/** The queue's lifecycle contract, its handles and health, on the memory adapter. */
import { ClosedError, TimeoutError, type ErrorEvent } from '@events/core';
import { describe, expect, it } from 'vitest';
import { waitFor } from '@events/testing';
import { memoryQueue } from '../src/adapters/memory.js';
import { createQueue } from '../src/index.js';

describe('queue lifecycle (memory)', () => {
  it('every close() call returns the same promise, settled only once the drain is done', async () => {
    const q = createQueue<{ slow: null }>();
    let finished = false;
    await q.process('slow', async () => {
      await new Promise((r) => setTimeout(r, 150));
      finished = true;
    });
    await q.enqueue('slow', null);
    await waitFor(() => q.health().counts.running === 1);
    const first = q.close({ timeoutMs: 5000 });
    const second = q.close();
    expect(second).toBe(first);
    await second;
    expect(finished).toBe(true);
    expect(q.health().phase).toBe('closed');
  });

  it('refuses process() that was still registering when close() began, and any after', async () => {
    const q = createQueue<{ a: null }>();
    const registering = q.process('a', () => undefined);
    const closing = q.close();
    await expect(registering).rejects.toBeInstanceOf(ClosedError);
    await closing;
    await expect(q.process('a', () => undefined)).rejects.toBeInstanceOf(ClosedError);
    await expect(q.enqueue('a', null)).rejects.toBeInstanceOf(ClosedError);
    expect(q.health().counts.workers).toBe(0);
  });

  it('a failed start is retried by the next start() and releases what it opened', async () => {
    const adapter = memoryQueue();
    let fail = true;
    let released = 0;
    const start = adapter.start.bind(adapter);
    const close = adapter.close.bind(adapter);
    adapter.start = async () => {
      if (fail) throw new Error('backend down');
      await start();
    };
    adapter.close = async (o) => {
      released += 1;
      await close(o);
    };
    const q = createQueue({ adapter });
    await expect(q.start()).rejects.toThrow('backend down');
    expect(q.health().phase).toBe('failed');
    expect(released).toBe(1);
    fail = false;
    await q.ready();
    expect(q.health()).toMatchObject({ phase: 'ready', connected: true });
    await q.close();
  });

  it('process() returns a handle that stops one worker alone, with drain', async () => {
    const q = createQueue<{ a: number; b: number }>();
    const seen: string[] = [];
    const a = await q.process('a', async (n) => {
      await new Promise((r) => setTimeout(r, 50));
      seen.push(`a${n}`);
    });
    await q.process('b', (n) => void seen.push(`b${n}`));
    expect(a).toMatchObject({ topic: 'a', active: true });
    await q.enqueue('a', 1);
    await waitFor(() => a.running === 1);
    const stopped = a.close();
    expect(a.active).toBe(false);
    expect(a.close()).toBe(stopped);
    await stopped;
    expect(seen).toEqual(['a1']);
    await q.enqueue('a', 2);
    await q.enqueue('b', 3);
    await waitFor(() => seen.includes('b3'));
    expect(seen).not.toContain('a2');
    expect(await q.counts('a')).toMatchObject({ waiting: 1 });
    expect(q.health().counts.workers).toBe(1);
    await q.close();
  });

  it('a handle closed without drain aborts its running job, which waits again unattempted', async () => {
    const q = createQueue<{ a: null }>();
    let reason: unknown;
    const h = await q.process('a', (_p, ctx) => new Promise<void>((_, reject) => ctx.signal.addEventListener('abort', () => reject((reason = ctx.signal.reason)))));
    const id = await q.enqueue('a', null);
    await waitFor(() => h.running === 1);
    await h.close({ drain: false });
    expect(reason).toBeInstanceOf(ClosedError);
    expect(await q.getJob('a', id)).toMatchObject({ state: 'waiting', attemptsMade: 0 });
    expect(await q.deadLetters.count()).toBe(0);
    await q.close();
  });

  it('reports through one ErrorEvent hook: a final failure (handler), a throwing listener (listener)', async () => {
    const events: ErrorEvent[] = [];
    const q = createQueue<{ x: null }>({ onError: (e) => events.push(e) });
    q.on('failed', () => {
      throw new Error('listener bug');
    });
    await q.process('x', () => {
      throw new TypeError('nope');
    });
    const id = await q.enqueue('x', null, { attempts: 1 });
    await waitFor(() => events.length === 2);
    expect(events.map((e) => [e.tier, e.kind, e.name, e.id, e.error.message])).toEqual([
      ['queue', 'handler', 'x', id, 'nope'],
      ['queue', 'listener', undefined, undefined, 'listener bug'],
    ]);
    expect(q.health().lastError).toMatchObject({ kind: 'listener', message: 'listener bug' });
    await q.close();
  });

  it('waitUntilIdle wakes on the job event, not a poll tick, and has a deadline', async () => {
    const q = createQueue<{ w: null }>();
    let release: () => void = () => undefined;
    await q.process('w', () => new Promise<void>((r) => (release = r)));
    await q.enqueue('w', null);
    await waitFor(() => q.health().counts.running === 1);
    await expect(q.waitUntilIdle({ timeoutMs: 50 })).rejects.toBeInstanceOf(TimeoutError);
    const idle = q.waitUntilIdle({ timeoutMs: 5000 });
    await waitFor(() => q.health().counts.idleWaiters === 1);
    const at = Date.now();
    release();
    await idle;
    // The fallback recheck is 500 ms: an event-driven wake is far sooner.
    expect(Date.now() - at).toBeLessThan(200);
    await q.close();
  });

  it('enqueue takes a signal: an aborted one refuses at once', async () => {
    const q = createQueue<{ s: null }>();
    const abort = new AbortController();
    abort.abort(new Error('caller gave up'));
    await expect(q.enqueue('s', null, { signal: abort.signal })).rejects.toThrow('caller gave up');
    await expect(q.enqueue('s', null, { timeoutMs: 0 })).rejects.toThrow(/timeoutMs/);
    await q.close();
  });
});

describe('memory dead-letter store pages', () => {
  it('pushes limit/offset/ids into the store, oldest failure first', async () => {
    const adapter = memoryQueue();
    const store = adapter.deadLetters;
    for (let i = 0; i < 10; i += 1) {
      await store.put({ id: `j${i}`, name: i % 2 ? 'odd' : 'even', data: { ok: true, value: i }, error: { name: 'Error', message: `e${i}` }, attemptsMade: 1, enqueuedAt: 0, failedAt: 1000 + (9 - i) });
    }
    expect((await store.query({ limit: 3 })).map((r) => r.id)).toEqual(['j9', 'j8', 'j7']);
    expect((await store.query({ limit: 2, offset: 3 })).map((r) => r.id)).toEqual(['j6', 'j5']);
    expect((await store.query({ name: 'odd', limit: 2 })).map((r) => r.id)).toEqual(['j9', 'j7']);
    expect((await store.query({ ids: ['j1', 'j4', 'nope'] })).map((r) => r.id)).toEqual(['j4', 'j1']);
    expect(await store.count({ name: 'even' })).toBe(5);
    expect(await store.remove(['j9', 'j0', 'x'])).toBe(2);
    expect((await store.query({ limit: 1 })).map((r) => r.id)).toEqual(['j8']);
  });
});
