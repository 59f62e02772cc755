/** The tier, its handles, the gateway and the client implement core's one contract. */
import { describe, expectTypeOf, it } from 'vitest';
import type { Lifecycle, SubscriptionHandle } from '@events/core';
import { createPubSub, type PubSub, type Subscription } from './index.js';
import type { WebSocketGateway } from './websocket/index.js';
import type { PubSubClient } from './client/index.js';

describe('the shared contract', () => {
  it('PubSub, the gateway and the client are Lifecycles', () => {
    expectTypeOf<PubSub>().toExtend<Lifecycle>();
    expectTypeOf<WebSocketGateway>().toExtend<Lifecycle>();
    expectTypeOf<PubSubClient>().toExtend<Lifecycle>();
  });

  it('subscribe and reply return a SubscriptionHandle (no callable form)', () => {
    const pubsub = createPubSub();
    expectTypeOf(pubsub.subscribe('a', () => undefined)).resolves.toExtend<SubscriptionHandle>();
    expectTypeOf(pubsub.reply('a', () => 1)).resolves.toExtend<SubscriptionHandle>();
    // @ts-expect-error a handle is an object with close(), not a function to call
    void ((handle: Subscription) => handle())(undefined as never);
    expectTypeOf<Awaited<ReturnType<PubSubClient['subscribe']>>>().toExtend<SubscriptionHandle>();
  });

  it('onError takes the one ErrorEvent hook', () => {
    createPubSub({ onError: (event) => expectTypeOf(event.kind).toBeString() });
    // @ts-expect-error the old (error, context) hook is gone
    createPubSub({ onError: (_error: Error, _context: { kind: string }) => undefined });
  });
});
