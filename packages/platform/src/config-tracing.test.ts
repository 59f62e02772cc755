/**
 * EVENTS_TRACING / config.tracing: `join` (default), `always` or `off`, anything else a
 * ConfigError naming the variable; the mode reaches the three tiers (an SDK registered: `off`
 * records no span and keeps journeys, `join` traces what starts in a trace, `always` everything).
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
  it('join by default; join, always and off in any case, blanks meaning the default', () => {
    expect(configFromEnv({}).tracing).toBe('join');
    expect(configFromEnv({ EVENTS_TRACING: '' }).tracing).toBe('join');
    expect(configFromEnv({ EVENTS_TRACING: 'join' }).tracing).toBe('join');
    expect(configFromEnv({ EVENTS_TRACING: 'Always' }).tracing).toBe('always');
    expect(configFromEnv({ EVENTS_TRACING: 'off' }).tracing).toBe('off');
    expect(configFromEnv({ EVENTS_TRACING: ' OFF ' }).tracing).toBe('off');
  });

  it.each(['on', 'false', 'no', '0', 'offf', 'disabled', 'true'])('refuses %j with a ConfigError naming the variable', (value) => {
    expect(() => configFromEnv({ EVENTS_TRACING: value })).toThrow(ConfigError);
    expect(() => configFromEnv({ EVENTS_TRACING: value })).toThrow(/EVENTS_TRACING must be join, always or off/);
  });

  it('config.tracing: a mode, else a ConfigError naming config.tracing', () => {
    expect(resolveConfig({}).tracing).toBe('join');
    expect(resolveConfig({ tracing: 'off' }).tracing).toBe('off');
    expect(() => resolveConfig({ tracing: false as never })).toThrow(/config\.tracing must be one of join, always, off/);
  });

  it('the mode reaches the three tiers: off records no span with an SDK registered, journeys still recorded; join none for an emit outside a trace; always all', async () => {
    const run = async (env: Record<string, string>, inTrace = false): Promise<{ spans: number; steps: number }> => {
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
        await (inTrace ? tracing.inSpan('request', () => platform.bus.emit('Placed', { n: 1 })) : platform.bus.emit('Placed', { n: 1 }));
        await waitFor(() => mailed === 1 && heard === 1, 5000, 'emit -> job -> broadcast');
        // emit, handle, enqueue, attempt, broadcast
        await waitFor(() => platform.journeys.stats().recorded >= 5, 5000, 'the journey recorded');
        return { spans: tracing.exporter.getFinishedSpans().filter((s) => s.name !== 'request').length, steps: platform.journeys.stats().recorded };
      } finally {
        await platform.close();
      }
    };
    const off = await run({ EVENTS_TRACING: 'off' });
    expect(off.spans).toBe(0);
    expect(off.steps).toBeGreaterThanOrEqual(5);
    const join = await run({});
    expect(join.spans).toBe(0);
    expect(join.steps).toBeGreaterThanOrEqual(5);
    const joined = await run({}, true);
    expect(joined.spans).toBeGreaterThanOrEqual(6);
    // emit, handle, enqueue, attempt, broadcast, the broadcast's handler
    const always = await run({ EVENTS_TRACING: 'always' });
    expect(always.spans).toBeGreaterThanOrEqual(6);
  });
});
