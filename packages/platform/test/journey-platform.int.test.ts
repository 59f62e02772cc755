/**
 * Journeys on Redis through the platform: pubsub on Redis and the queue on BullMQ choose the Redis
 * journey store by default; a signup's steps from every tier meet in one journey, found by email
 * from another platform on the same Redis (another process, as a dashboard would be). A random
 * namespace; every key it made is deleted after.
 */
import { randomId, REDIS_URL, waitFor } from '@events/testing';
import { Redis } from 'ioredis';
import { afterAll, expect, it } from 'vitest';
import { configFromEnv, createPlatform, type Platform } from '../src/index.js';
import type { JourneyNode } from '../src/journey/index.js';

const id = randomId('journey-it');
const open: Platform[] = [];
const all = (nodes: readonly JourneyNode[]): JourneyNode[] => nodes.flatMap((n) => [n, ...all(n.children)]);

afterAll(async () => {
  for (const platform of open) await platform.close({ timeoutMs: 5000 });
  const redis = new Redis(REDIS_URL);
  const keys = await redis.keys(`${id}:*`);
  if (keys.length > 0) await redis.del(...keys);
  await redis.quit();
});

it('a signup across memory bus, BullMQ and Redis pubsub is one journey in Redis, found by email from another platform', { timeout: 30_000 }, async () => {
  const config = configFromEnv({ EVENTS_PUBSUB: 'redis', EVENTS_QUEUE: 'bullmq', EVENTS_NAMESPACE: id, REDIS_URL });
  expect(config.journey).toBe('redis');
  const keys = (_name: string, payload: unknown): readonly string[] => {
    const email = (payload as { email?: unknown } | null)?.email;
    return typeof email === 'string' ? [email] : [];
  };
  const app = await createPlatform(config, { journey: { keys } });
  open.push(app);
  await app.bus.on(
    'UserSignedUp',
    async (event) => {
      await app.queue.enqueue('sendWelcomeEmail', event.payload, { attempts: 2, backoff: { type: 'fixed', delayMs: 50 }, correlationId: event.correlationId ?? event.id, causationId: event.id });
    },
    { group: 'notifications' },
  );
  await app.queue.process('sendWelcomeEmail', async (_payload, ctx) => {
    if (ctx.attempt === 1) throw new Error('SMTP 421 try again later');
    await app.pubsub.broadcast(`${id}:notifications`, { text: 'welcome' }, { correlationId: ctx.envelope.correlationId ?? ctx.envelope.id });
  });
  await app.bus.emit('UserSignedUp', { email: 'ada@example.com' }, { correlationId: `${id}-signup` });

  const reader = await createPlatform(config);
  open.push(reader);
  expect(reader.journeys.mode).toBe('redis');
  await waitFor(async () => {
    const [found] = await reader.journeys.search('ada@example.com');
    const journey = found && (await reader.journeys.get(found.correlationId));
    return journey !== undefined && all(journey.roots).some((n) => n.tier === 'pubsub');
  }, 20_000, 'the journey, broadcast included, in Redis');
  const journey = (await reader.journeys.get(`${id}-signup`))!;
  const event = journey.roots.find((n) => n.tier === 'bus')!;
  const job = event.children.find((n) => n.tier === 'queue')!;
  expect(job).toMatchObject({ name: 'sendWelcomeEmail', system: 'bullmq' });
  const attempts = job.steps.filter((s) => s.kind === 'attempt');
  expect(attempts.map((s) => [s.attempt, s.outcome])).toEqual([[1, 'retry'], [2, 'ok']]);
  expect(attempts[0]!.error).toContain('SMTP 421');
  expect(all(journey.roots).find((n) => n.tier === 'pubsub')).toMatchObject({ system: 'redis', name: `${id}:notifications` });
  // The keys sit beside the application's own, under its namespace.
  const redis = new Redis(REDIS_URL);
  expect(await redis.exists(`${id}:{journey}:recent`)).toBe(1);
  await redis.quit();
});
