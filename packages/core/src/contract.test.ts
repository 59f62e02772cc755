import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { BackpressureError, ClosedError, TimeoutError } from './errors.js';
import { createLifecycle } from './lifecycle-machine.js';
import { redactUrl } from './redact.js';
import { consoleErrorHook, createErrorReporter } from './report.js';
import { WaitLine } from './waiters.js';

describe('createLifecycle', () => {
  it('shares one start, retries after a failure and releases what a failed start opened', async () => {
    let opens = 0;
    let releases = 0;
    const life = createLifecycle({
      what: 'thing',
      open: async () => {
        opens += 1;
        if (opens === 1) throw new Error('down');
      },
      release: async () => {
        releases += 1;
      },
      shutdown: async () => undefined,
    });
    const [a, b] = [life.start(), life.start()];
    expect(a).toBe(b);
    await expect(a).rejects.toThrow('down');
    expect(life.phase).toBe('failed');
    expect(releases).toBe(1);
    await life.start();
    expect(opens).toBe(2);
    expect(life.phase).toBe('ready');
  });

  it('returns the same close promise to every caller, settled only after the drain', async () => {
    let finish!: () => void;
    const life = createLifecycle({ what: 'thing', open: async () => undefined, shutdown: () => new Promise<void>((r) => (finish = r)) });
    await life.start();
    const first = life.close();
    const second = life.close();
    expect(second).toBe(first);
    let settled = false;
    void second.then(() => (settled = true));
    await Promise.resolve();
    expect(settled).toBe(false);
    expect(() => life.assertOpen('subscribe')).toThrow(ClosedError);
    await expect(life.start()).rejects.toBeInstanceOf(ClosedError);
    finish();
    await first;
    expect(life.phase).toBe('closed');
  });

  it('close waits for a start in progress before shutting down', async () => {
    const order: string[] = [];
    let opened!: () => void;
    const life = createLifecycle({
      what: 'thing',
      open: () => new Promise<void>((r) => (opened = () => (order.push('open'), r()))),
      shutdown: async () => void order.push('shutdown'),
    });
    const started = life.start();
    const closed = life.close();
    expect(life.closing.aborted).toBe(true);
    opened();
    await Promise.all([started, closed]);
    expect(order).toEqual(['open', 'shutdown']);
  });
});

describe('WaitLine', () => {
  it('refuses the caller past the cap at once, times out, and wakes one at a time', async () => {
    const line = new WaitLine({ what: 'emit', max: 2 });
    const a = line.wait({ timeoutMs: 5_000 });
    const b = line.wait({ timeoutMs: 5_000 });
    await expect(line.wait({ timeoutMs: 5_000 })).rejects.toBeInstanceOf(BackpressureError);
    line.wake(1);
    await a;
    expect(line.size).toBe(1);
    line.rejectAll();
    await expect(b).rejects.toBeInstanceOf(ClosedError);
    await expect(line.wait({ timeoutMs: 5 })).rejects.toBeInstanceOf(TimeoutError);
    const ac = new AbortController();
    const c = line.wait({ timeoutMs: 5_000, signal: ac.signal });
    ac.abort(new Error('stop'));
    await expect(c).rejects.toThrow('stop');
    expect(line.size).toBe(0);
  });
});

describe('error reporting', () => {
  it('rate-limits the default console output per kind and contains a throwing hook', () => {
    const lines: string[] = [];
    const hook = consoleErrorHook({ perWindow: 3, windowMs: 60_000, write: (line) => lines.push(line) });
    for (let i = 0; i < 1_000; i += 1) hook({ tier: 'pubsub', kind: 'decode', error: new Error('bad') });
    expect(lines).toHaveLength(3);
    const reporter = createErrorReporter('bus', () => {
      throw new Error('hook broke');
    });
    const original = console.error;
    console.error = () => undefined;
    try {
      expect(() => reporter.report('handler', 'oops')).not.toThrow();
    } finally {
      console.error = original;
    }
    expect(reporter.lastError?.message).toBe('oops');
  });
});

describe('redactUrl', () => {
  it('never prints a password, URL or not', () => {
    expect(redactUrl('redis://:s3cret@host:6379')).not.toContain('s3cret');
    expect(redactUrl('amqp://user:s3cret@ho st:5672')).not.toContain('s3cret');
    fc.assert(
      fc.property(fc.string({ minLength: 1 }).filter((s) => !/[@/?#\s]/.test(s)), fc.string(), (secret, host) => {
        expect(redactUrl(`redis://user:${secret}@${host}`)).not.toContain(`:${secret}@`);
      }),
      { numRuns: 300 },
    );
  });
});
