import { describe, expectTypeOf, it } from 'vitest';
import type { Envelope } from '@events/core';
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
});
