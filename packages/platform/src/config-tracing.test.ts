/**
 * EVENTS_TRACING / config.tracing: `on` (default) or `off`, anything else a ConfigError naming the
 * variable; `off` reaches the three tiers (an SDK registered, no span recorded, journeys kept).
 */
import { ConfigError } from '@events/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inMemoryTracing, waitFor } from '@events/testing';
import { resolveConfig } from './config.js';
import { configFromEnv } from './config-env.js';
import { createPlatform } from './create-platform.js';

const tracing = inMemoryTracing();
beforeAll(tracing.install);
afterAll(tracing.uninstall);

type Maps = { channels: { room: { n: number } }; events: { Placed: { n: number } }; jobs: { mail: { n: number } } };

describe('EVENTS_TRACING', () => {
  it('on by default; on and off in any case, blanks meaning the default', () => {
    expect(configFromEnv({}).tracing).toBe(true);
    expect(configFromEnv({ EVENTS_TRACING: '' }).tracing).toBe(true);
    expect(configFromEnv({ EVENTS_TRACING: 'on' }).tracing).toBe(true);
    expect(configFromEnv({ EVENTS_TRACING: 'off' }).tracing).toBe(false);
    expect(configFromEnv({ EVENTS_TRACING: ' OFF ' }).tracing).toBe(false);
    expect(configFromEnv({ EVENTS_TRACING: 'On' }).tracing).toBe(true);
  });

  it.each(['false', 'no', '0', 'offf', 'disabled'])('refuses %j with a ConfigError naming the variable', (value) => {
    expect(() => configFromEnv({ EVENTS_TRACING: value })).toThrow(ConfigError);
    expect(() => configFromEnv({ EVENTS_TRACING: value })).toThrow(/EVENTS_TRACING must be on or off/);
  });

  it('config.tracing: a boolean, else a ConfigError naming config.tracing', () => {
    expect(resolveConfig({}).tracing).toBe(true);
    expect(resolveConfig({ tracing: false }).tracing).toBe(false);
    expect(() => resolveConfig({ tracing: 'off' as never })).toThrow(/config\.tracing must be true or false/);
  });

  it('off reaches the three tiers: no span with an SDK registered, journeys still recorded', async () => {
    const run = async (env: Record<string, string>): Promise<{ spans: number; steps: number }> => {
      tracing.exporter.reset();
      const platform = await createPlatform<Maps>(configFromEnv({ EVENTS_JOURNEY: 'memory', ...env }));
      try {
        let mailed = 0;
        let heard = 0;
        await platform.pubsub.subscribe('room', () => void (heard += 1));
        await platform.bus.on('Placed', async (e) => void (await platform.queue.enqueue('mail', e.payload)), { group: 'g' });
        await platform.queue.process('mail', async (payload) => {
          await platform.pubsub.broadcast('room', payload);
          mailed += 1;
        });
        await platform.bus.emit('Placed', { n: 1 });
        await waitFor(() => mailed === 1 && heard === 1, 5000, 'emit -> job -> broadcast');
        // emit, handle, enqueue, attempt, broadcast
        await waitFor(() => platform.journeys.stats().recorded >= 5, 5000, 'the journey recorded');
        return { spans: tracing.exporter.getFinishedSpans().length, steps: platform.journeys.stats().recorded };
      } finally {
        await platform.close();
      }
    };
    const off = await run({ EVENTS_TRACING: 'off' });
    expect(off.spans).toBe(0);
    expect(off.steps).toBeGreaterThanOrEqual(5);
    const on = await run({});
    expect(on.spans).toBeGreaterThanOrEqual(5);
  });
});
