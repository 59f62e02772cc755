import { describe, expectTypeOf, it } from 'vitest';
import type { Envelope, ErrorHook, Lifecycle, SubscriptionHandle } from '@events/core';
import { memoryBus } from './adapters/memory.js';
import { rabbitmqBus } from './adapters/rabbitmq.js';
import { createBus } from './index.js';

type Events = {
  'users.SignedUp': { userId: string };
  'users.Deleted': { userId: string; reason: string };
  'users.profile.Updated': { userId: string; name: string };
  'orders.Placed': { orderId: string };
};

describe('bus types', () => {
  const bus = createBus<Events>();

  it('checks emit payloads against the map', () => {
    expectTypeOf(bus.emit('users.SignedUp', { userId: '1' })).resolves.toEqualTypeOf<Envelope<{ userId: string }, 'users.SignedUp'>>();
    // @ts-expect-error wrong payload
    void bus.emit('users.SignedUp', { id: 1 });
    // @ts-expect-error unknown event
    void bus.emit('users.Nope', { userId: '1' });
  });

  it('gives a pattern handler the union of the payloads it matches, narrowed by name', () => {
    void bus.on('users.*', (e, ctx) => {
      expectTypeOf(e.name).toEqualTypeOf<'users.SignedUp' | 'users.Deleted'>();
      if (e.name === 'users.Deleted') expectTypeOf(e.payload).toEqualTypeOf<{ userId: string; reason: string }>();
      expectTypeOf(ctx.attempt).toBeNumber();
      expectTypeOf(ctx.emit).parameter(0).toEqualTypeOf<keyof Events>();
    });
    void bus.on('#.Updated', (e) => {
      expectTypeOf(e.payload).toEqualTypeOf<{ userId: string; name: string }>();
    });
    void bus.on('#', (e) => {
      expectTypeOf(e.name).toEqualTypeOf<keyof Events>();
    });
    void bus.on('orders.Placed', (e) => {
      expectTypeOf(e.payload.orderId).toBeString();
    }, {
      partitionBy: (e) => e.payload.orderId,
    });
  });

  it('is untyped without a map', () => {
    const loose = createBus();
    void loose.on('anything.*', (e) => {
      expectTypeOf(e.payload).toBeUnknown();
    });
    void loose.emit('x.y', { any: 'thing' });
  });

  it('implements the shared contract: Lifecycle, SubscriptionHandle, one ErrorHook', () => {
    expectTypeOf(bus).toMatchTypeOf<Lifecycle>();
    expectTypeOf(bus.on('users.*', () => undefined)).resolves.toMatchTypeOf<SubscriptionHandle>();
    expectTypeOf<NonNullable<Parameters<typeof createBus>[0]>['onError']>().toEqualTypeOf<ErrorHook | undefined>();
  });

  it('takes adapters as values, never as strings or per-adapter keys', () => {
    void createBus<Events>({ adapter: memoryBus({ bufferSize: 10 }) });
    void createBus<Events>({ adapter: rabbitmqBus({ urls: ['amqp://a', 'amqp://b'], exchange: 'events' }) });
    // @ts-expect-error a string is no adapter
    void createBus<Events>({ adapter: 'rabbitmq' });
    // @ts-expect-error no per-adapter options key
    void createBus<Events>({ rabbitmq: { url: 'amqp://x' } });
  });
});
