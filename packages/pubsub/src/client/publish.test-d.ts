import { describe, expectTypeOf, it } from 'vitest';
import { createPubSubClient } from './index.js';

type Channels = { [K in `tenant:${string}:chat`]: { from: string; text: string } } & { 'system:alerts': { level: number } };

describe("the client's publish is typed by the channel map", () => {
  const client = createPubSubClient<Channels>({ url: 'ws://localhost/pubsub', reconnect: false });

  it('checks the channel and the message, and resolves to the receiver count', () => {
    expectTypeOf(client.publish('tenant:acme:chat', { from: 'ada', text: 'hi' })).toEqualTypeOf<Promise<number>>();
    void client.publish('system:alerts', { level: 1 }, { timeoutMs: 500 });
    // @ts-expect-error wrong message shape for the channel
    void client.publish('tenant:acme:chat', { level: 1 });
    // @ts-expect-error unknown channel
    void client.publish('tenant:acme:other', { from: 'ada', text: 'hi' });
  });

  it('takes any channel and message without a map', () => {
    const untyped = createPubSubClient({ url: 'ws://localhost/pubsub', reconnect: false });
    void untyped.publish('anything:goes', { whatever: [1, 2] });
  });
});
