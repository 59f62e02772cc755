import { getEventListeners } from 'node:events';
import { describe, expect, it } from 'vitest';
import { TimeoutError } from '@events/core';
import { answerWithin } from './hook-deadline.js';

describe('answerWithin (authorize / authorizePublish with a deadline)', () => {
  it('leaves nothing on the connection signal however many calls a client makes', async () => {
    const clientGone = new AbortController().signal;
    for (let i = 0; i < 20_000; i += 1) await answerWithin(() => i % 2 === 0, clientGone, 5_000);
    await expect(answerWithin(() => Promise.reject(new Error('denied by the app')), clientGone, 5_000)).rejects.toThrow('denied by the app');
    expect(getEventListeners(clientGone, 'abort')).toHaveLength(0);
  });

  it('rejects at the deadline and aborts the hook\'s signal, whether or not the hook listens', async () => {
    let seen: AbortSignal | undefined;
    const started = Date.now();
    await expect(answerWithin((signal) => ((seen = signal), new Promise<boolean>(() => undefined)), new AbortController().signal, 50)).rejects.toBeInstanceOf(TimeoutError);
    expect(Date.now() - started).toBeGreaterThanOrEqual(45);
    expect(seen?.aborted).toBe(true);
  });

  it('rejects when the client leaves, with the reason the connection gave', async () => {
    const connection = new AbortController();
    const pending = answerWithin(() => new Promise<boolean>(() => undefined), connection.signal, 5_000);
    connection.abort(new Error('client left'));
    await expect(pending).rejects.toThrow('client left');
    await expect(answerWithin(() => true, connection.signal, 5_000)).rejects.toThrow('client left');
  });
});
