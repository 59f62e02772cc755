/**
 * Presence through the websocket gateway: two gateways (two nodes on one memory hub), raw
 * protocol clients of two tenants. Members come from `authorize`'s answer, events are opt-in per
 * subscription, and a client sees the presence only of channels it may subscribe to (fast-check
 * drives the hostile requests).
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ErrorEvent } from '@events/core';
import { randomId, waitFor } from '@events/testing';
import { createMemoryHub, createPubSub, memoryPubSub, type PubSub } from '../src/index.js';
import { createWebSocketGateway, topicWithinPrefix, type WebSocketGateway } from '../src/websocket/index.js';
import { RawClient } from './websocket-helpers.js';

interface Node {
  pubsub: PubSub;
  gateway: WebSocketGateway;
  server: http.Server;
  url: string;
}

const hub = createMemoryHub();
const errors: ErrorEvent[] = [];
const ns = randomId('acme');
const room = `tenant:${ns}:room`;
let nodes: Node[] = [];
const clients: RawClient[] = [];

/** Tenant and user come from headers here (a session lookup in an app); huge info on request. */
async function startNode(): Promise<Node> {
  const server = http.createServer((_req, res) => res.end('ok'));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const pubsub = createPubSub({ adapter: memoryPubSub({ hub }), presence: { maxInfoBytes: 512 } });
  const gateway = createWebSocketGateway({
    pubsub,
    server,
    onError: (e) => void errors.push(e),
    authorize: (req, topic) => {
      const tenant = String(req.headers['x-tenant']);
      const user = String(req.headers['x-user']);
      if (!topicWithinPrefix(topic, `tenant:${tenant}:`)) return false;
      const info = req.headers['x-huge'] ? { name: 'x'.repeat(4000) } : { name: user.toUpperCase() };
      return { allow: true, presence: { clientId: `${user}-client`, user, info } };
    },
  });
  return { pubsub, gateway, server, url: `ws://127.0.0.1:${(server.address() as AddressInfo).port}/pubsub` };
}

async function connect(node: Node, tenant: string, user: string, extra: Record<string, string> = {}): Promise<RawClient> {
  const client = new RawClient(node.url, { 'x-tenant': tenant, 'x-user': user, ...extra });
  clients.push(client);
  await client.opened;
  return client;
}

let nextId = 1;
async function subscribe(client: RawClient, topic: string, flags: Record<string, unknown>): Promise<void> {
  const id = nextId++;
  client.send({ type: 'subscribe', id, topic, ...flags });
  await waitFor(() => client.frames.some((f) => 'id' in f && f.id === id), 5000, `answer to subscribe ${id}`);
}

async function ask(client: RawClient, channel: unknown, extra: Record<string, unknown> = {}) {
  const id = nextId++;
  client.send({ type: 'presence', id, channel, ...extra });
  await waitFor(() => client.frames.some((f) => 'id' in f && f.id === id) || client.closed !== undefined, 5000, `answer to presence ${id}`);
  return client.frames.find((f) => 'id' in f && f.id === id);
}

beforeAll(async () => {
  nodes = await Promise.all([startNode(), startNode()]);
});

afterAll(async () => {
  for (const c of clients) c.ws.terminate();
  for (const node of nodes) {
    await node.gateway.close();
    await node.pubsub.close();
    node.server.closeAllConnections();
    await new Promise((resolve) => node.server.close(resolve));
  }
});

describe('presence through the gateway', () => {
  it('lists members of both gateways with what authorize said, sends join and leave to subscriptions that asked, and drops a client that left', async () => {
    const [one, two] = nodes;
    const ada = await connect(one!, ns, 'ada');
    const bob = await connect(two!, ns, 'bob');
    const quiet = await connect(two!, ns, 'quiet');
    await subscribe(ada, room, { presence: true, presenceEvents: true });
    await subscribe(quiet, room, { presence: true }); // a member that asked for no events
    await subscribe(bob, room, { presence: true, presenceEvents: true, info: 'client-sent info is ignored' });

    const answer = await ask(bob, room);
    expect(answer).toMatchObject({ type: 'presence', channel: room, total: 3, truncated: false });
    const members = (answer as unknown as { members: Array<{ clientId: string; user: string; info: unknown; node: string }> }).members;
    expect(members.map((m) => [m.clientId, m.user, m.info, m.node]).sort()).toEqual(
      [
        ['ada-client', 'ada', { name: 'ADA' }, one!.pubsub.nodeId],
        ['bob-client', 'bob', { name: 'BOB' }, two!.pubsub.nodeId],
        ['quiet-client', 'quiet', { name: 'QUIET' }, two!.pubsub.nodeId],
      ].sort(),
    );
    expect((await ask(bob, room, { limit: 1 })) as unknown).toMatchObject({ total: 3, truncated: true, members: [expect.anything()] });

    // ada saw her own join, then quiet's and bob's (another gateway); quiet asked for no events and got none.
    await waitFor(() => ada.of('join').length === 3, 5000, 'joins at ada');
    expect(ada.of('join').map((f) => [f.topic, f.member.user])).toEqual([
      [room, 'ada'],
      [room, 'quiet'],
      [room, 'bob'],
    ]);
    expect(quiet.of('join')).toHaveLength(0);

    bob.send({ type: 'unsubscribe', id: nextId++, topic: room });
    await waitFor(() => ada.of('leave').length === 1, 5000, 'leave after unsubscribe');
    expect(ada.of('leave')[0]).toMatchObject({ channel: room, reason: 'left', member: { user: 'bob' } });

    quiet.ws.terminate();
    await waitFor(() => ada.of('leave').length === 2, 5000, 'leave after disconnect');
    expect(ada.of('leave')[1]).toMatchObject({ reason: 'left', member: { user: 'quiet' } });
    expect((await ask(ada, room)) as unknown).toMatchObject({ total: 1 });
  });

  it('refuses presence on a glob, and a member whose info from authorize is too large, keeping the connection', async () => {
    const client = await connect(nodes[0]!, ns, 'gus', { 'x-huge': '1' });
    await subscribe(client, `tenant:${ns}:*`, { presenceEvents: true });
    expect(client.of('error').at(-1)).toMatchObject({ code: 'BAD_REQUEST', topic: `tenant:${ns}:*` });
    await subscribe(client, `tenant:${ns}:big`, { presence: true });
    expect(client.of('error').at(-1)).toMatchObject({ code: 'UNAVAILABLE', topic: `tenant:${ns}:big` });
    expect(String(client.of('error').at(-1)?.message)).toContain('maxInfoBytes');
    expect((await ask(client, `tenant:${ns}:big`)) as unknown).toMatchObject({ type: 'presence', total: 0 });
    expect(client.closed).toBeUndefined();
  });

  it('answers a presence request with at most 100 members, whatever limit the client asks for', async () => {
    const channel = `tenant:${ns}:crowd`;
    const handles = await Promise.all(Array.from({ length: 120 }, (_, i) => nodes[1]!.pubsub.join(channel, { user: `u${i}` })));
    const client = await connect(nodes[0]!, ns, 'asker');
    const answer = (await ask(client, channel, { limit: 1_000_000 })) as unknown as { members: unknown[]; total: number; truncated: boolean };
    expect(answer.members).toHaveLength(100);
    expect(answer).toMatchObject({ total: 120, truncated: true });
    await Promise.all(handles.map((h) => h.leave()));
  });

  it('never shows another tenant the presence of a channel (fast-check: any channel, limit and extra fields)', async () => {
    const victim = await connect(nodes[1]!, ns, 'victim');
    await subscribe(victim, room, { presence: true });
    const intruder = await connect(nodes[0]!, 'evil', 'mallory');
    const channel = fc.oneof(
      fc.constantFrom(room, `tenant:${ns}:`, `tenant:${ns}:room:x`, `_pubsub:presence:${room}`, 'tenant:*', `tenant:${ns}:*`),
      fc.string({ maxLength: 40 }).map((s) => `tenant:${ns}:${s}`),
      fc.string({ maxLength: 40 }).filter((s) => !s.startsWith('tenant:evil:')),
    );
    const extra = fc.record({ limit: fc.oneof(fc.nat(2000), fc.constant(undefined)), info: fc.string({ maxLength: 2000 }), user: fc.constant('victim') }, { requiredKeys: [] });
    await fc.assert(
      fc.asyncProperty(channel, extra, async (target, fields) => {
        const answer = await ask(intruder, target, fields);
        expect(intruder.closed).toBeUndefined();
        expect(answer?.type).toBe('error');
        expect(['UNAUTHORIZED', 'INVALID_NAME']).toContain((answer as { code: string }).code);
        // Nor through events: a presence-events subscription outside the tenant is refused.
        await subscribe(intruder, target, { presenceEvents: true });
        expect(intruder.of('join')).toHaveLength(0);
      }),
      { numRuns: 60 },
    );
    expect(intruder.of('presence')).toHaveLength(0);
    expect(intruder.of('subscribed')).toHaveLength(0);
  });
});
