/**
 * Journeys through the platform on memory adapters: one journal for the three tiers, searched by
 * the application's keys; EVENTS_JOURNEY and config.journey choose where they are kept.
 */
import { ConfigError } from '@events/core';
import { waitFor } from '@events/testing';
import { afterEach, expect, it } from 'vitest';
import { configFromEnv, createPlatform, resolveConfig, type Platform } from '../src/index.js';
import type { JourneyNode } from '../src/journey/index.js';

const open: Platform[] = [];
afterEach(async () => {
  for (const platform of open.splice(0)) await platform.close({ timeoutMs: 2000 });
});

const all = (nodes: readonly JourneyNode[]): JourneyNode[] => nodes.flatMap((n) => [n, ...all(n.children)]);
const emailOf = (payload: unknown): readonly string[] => {
  const email = (payload as { email?: unknown } | null)?.email;
  return typeof email === 'string' ? [email] : [];
};

it('a signup is one journey: the event, its handler, both attempts of the job (the first with its error), the broadcast; found by email', async () => {
  const platform = await createPlatform({}, { journey: { keys: (_name, payload) => emailOf(payload) } });
  open.push(platform);
  expect(platform.journeys.mode).toBe('memory');
  let failures = 0;
  await platform.bus.on(
    'UserSignedUp',
    async (event) => {
      const payload = event.payload as { email: string };
      await platform.queue.enqueue('sendWelcomeEmail', payload, { attempts: 2, backoff: { type: 'fixed', delayMs: 10 }, correlationId: event.correlationId ?? event.id, causationId: event.id });
    },
    { group: 'notifications' },
  );
  await platform.queue.process('sendWelcomeEmail', async (_payload, ctx) => {
    if (failures++ === 0) throw new Error('SMTP 421 try again later');
    await platform.pubsub.broadcast('user:ada:notifications', { text: 'welcome' }, { ...(ctx.envelope.correlationId ? { correlationId: ctx.envelope.correlationId } : {}) });
  });
  const { id: eventId } = await platform.bus.emit('UserSignedUp', { email: 'ada@example.com' }, { correlationId: 'signup-ada' });

  await waitFor(async () => {
    const found = await platform.journeys.search('ada@example.com');
    const journey = found[0] && (await platform.journeys.get(found[0].correlationId));
    return journey !== undefined && all(journey.roots).some((n) => n.tier === 'pubsub');
  }, 10_000, 'the journey with its broadcast');
  const [summary] = await platform.journeys.search('ada@example.com');
  expect(summary).toMatchObject({ correlationId: 'signup-ada', retries: 1, deadLetters: 0 });
  const journey = (await platform.journeys.get('signup-ada'))!;
  const event = journey.roots.find((n) => n.tier === 'bus')!;
  expect(event).toMatchObject({ name: 'UserSignedUp', envelopeId: eventId, offsetMs: 0 });
  expect(event.steps.map((s) => s.kind)).toEqual(expect.arrayContaining(['emit', 'handle']));
  expect(event.steps.find((s) => s.kind === 'handle')).toMatchObject({ group: 'notifications', outcome: 'ok' });
  const job = event.children.find((n) => n.tier === 'queue')!;
  expect(job).toMatchObject({ name: 'sendWelcomeEmail', causationId: eventId, deadLetter: false });
  const attempts = job.steps.filter((s) => s.kind === 'attempt');
  expect(attempts.map((s) => [s.attempt, s.outcome])).toEqual([[1, 'retry'], [2, 'ok']]);
  expect(attempts[0]!.error).toContain('SMTP 421 try again later');
  expect(attempts[1]!.offsetMs).toBeGreaterThanOrEqual(attempts[0]!.offsetMs);
  const broadcast = all(journey.roots).find((n) => n.tier === 'pubsub')!;
  expect(broadcast).toMatchObject({ name: 'user:ada:notifications' });
  // Found by every id too, and the job by its job id.
  for (const query of ['signup-ada', eventId, job.envelopeId, job.jobId!, broadcast.envelopeId]) {
    expect((await platform.journeys.search(query)).map((s) => s.correlationId), query).toEqual(['signup-ada']);
  }
});

it('journey off records nothing and answers no journey; the store closes with the platform', async () => {
  const platform = await createPlatform({ journey: 'off' });
  await platform.bus.emit('Anything', {}, { correlationId: 'x' });
  expect(platform.journeys.mode).toBe('off');
  expect(await platform.journeys.search('x')).toEqual([]);
  expect(await platform.journeys.get('x')).toBeUndefined();
  await platform.close();
  const memory = await createPlatform({});
  await memory.close();
  await expect(memory.journeys.search('')).rejects.toThrow(/closed/);
});

it('EVENTS_JOURNEY and config.journey choose the store: redis by default when a tier runs on Redis, memory otherwise', () => {
  expect(configFromEnv({}).journey).toBe('memory');
  expect(configFromEnv({ EVENTS_PUBSUB: 'redis' }).journey).toBe('redis');
  expect(configFromEnv({ EVENTS_QUEUE: 'bullmq' }).journey).toBe('redis');
  expect(configFromEnv({ EVENTS_QUEUE: 'bullmq', EVENTS_JOURNEY: 'memory' }).journey).toBe('memory');
  expect(configFromEnv({ EVENTS_JOURNEY: 'OFF' }).journey).toBe('off');
  expect(() => configFromEnv({ EVENTS_JOURNEY: 'redis' })).toThrow(/EVENTS_JOURNEY is redis, but no tier runs on Redis/);
  expect(() => configFromEnv({ EVENTS_JOURNEY: 'disk' })).toThrow(ConfigError);
  expect(() => configFromEnv({ EVENTS_JOURNEY: 'disk' })).toThrow(/EVENTS_JOURNEY must be one of memory, redis, off/);
  expect(() => resolveConfig({ journey: 'nope' as never })).toThrow(/config.journey must be one of/);
  // A resolved config resolves again to the same mode (createPlatform accepts either).
  const resolved = configFromEnv({ EVENTS_PUBSUB: 'redis', EVENTS_JOURNEY: 'off' });
  expect(resolveConfig(resolved, resolved.sources).journey).toBe('off');
});
