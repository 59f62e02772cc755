/**
 * One PubSub subscription per topic per gateway (topic-groups.ts): however many clients follow a
 * topic, the PubSub holds one handler for it, made when the first client subscribes and closed when
 * the last one leaves; a client leaving in the middle of a fan-out costs no one else a message; and
 * over random sequences of subscribe / unsubscribe / close / broadcast (and resumes with `since`
 * racing live broadcasts), every client gets exactly what was broadcast while it was subscribed.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import { randomId, waitFor } from '@events/testing';
import { createPubSub, type PubSub } from '../src/index.js';
import { createWebSocketGateway, type WebSocketGateway } from '../src/websocket/index.js';
import type { FramePosition, ServerFrame } from '../src/websocket/protocol.js';
import { presenceEventChannel } from '../src/presence-codec.js';
import { RawClient, startGateway, type GatewayFixture } from './websocket-helpers.js';

type Message = Extract<ServerFrame, { type: 'message' }> & { data: { n: number } };

const messagesOf = (c: RawClient, topic: string): number[] =>
  c.frames.filter((f): f is Message => f.type === 'message' && f.topic === topic).map((f) => f.data.n);

async function connect(url: string): Promise<RawClient> {
  const c = new RawClient(url);
  await c.opened;
  return c;
}

let nextId = 1;
async function subscribe(c: RawClient, topic: string, extra: Record<string, unknown> = {}): Promise<void> {
  const id = nextId++;
  c.send({ type: 'subscribe', id, topic, ...extra });
  await waitFor(() => c.frames.some((f) => (f.type === 'subscribed' || f.type === 'error') && f.id === id), 10_000, `the answer to subscribe ${id}`);
  const answer = c.frames.find((f) => (f.type === 'subscribed' || f.type === 'error') && f.id === id)!;
  expect(answer.type).toBe('subscribed');
}

async function unsubscribe(c: RawClient, topic: string): Promise<void> {
  const id = nextId++;
  c.send({ type: 'unsubscribe', id, topic });
  await waitFor(() => c.frames.some((f) => f.type === 'unsubscribed' && f.id === id), 10_000, `the answer to unsubscribe ${id}`);
}

describe('websocket gateway: one PubSub subscription per topic', () => {
  let fx: GatewayFixture | undefined;
  afterEach(async () => {
    await fx?.close();
    fx = undefined;
  });

  it('N clients on one topic make one PubSub subscription; the last one out (unsubscribe or close) removes it', async () => {
    fx = await startGateway();
    const topic = randomId('shared');
    const clients = await Promise.all(Array.from({ length: 40 }, () => connect(fx!.url)));
    await Promise.all(clients.map((c) => subscribe(c, topic)));
    expect(fx.pubsub.subscriptions().get(topic)).toBe(1);
    expect(fx.gateway.health().counts).toMatchObject({ subscriptions: 40, topicSubscriptions: 1 });
    // One receiver for the PubSub, 40 messages out.
    expect(await fx.pubsub.broadcast(topic, { n: 1 })).toBe(1);
    await waitFor(() => clients.every((c) => messagesOf(c, topic).length === 1));

    await Promise.all(clients.slice(0, 20).map((c) => unsubscribe(c, topic)));
    for (const c of clients.slice(20, 39)) c.ws.close();
    await waitFor(() => fx!.gateway.clients().length === 21);
    expect(fx.pubsub.subscriptions().get(topic)).toBe(1);
    await fx.pubsub.broadcast(topic, { n: 2 });
    await waitFor(() => messagesOf(clients[39]!, topic).length === 2);
    expect(clients.slice(0, 20).every((c) => messagesOf(c, topic).length === 1)).toBe(true);

    // The last member leaves by closing its connection: the subscription goes with it.
    clients[39]!.ws.close();
    await waitFor(() => fx!.pubsub.subscriptions().get(topic) === undefined, 5000, 'the shared subscription to close');
    expect(fx.gateway.health().counts).toMatchObject({ topicSubscriptions: 0 });
    expect(await fx.pubsub.broadcast(topic, { n: 3 })).toBe(0);
    // The next subscriber opens it again.
    await subscribe(clients[0]!, topic);
    expect(await fx.pubsub.broadcast(topic, { n: 4 })).toBe(1);
    await waitFor(() => messagesOf(clients[0]!, topic).at(-1) === 4);
    for (const c of clients) c.ws.close();
  });

  it('clients asking for a channel\'s presence events share one onPresence subscription; each gets every join, the last one out closes it', async () => {
    fx = await startGateway();
    const room = randomId('room');
    const events = presenceEventChannel(room);
    const watchers = await Promise.all(Array.from({ length: 10 }, () => connect(fx!.url)));
    await Promise.all(watchers.map((c) => subscribe(c, room, { presenceEvents: true })));
    expect(fx.pubsub.subscriptions().get(events)).toBe(1);
    expect(fx.pubsub.subscriptions().get(room)).toBe(1);
    const member = await connect(fx.url);
    await subscribe(member, room, { presence: true });
    await waitFor(() => watchers.every((c) => c.of('join').length === 1), 5000, 'every watcher to see the join');
    for (const c of watchers) c.ws.close();
    await waitFor(() => fx!.pubsub.subscriptions().get(events) === undefined, 5000, 'the shared onPresence subscription to close');
    expect(fx.pubsub.subscriptions().get(room)).toBe(1);
    member.ws.close();
  });

  it('clients closed in the middle of a fan-out cost the others nothing', async () => {
    // Slices of 5 clients: a burst of broadcasts is still being written when clients go.
    fx = await startGateway({ fanOut: { maxClientsPerTurn: 5, maxSliceMs: 60_000 } });
    const topic = randomId('shared');
    const clients = await Promise.all(Array.from({ length: 30 }, () => connect(fx!.url)));
    await Promise.all(clients.map((c) => subscribe(c, topic)));
    // A third cut by the server side's view (terminated), a third close themselves halfway through.
    const cut = clients.filter((_, i) => i % 3 === 0);
    const leaving = clients.filter((_, i) => i % 3 === 1);
    for (const c of leaving) c.ws.on('message', () => messagesOf(c, topic).length === 50 && c.ws.close());
    const kept = clients.filter((_, i) => i % 3 === 2);
    const total = 200;
    for (let n = 1; n <= total; n++) {
      await fx.pubsub.broadcast(topic, { n });
      // Cut while their staged frames wait for their slice.
      if (n === 3) for (const c of cut) c.ws.terminate();
    }
    const all = Array.from({ length: total }, (_, i) => i + 1);
    await waitFor(() => kept.every((c) => messagesOf(c, topic).length === total), 10_000, 'the kept clients to have every broadcast');
    for (const c of kept) expect(messagesOf(c, topic)).toEqual(all);
    await waitFor(() => fx!.gateway.clients().length === kept.length, 10_000, 'the cut and leaving clients to be gone');
    expect(fx.pubsub.subscriptions().get(topic)).toBe(1);
    await fx.pubsub.broadcast(topic, { n: total + 1 });
    await waitFor(() => kept.every((c) => messagesOf(c, topic).length === total + 1));
    for (const c of clients) c.ws.terminate();
  });

  it('property: every client gets exactly the broadcasts made while it was subscribed, in order, none after it left (a closed one: a prefix of them)', async () => {
    fx = await startGateway();
    const f = fx;
    const op = fc.oneof(
      fc.record({ kind: fc.constant('subscribe' as const), client: fc.nat(3), topic: fc.nat(2) }),
      fc.record({ kind: fc.constant('unsubscribe' as const), client: fc.nat(3), topic: fc.nat(2) }),
      fc.record({ kind: fc.constant('close' as const), client: fc.nat(3) }),
      fc.record({ kind: fc.constant('broadcast' as const), channel: fc.nat(1) }),
    );
    await fc.assert(
      fc.asyncProperty(fc.array(op, { minLength: 1, maxLength: 30 }), async (ops) => {
        const ns = randomId('prop');
        // Two channels and a glob over both.
        const topics = [`${ns}:a`, `${ns}:b`, `${ns}:*`];
        const channels = [`${ns}:a`, `${ns}:b`];
        const matches = (topic: string, channel: string): boolean => topic === channel || (topic.endsWith(':*') && channel.startsWith(topic.slice(0, -1)));
        const conns: Array<{ c: RawClient; subscribed: Set<string>; expected: Map<string, number[]>; closed?: boolean }> = [];
        const slots: Array<(typeof conns)[number] | undefined> = [undefined, undefined, undefined, undefined];
        const slot = async (i: number) => {
          let s = slots[i];
          if (s === undefined) {
            s = { c: await connect(f.url), subscribed: new Set(), expected: new Map() };
            slots[i] = s;
            conns.push(s);
          }
          return s;
        };
        try {
          let n = 0;
          for (const o of ops) {
            if (o.kind === 'broadcast') {
              n += 1;
              await f.pubsub.broadcast(channels[o.channel]!, { n });
              for (const s of conns) for (const t of s.subscribed) if (matches(t, channels[o.channel]!)) s.expected.get(t)!.push(n);
            } else if (o.kind === 'close') {
              const s = slots[o.client];
              if (!s) continue;
              slots[o.client] = undefined;
              s.subscribed.clear();
              s.closed = true;
              const before = f.gateway.clients().length;
              s.c.ws.close();
              await waitFor(() => f.gateway.clients().length === before - 1, 5000, 'the closed client to be gone');
            } else {
              const s = await slot(o.client);
              const topic = topics[o.topic]!;
              if (o.kind === 'subscribe' && !s.subscribed.has(topic)) {
                await subscribe(s.c, topic);
                s.subscribed.add(topic);
                if (!s.expected.has(topic)) s.expected.set(topic, []);
              } else if (o.kind === 'unsubscribe' && s.subscribed.has(topic)) {
                await unsubscribe(s.c, topic);
                s.subscribed.delete(topic);
              }
            }
          }
          // A fence: a client's frames leave in order, so once it has the fence it has everything before it.
          const fence = `${ns}-fence`;
          const open = slots.filter((s): s is (typeof conns)[number] => s !== undefined);
          for (const s of open) await subscribe(s.c, fence);
          await f.pubsub.broadcast(fence, { n: -1 });
          await waitFor(() => open.every((s) => messagesOf(s.c, fence).length === 1), 5000, 'the fence');
          for (const s of conns) {
            for (const [topic, expected] of s.expected) {
              const got = messagesOf(s.c, topic);
              // A client that closed loses what was still on its way (at-most-once): a prefix, in order.
              expect(got).toEqual(s.closed ? expected.slice(0, got.length) : expected);
            }
          }
          // Every topic the clients follow is one PubSub subscription; those no one follows have none.
          for (const topic of topics) {
            const followers = open.filter((s) => s.subscribed.has(topic)).length;
            expect(f.pubsub.subscriptions().get(topic)).toBe(followers > 0 ? 1 : undefined);
          }
        } finally {
          // Also after a failure, so the runs fast-check shrinks to start from an empty gateway.
          for (const s of conns) s.c.ws.close();
          await waitFor(() => f.gateway.clients().length === 0, 5000, 'every client to be gone');
        }
      }),
      { numRuns: 25 },
    );
  }, 120_000);
});

describe('websocket gateway: a resume (`since`) joins the shared stream with no gap and nothing twice', () => {
  const cleanups: Array<() => Promise<void>> = [];
  afterEach(async () => {
    for (const c of cleanups.splice(0)) await c();
  });

  async function historyGateway(): Promise<{ pubsub: PubSub; gateway: WebSocketGateway; url: string }> {
    const server = http.createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const pubsub = createPubSub({ history: { 'feed:*': { size: 10_000, ttlMs: 60_000 } } });
    const gateway = createWebSocketGateway({ pubsub, server, insecure: true });
    cleanups.push(async () => {
      await gateway.close();
      await pubsub.close();
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    });
    return { pubsub, gateway, url: `ws://127.0.0.1:${(server.address() as AddressInfo).port}/pubsub` };
  }

  it('property: clients resuming from any position while broadcasts stream get every later message once, in order', async () => {
    const { pubsub, gateway, url } = await historyGateway();
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 30 }),
        fc.array(fc.record({ since: fc.nat(40), burst: fc.nat(5), wait: fc.boolean() }), { minLength: 1, maxLength: 4 }),
        fc.boolean(),
        async (before, resumes, plainFirst) => {
          const channel = `feed:${randomId('r')}`;
          for (let n = 1; n <= before; n++) await pubsub.broadcast(channel, { n });
          const conns: RawClient[] = [];
          // A client already on the shared stream, or none yet (the resume then opens it).
          if (plainFirst) {
            const plain = await connect(url);
            conns.push(plain);
            await subscribe(plain, channel);
          }
          const epoch = await epochOf(pubsub, channel);
          let n = before;
          const resumed: Array<{ c: RawClient; from: number }> = [];
          for (const r of resumes) {
            const c = await connect(url);
            conns.push(c);
            const from = Math.min(r.since, n);
            const since: FramePosition = { offset: from, epoch };
            const answered = subscribe(c, channel, { since });
            // Broadcasts race the resume's history read and the move to the shared stream.
            for (let i = 0; i < r.burst; i++) void pubsub.broadcast(channel, { n: ++n });
            if (r.wait) await answered;
            resumed.push({ c, from });
            await answered;
          }
          for (let i = 0; i < 5; i++) await pubsub.broadcast(channel, { n: ++n });
          await waitFor(() => resumed.every(({ c }) => messagesOf(c, channel).at(-1) === n), 5000, 'every resumed client to reach the last message');
          for (const { c, from } of resumed) {
            expect(messagesOf(c, channel)).toEqual(Array.from({ length: n - from }, (_, i) => from + 1 + i));
          }
          for (const c of conns) c.ws.close();
          await waitFor(() => gateway.clients().length === 0, 5000, 'every client to be gone');
          expect(pubsub.subscriptions().get(channel)).toBeUndefined();
        },
      ),
      { numRuns: 40 },
    );
  }, 120_000);
});

/** The epoch of a channel with history, read through a short subscription. */
async function epochOf(pubsub: PubSub, channel: string): Promise<string> {
  const handle = await pubsub.subscribe(channel, () => undefined);
  const epoch = handle.position!.epoch;
  await handle.close();
  return epoch;
}
