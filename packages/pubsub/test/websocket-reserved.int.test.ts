/**
 * The platform's own channels (`_pubsub:presence:*`, `_pubsub:reply:*`) never reach a websocket
 * client, whatever the application's hooks answer: refused as a subscription, a pattern, a publish
 * or a presence request, and never delivered through a glob.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { delay, waitFor } from '@events/testing';
import { RawClient, startGateway, type GatewayFixture } from './websocket-helpers.js';

let fixture: GatewayFixture | undefined;
afterEach(async () => {
  await fixture?.close();
  fixture = undefined;
});

describe('websocket gateway: the platform\'s channels are not the client\'s', () => {
  it('refuses them even when authorize and authorizePublish allow everything', async () => {
    fixture = await startGateway({ authorize: () => true, authorizePublish: () => true });
    const client = new RawClient(fixture.url);
    await client.opened;
    client.send({ type: 'subscribe', id: 1, topic: '_pubsub:presence:room:1' });
    client.send({ type: 'subscribe', id: 2, topic: '_pubsub:reply:*' });
    client.send({ type: 'publish', id: 3, channel: '_pubsub:reply:node:1', data: { forged: true } });
    client.send({ type: 'presence', id: 4, channel: '_pubsub:presence:room:1' });
    await waitFor(() => client.of('error').length === 4, 5_000, 'four refusals');
    expect(client.of('error').map((e) => [e.id, e.code])).toEqual([
      [1, 'INVALID_NAME'],
      [2, 'INVALID_PATTERN'],
      [3, 'INVALID_NAME'],
      [4, 'INVALID_NAME'],
    ]);
    expect(client.of('subscribed')).toEqual([]);
    client.ws.close();
  });

  it('a glob matching everything delivers the application\'s channels and never the platform\'s', async () => {
    fixture = await startGateway({ authorize: () => true });
    const client = new RawClient(fixture.url);
    await client.opened;
    client.send({ type: 'subscribe', id: 1, topic: '*' });
    await waitFor(() => client.of('subscribed').length === 1, 5_000, 'subscribed to *');
    await fixture.pubsub.broadcast('_pubsub:presence:room:1', { kind: 'join', forged: true });
    await fixture.pubsub.broadcast('room:1', { text: 'hello' });
    await waitFor(() => client.of('message').length >= 1, 5_000, 'the application message');
    await delay(200); // long enough for a second frame on a local socket
    expect(client.of('message').map((m) => m.channel)).toEqual(['room:1']);
    client.ws.close();
  });
});
