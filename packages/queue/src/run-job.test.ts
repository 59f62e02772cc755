import { afterEach, describe, expect, it } from 'vitest';
import { createEnvelope, type QueueAdapterActiveJob } from '@events/core';
import { JobTimeoutError } from './errors.js';
import { runJob } from './run-job.js';

function activeJob(id: string): QueueAdapterActiveJob {
  return {
    id,
    name: 'work',
    data: { ok: true, value: createEnvelope('work', { id }, { id }) },
    attempt: 1,
    maxAttempts: 1,
    enqueuedAt: Date.now(),
    updateProgress: async () => undefined,
  };
}

describe('runJob and the shutdown signal', () => {
  const warnings: Error[] = [];
  const onWarning = (w: Error): void => void warnings.push(w);
  afterEach(() => {
    process.off('warning', onWarning);
    warnings.length = 0;
  });

  it('runs 100 jobs on one shutdown signal without piling listeners on it, and aborts them all at shutdown', async () => {
    process.on('warning', onWarning);
    const shutdown = new AbortController();
    const signals: AbortSignal[] = [];
    const handler = (_: never, ctx: { signal: AbortSignal }): Promise<void> =>
      new Promise((resolve) => {
        signals.push(ctx.signal);
        ctx.signal.addEventListener('abort', () => resolve());
      });
    const runs = Array.from({ length: 100 }, (_, i) => runJob(activeJob(`j${i}`), { name: 'work', handler, shutdown: shutdown.signal, system: 'memory', isFinal: () => false }));
    await new Promise((r) => setTimeout(r, 10));
    expect(signals).toHaveLength(100);
    expect(signals.some((s) => s.aborted)).toBe(false);
    shutdown.abort(new Error('closing'));
    await Promise.all(runs);
    expect(signals.every((s) => s.aborted && (s.reason as Error).message === 'closing')).toBe(true);
    await new Promise((r) => setImmediate(r));
    expect(warnings.filter((w) => w.name === 'MaxListenersExceededWarning')).toEqual([]);
  });

  it('forgets finished jobs: shutting down later aborts only the ones still running', async () => {
    const shutdown = new AbortController();
    let done: AbortSignal | undefined;
    await runJob(activeJob('a'), { name: 'work', handler: (_: never, ctx: { signal: AbortSignal }) => void (done = ctx.signal), shutdown: shutdown.signal, system: 'memory', isFinal: () => false });
    let running: AbortSignal | undefined;
    const run = runJob(activeJob('b'), {
      name: 'work',
      handler: (_: never, ctx: { signal: AbortSignal }) => new Promise<void>((resolve) => ((running = ctx.signal), ctx.signal.addEventListener('abort', () => resolve()))),
      shutdown: shutdown.signal, system: 'memory', isFinal: () => false,
    });
    await new Promise((r) => setTimeout(r, 5));
    shutdown.abort(new Error('closing'));
    await run;
    expect(running?.aborted).toBe(true);
    expect(done?.aborted).toBe(false);
  });

  it('gives a handler that reads its signal only after the deadline a signal aborted with the timeout error', async () => {
    const shutdown = new AbortController();
    let late: AbortSignal | undefined;
    const handler = async (_: never, ctx: { signal: AbortSignal }): Promise<void> => {
      await new Promise((r) => setTimeout(r, 30));
      late = ctx.signal;
    };
    await expect(runJob(activeJob('t'), { name: 'work', handler, shutdown: shutdown.signal, system: 'memory', isFinal: () => false, timeoutMs: 5 })).rejects.toThrow(JobTimeoutError);
    await new Promise((r) => setTimeout(r, 40));
    expect(late?.aborted).toBe(true);
    expect(late?.reason).toBeInstanceOf(JobTimeoutError);
  });
});
