/**
 * Presence through the client library (Node, `ws`): subscribe with presence, join/leave events,
 * presence() requests with the gateway's authorization, and requests settled when the client goes.
 */
import { afterEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { randomId, waitFor } from '@events/testing';
import { createPubSubClient, type ClientPresenceEvent, GatewayError, type PubSubClient, type WebSocketConstructor } from '../src/client/index.js';
import { topicWithinPrefix } from '../src/websocket/index.js';
import { type GatewayFixture, startGateway } from './websocket-helpers.js';

describe('presence in the client', () => {
  let fx: GatewayFixture | undefined;
  const clients: PubSubClient[] = [];
  afterEach(async () => {
    await Promise.all(clients.map((c) => c.close()));
    await fx?.close();
  });

  function client(user: string): PubSubClient {
    class As extends WebSocket {
      constructor(url: string) {
        super(url, { headers: { 'x-user': user } });
      }
    }
    const c = createPubSubClient({ url: fx!.url, WebSocket: As as unknown as WebSocketConstructor, timeoutMs: 3000 });
    clients.push(c);
    return c;
  }

  it('shows who is on a channel, announces joins and leaves, and refuses channels authorize refuses', async () => {
    const tenant = randomId('t');
    fx = await startGateway({
      authorize: (req, topic) =>
        topicWithinPrefix(topic, `${tenant}:`) && { allow: true, presence: { user: String(req.headers['x-user']), info: { name: String(req.headers['x-user']) } } },
    });
    const channel = `${tenant}:lobby`;
    const ada = client('ada');
    const bob = client('bob');
    const events: Array<[string, ClientPresenceEvent]> = [];
    ada.on('join', (e) => void events.push(['join', e]));
    ada.on('leave', (e) => void events.push(['leave', e]));
    await ada.subscribe(channel, () => undefined, { presence: true, presenceEvents: true });
    await bob.subscribe(channel, () => undefined, { presence: true });

    const seen = await ada.presence(channel);
    expect(seen).toMatchObject({ channel, total: 2, truncated: false });
    expect(seen.members.map((m) => m.user).sort()).toEqual(['ada', 'bob']);
    expect((await ada.presence(channel, { limit: 1 })).members).toHaveLength(1);
    await waitFor(() => events.length === 2, 5000, 'two joins');
    expect(events.map(([type, e]) => [type, e.member.user, e.topic])).toEqual([
      ['join', 'ada', channel],
      ['join', 'bob', channel],
    ]);

    await bob.close();
    await waitFor(() => events.length === 3, 5000, 'a leave');
    expect(events[2]).toMatchObject(['leave', { reason: 'left', member: { user: 'bob' } }]);

    const refused = await ada.presence(`other:lobby`).catch((err: unknown) => err);
    expect(refused).toBeInstanceOf(GatewayError);
    expect((refused as GatewayError).code).toBe('UNAUTHORIZED');
    const pending = ada.presence(channel).then(
      () => 'answered',
      (err: GatewayError) => err.code,
    );
    await ada.close();
    // Either answered before the close or settled by it: never left hanging.
    await expect(pending).resolves.toMatch(/answered|CLOSED|DISCONNECTED/);
  });
});
