import { describe, expectTypeOf, it } from 'vitest';
import type { PlatformConfig } from './config.js';
import { createPlatform, type Platform } from './create-platform.js';
import type { Lifecycle } from '@events/core';

type Maps = {
  channels: { [K in `user:${string}:notifications`]: { text: string } };
  events: { UserSignedUp: { userId: string } };
  jobs: { sendWelcomeEmail: { userId: string } };
};

describe('createPlatform types', () => {
  it('types every call site from the maps', async () => {
    const platform = await createPlatform<Maps>({});
    expectTypeOf(platform.bus.emit<'UserSignedUp'>).parameter(1).toEqualTypeOf<{ userId: string }>();
    expectTypeOf(platform.queue.enqueue<'sendWelcomeEmail'>).parameter(1).toEqualTypeOf<{ userId: string }>();
    // @ts-expect-error unknown event
    void platform.bus.emit('UserDeleted', { userId: '1' });
    // @ts-expect-error wrong payload
    void platform.queue.enqueue('sendWelcomeEmail', { id: 1 });
    // @ts-expect-error wrong channel message
    void platform.pubsub.broadcast('user:1:notifications', { body: 'x' });
  });

  it('accepts only known adapters, with the fields each needs', () => {
    expectTypeOf<{ bus: { adapter: 'rabbitmq'; url: string } }>().toMatchTypeOf<PlatformConfig>();
    expectTypeOf<{ bus: { adapter: 'kafka' } }>().not.toMatchTypeOf<PlatformConfig>();
    expectTypeOf<{ queue: { adapter: 'bullmq' } }>().not.toMatchTypeOf<PlatformConfig>();
  });

  it('keeps transport keys out of the per-tier options', async () => {
    // @ts-expect-error the adapter comes from the config only
    await createPlatform({}, { bus: { adapter: 'rabbitmq' } });
  });
});

describe('the platform contract', () => {
  it('is a Lifecycle', () => {
    expectTypeOf<Platform>().toExtend<Lifecycle>();
  });
});
