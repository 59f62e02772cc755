import { describe, expectTypeOf, it } from 'vitest';
import { createPubSub } from './index.js';
import { createPubSubClient } from './client/index.js';

type Channels = { [K in `user:${string}:notifications`]: { text: string } } & {
  'system:alerts': { level: number };
  'prices:live': { symbol: string; price: number };
};

describe('typed channels', () => {
  const pubsub = createPubSub<Channels>();

  it('checks channel and message on broadcast', () => {
    void pubsub.broadcast('user:42:notifications', { text: 'hi' });
    void pubsub.broadcast('system:alerts', { level: 3 });
    // @ts-expect-error wrong message shape
    void pubsub.broadcast('system:alerts', { text: 'hi' });
    // @ts-expect-error unknown channel
    void pubsub.broadcast('nope', { level: 1 });
    // @ts-expect-error localBroadcast is typed the same way
    void pubsub.localBroadcast('system:alerts', { level: '3' });
  });

  it('types handlers of channels, globs and lists of both', () => {
    void pubsub.subscribe('user:*:notifications', (message, meta) => {
      expectTypeOf(message).toEqualTypeOf<{ text: string }>();
      expectTypeOf(meta.channel).toEqualTypeOf<`user:${string}:notifications`>();
    });
    void pubsub.subscribe('system:alerts', (message) => {
      expectTypeOf(message).toEqualTypeOf<{ level: number }>();
    });
    void pubsub.subscribe(['system:alerts', 'prices:live'], (message, meta) => {
      expectTypeOf(message).toEqualTypeOf<{ level: number } | { symbol: string; price: number }>();
      expectTypeOf(meta.channel).toEqualTypeOf<'system:alerts' | 'prices:live'>();
    });
  });

  it('request resolves to the reply type asked for', () => {
    expectTypeOf(pubsub.request<'system:alerts', { ok: boolean }>('system:alerts', { level: 1 })).resolves.toEqualTypeOf<{ ok: boolean }>();
  });

  it('an untyped pubsub takes any channel and hands out unknown', () => {
    const loose = createPubSub();
    void loose.broadcast('anything:at:all', { whatever: true });
    void loose.subscribe('any:*', (message, meta) => {
      expectTypeOf(message).toEqualTypeOf<unknown>();
      expectTypeOf(meta.channel).toEqualTypeOf<string>();
    });
  });

  it('the websocket client is typed by the same map', () => {
    const client = createPubSubClient<Channels>({ url: 'ws://x/pubsub' });
    void client.subscribe('prices:*', (message, meta) => {
      expectTypeOf(message).toEqualTypeOf<{ symbol: string; price: number }>();
      expectTypeOf(meta.channel).toEqualTypeOf<'prices:live'>();
    });
  });
});
