import { describe, expectTypeOf, it } from 'vitest';
import type { ChannelsMatching, EventsMatching, NameOf, PayloadMatching, PayloadOf } from './types.js';

type Events = {
  UserSignedUp: { userId: string };
  'users.Deleted': { userId: string; reason: string };
  'users.profile.Updated': { userId: string; fields: string[] };
  'orders.Created': { orderId: string };
};

// A stand-in for a typed emit, the shape the tiers use.
declare function emit<K extends NameOf<Events>>(name: K, payload: PayloadOf<Events, K>): void;

describe('typed event maps', () => {
  it('checks name and payload', () => {
    expectTypeOf(emit).toBeCallableWith('UserSignedUp', { userId: 'u1' });
    // @ts-expect-error wrong payload shape
    emit('UserSignedUp', { id: 1 });
    // @ts-expect-error unknown event name
    emit('UserSignedOut', { userId: 'u1' });
    // @ts-expect-error payload of another event
    emit('orders.Created', { userId: 'u1' });
  });

  it('resolves the events a bus pattern matches', () => {
    expectTypeOf<EventsMatching<Events, 'users.*'>>().toEqualTypeOf<'users.Deleted'>();
    expectTypeOf<EventsMatching<Events, 'users.#'>>().toEqualTypeOf<'users.Deleted' | 'users.profile.Updated'>();
    expectTypeOf<EventsMatching<Events, '#.Created'>>().toEqualTypeOf<'orders.Created'>();
    expectTypeOf<EventsMatching<Events, '#'>>().toEqualTypeOf<NameOf<Events>>();
    expectTypeOf<EventsMatching<Events, 'UserSignedUp'>>().toEqualTypeOf<'UserSignedUp'>();
    expectTypeOf<PayloadMatching<Events, 'users.*'>>().toEqualTypeOf<{ userId: string; reason: string }>();
    expectTypeOf<PayloadMatching<Events, '*.Created' >>().toEqualTypeOf<{ orderId: string }>();
  });

  it('resolves the channels a glob matches', () => {
    type Channels = { [K in `user:${string}:notifications`]: { text: string } } & { 'system:alerts': { level: number } };
    expectTypeOf<ChannelsMatching<Channels, 'system:*'>>().toEqualTypeOf<'system:alerts'>();
    expectTypeOf<ChannelsMatching<Channels, 'system:alerts'>>().toEqualTypeOf<'system:alerts'>();
  });
});
