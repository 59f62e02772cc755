import { ConfigError } from '@events/core';
import { describe, expect, it, vi } from 'vitest';
import { configFromEnv } from './config-env.js';
import { createPlatform } from './create-platform.js';
import { closedPort } from '@events/testing';

type Maps = {
  channels: { 'user:1:notifications': { text: string } };
  events: { UserSignedUp: { userId: string } };
  jobs: { sendWelcomeEmail: { userId: string } };
};

describe('createPlatform on memory adapters', () => {
  it('builds the three tiers from an empty environment and carries a message through each', async () => {
    const platform = await createPlatform<Maps>(configFromEnv({}));
    expect(platform.describe()).toBe('pubsub=memory bus=memory queue=memory');
    const seen: string[] = [];
    await platform.pubsub.subscribe('user:*:notifications', (message) => void seen.push(`pubsub:${message.text}`));
    await platform.bus.on('UserSignedUp', async (envelope) => {
      seen.push(`bus:${envelope.payload.userId}`);
      await platform.queue.enqueue('sendWelcomeEmail', { userId: envelope.payload.userId });
    }, { group: 'notifications' });
    const done = new Promise<void>((resolve) => {
      void platform.queue.process('sendWelcomeEmail', async (payload) => {
        seen.push(`queue:${payload.userId}`);
        await platform.pubsub.broadcast('user:1:notifications', { text: 'sent' });
        resolve();
      });
    });
    await platform.bus.emit('UserSignedUp', { userId: '1' });
    await done;
    await vi.waitFor(() => expect(seen).toEqual(['bus:1', 'queue:1', 'pubsub:sent']));
    await platform.close();
  });

  it('closes bus, then queue, then pubsub, once, and lets draining bus handlers still enqueue and broadcast', async () => {
    const platform = await createPlatform<Maps>({});
    const order: string[] = [];
    for (const tier of ['bus', 'queue', 'pubsub'] as const) {
      const original = platform[tier].close.bind(platform[tier]);
      vi.spyOn(platform[tier], 'close').mockImplementation(async (options) => {
        order.push(tier);
        await original(options);
      });
    }
    const received: string[] = [];
    await platform.pubsub.subscribe('user:1:notifications', (message) => void received.push(message.text));
    let enqueued: string | undefined;
    const handled = new Promise<void>((resolve) => {
      void platform.bus.on('UserSignedUp', async () => {
        resolve();
        await new Promise((r) => setTimeout(r, 50));
        enqueued = await platform.queue.enqueue('sendWelcomeEmail', { userId: '1' });
        await platform.pubsub.broadcast('user:1:notifications', { text: 'late but delivered' });
      }, { group: 'g' });
    });
    await platform.bus.emit('UserSignedUp', { userId: '1' });
    await handled;
    const first = platform.close({ timeoutMs: 5000 });
    expect(platform.close()).toBe(first);
    await first;
    expect(order).toEqual(['bus', 'queue', 'pubsub']);
    expect(enqueued).toBeTypeOf('string');
    expect(received).toEqual(['late but delivered']);
  });
});

describe('createPlatform without a config', () => {
  it('reads the environment', async () => {
    const saved = process.env.EVENTS_QUEUE;
    process.env.EVENTS_QUEUE = 'kafka';
    try {
      await expect(createPlatform()).rejects.toThrow('EVENTS_QUEUE="kafka" is not a known adapter');
    } finally {
      if (saved === undefined) delete process.env.EVENTS_QUEUE;
      else process.env.EVENTS_QUEUE = saved;
    }
  });
});

describe('createPlatform start errors', () => {
  it('rejects a bad config before building anything', async () => {
    await expect(createPlatform({ bus: { adapter: 'kafka' } } as never)).rejects.toThrow('config.bus.adapter: "kafka" is not a known bus adapter; valid values: memory, rabbitmq');
  });

  it('says which broker, which URL and what to do when a broker does not answer', async () => {
    const port = await closedPort();
    const config = configFromEnv({ EVENTS_BUS: 'rabbitmq', AMQP_URL: `amqp://guest:guest@127.0.0.1:${port}`, EVENTS_START_TIMEOUT_MS: '1000' });
    const error = await createPlatform(config).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as Error).message).toBe(
      `RabbitMQ did not answer at amqp://guest:***@127.0.0.1:${port} (AMQP_URL, used by bus) within 1000 ms: ECONNREFUSED. ` +
        'Start it (on a laptop: `docker compose up -d --wait` starts Redis, RabbitMQ and PostgreSQL), point AMQP_URL at a running RabbitMQ, or run on memory adapters with EVENTS_BUS=memory.',
    );
  });

  it('probes a Redis shared by pubsub and queue once, naming both', async () => {
    const port = await closedPort();
    const error = await createPlatform({
      pubsub: { adapter: 'redis', url: `redis://127.0.0.1:${port}` },
      queue: { adapter: 'bullmq', url: `redis://127.0.0.1:${port}` },
      startTimeoutMs: 1000,
    }).catch((e: unknown) => e);
    expect((error as Error).message).toContain(`Redis did not answer at redis://127.0.0.1:${port} (config.pubsub.url, used by pubsub, queue)`);
    expect((error as Error).message).toContain("run on memory adapters with config.pubsub = { adapter: 'memory' } and config.queue = { adapter: 'memory' }");
  });
});

describe('the platform implements the shared lifecycle', () => {
  it('folds the tiers health into one, and refuses to start once closed', async () => {
    const platform = await createPlatform({});
    await platform.ready();
    const health = platform.health();
    expect(health).toMatchObject({ phase: 'ready', connected: true });
    expect(Object.keys(health.counts).some((k) => k.startsWith('bus.'))).toBe(true);
    expect(Object.keys(health.counts).some((k) => k.startsWith('queue.'))).toBe(true);
    const first = platform.close();
    expect(platform.close()).toBe(first);
    await first;
    expect(platform.health().phase).toBe('closed');
    await expect(platform.start()).rejects.toMatchObject({ code: 'CLOSED' });
  });
});
