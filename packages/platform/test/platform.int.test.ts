/**
 * createPlatform against the real local brokers (Redis 127.0.0.1:6379, RabbitMQ 127.0.0.1:5672).
 * Each test uses a fresh exchange and key prefix and removes what it made.
 */
import { deleteRabbitMqBusTopology } from '@events/bus/rabbitmq';
import { randomId } from '@events/testing';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { configFromEnv } from '../src/config-env.js';
import { createPlatform } from '../src/create-platform.js';

const REDIS_URL = 'redis://127.0.0.1:6379';
const id = randomId('platform-it');

type Maps = {
  channels: { [K in `${string}:user:${string}:notifications`]: { text: string } };
  events: { UserSignedUp: { userId: string } };
  jobs: { sendWelcomeEmail: { userId: string } };
};

afterAll(async () => {
  await deleteRabbitMqBusTopology({
    exchange: id,
    subscriptions: [
      { group: 'audit', pattern: 'UserSignedUp' },
      { group: 'notifications', pattern: 'UserSignedUp' },
    ],
  });
  const redis = new Redis(REDIS_URL);
  const keys = await redis.keys(`${id}:*`);
  if (keys.length > 0) await redis.del(...keys);
  await redis.quit();
});

describe('createPlatform on Redis, RabbitMQ and BullMQ', () => {
  it('runs the same call sites as memory, selected by environment variables alone', async () => {
    const platform = await createPlatform<Maps>(
      configFromEnv({ EVENTS_PUBSUB: 'redis', EVENTS_BUS: 'rabbitmq', EVENTS_QUEUE: 'bullmq', EVENTS_BUS_EXCHANGE: id, EVENTS_QUEUE_PREFIX: id }),
    );
    try {
      expect(platform.describe()).toBe('pubsub=redis(redis://127.0.0.1:6379) bus=rabbitmq(amqp://guest:***@127.0.0.1:5672) queue=bullmq(redis://127.0.0.1:6379)');
      const received: string[] = [];
      const done = new Promise<void>((resolve) => {
        void platform.pubsub.subscribe(`${id}:user:*:notifications`, (message) => {
          received.push(message.text);
          if (message.text === 'email sent') resolve();
        });
      });
      const audited: string[] = [];
      await platform.bus.on('UserSignedUp', (envelope) => void audited.push(envelope.payload.userId), { group: 'audit' });
      await platform.bus.on(
        'UserSignedUp',
        async (envelope) => {
          await platform.queue.enqueue('sendWelcomeEmail', { userId: envelope.payload.userId }, { jobId: `welcome-${envelope.id}` });
        },
        { group: 'notifications' },
      );
      await platform.queue.process('sendWelcomeEmail', async (payload, ctx) => {
        if (ctx.attempt === 1) throw new Error('flaky mail server');
        await platform.pubsub.broadcast(`${id}:user:${payload.userId}:notifications`, { text: 'email sent' });
      });
      await platform.bus.emit('UserSignedUp', { userId: '42' });
      await done;
      expect(audited).toEqual(['42']);
      expect(received).toContain('email sent');
    } finally {
      await platform.close({ timeoutMs: 5000 });
    }
  });

  it('reports a RabbitMQ that answers but refuses the credentials, naming the tier and the URL', async () => {
    const error = await createPlatform({ bus: { adapter: 'rabbitmq', url: 'amqp://guest:wrong@127.0.0.1:5672', exchange: id }, startTimeoutMs: 3000 }).catch(
      (e: unknown) => e,
    );
    expect((error as Error).message).toMatch(/^the bus \(rabbitmq\) on amqp:\/\/guest:\*\*\*@127\.0\.0\.1:5672 \(config\.bus\.url\) did not start within 3000 ms: .+\. The port answers: check the user, password and vhost in the URL\.$/);
    expect((error as Error).message).not.toContain('wrong');
  });
});
