/**
 * The many-gateways scenario, run over one Redis (many-gateways.int.test.ts) and over a Redis
 * Cluster (test-cluster/many-gateways.test.ts): 4 gateway processes, 12 websocket clients of
 * `@events/pubsub/client` spread over them (3 each), every broadcast counted per subscription; then
 * one gateway process is SIGKILLed, its clients move to the next gateway of their URL list by the
 * client library's own reconnect, resubscribe, and the counting starts again.
 */
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import WebSocket from 'ws';
import { expect } from 'vitest';
import { delay, randomId, spawnTs, waitFor, type SpawnedTs } from '@events/testing';
import type { PubSub } from '../src/index.js';
import { createPubSubClient, type PubSubClient, type WebSocketConstructor } from '../src/client/index.js';

const script = fileURLToPath(new URL('./fixtures/gateway-process.ts', import.meta.url));
const GATEWAYS = 4;
const CLIENTS = 12;
const MESSAGES = 20;

interface Gateway {
  readonly proc: SpawnedTs;
  readonly lines: Array<Record<string, unknown>>;
  url: string;
}

interface Client {
  readonly index: number;
  readonly client: PubSubClient;
  readonly topics: string[];
  /** `topic|n` -> deliveries */
  readonly got: Map<string, number>;
  readonly probes: Set<string>;
  opens: number;
  readonly closes: Array<{ willReconnect: boolean; at: number }>;
  openedAt: number[];
}

export interface ManyGatewaysOptions {
  /** Shown in the printed line: `single`, `cluster sharded`... */
  label: string;
  /** Environment of every gateway process (REDIS_URL, or CLUSTER_NODES and SHARDED); NS is added. */
  env: Record<string, string>;
  /** A PubSub of this test process on the same transport and namespace: it does the broadcasts. */
  publisher(namespace: string): PubSub;
  /** Every second client also subscribes to the glob `news*` (two subscriptions, two deliveries). */
  globs: boolean;
}

function spawnGateway(env: Record<string, string>): Gateway {
  const proc = spawnTs(script, [], { env, stdio: ['pipe', 'pipe', 'pipe'] });
  const gateway: Gateway = { proc, lines: [], url: '' };
  createInterface({ input: proc.child.stdout! }).on('line', (line) => {
    const parsed = JSON.parse(line) as Record<string, unknown>;
    gateway.lines.push(parsed);
    if (typeof parsed.listening === 'number') gateway.url = `ws://127.0.0.1:${parsed.listening}/pubsub`;
  });
  return gateway;
}

const landedOn = (gateway: Gateway, client: number): boolean => gateway.lines.some((l) => l.upgrade === `/pubsub?client=${client}`);

async function stop(gateway: Gateway): Promise<void> {
  if (gateway.proc.child.exitCode !== null || gateway.proc.child.signalCode !== null) return;
  gateway.proc.child.stdin!.end();
  const exited = await Promise.race([gateway.proc.exited.then(() => true), delay(5000).then(() => false)]);
  if (!exited) gateway.proc.child.kill('SIGKILL');
}

/** Broadcasts `count` numbered messages and waits until each subscription of each client has each exactly once. */
async function countRound(ctx: { publisher: PubSub; clients: Client[]; from: number }): Promise<{ expected: number; delivered: number; duplicated: number; missing: number }> {
  const { publisher, clients, from } = ctx;
  for (const c of clients) c.got.clear();
  for (let n = from; n < from + MESSAGES; n += 1) await publisher.broadcast('news', { n });
  const expected = clients.reduce((sum, c) => sum + c.topics.length * MESSAGES, 0);
  const delivered = (): number => clients.reduce((sum, c) => sum + [...c.got.values()].reduce((a, b) => a + b, 0), 0);
  await waitFor(() => delivered() >= expected, 20_000, `${expected} deliveries`);
  await delay(300); // long enough for a duplicate to arrive through Redis and a gateway
  let duplicated = 0;
  let missing = 0;
  for (const c of clients) {
    for (const topic of c.topics) {
      for (let n = from; n < from + MESSAGES; n += 1) {
        const times = c.got.get(`${topic}|${n}`) ?? 0;
        if (times === 0) missing += 1;
        if (times > 1) duplicated += times - 1;
      }
    }
  }
  return { expected, delivered: delivered(), duplicated, missing };
}

export async function manyGateways(options: ManyGatewaysOptions): Promise<void> {
  const ns = randomId('gw');
  const startedAt = Date.now();
  const gateways = Array.from({ length: GATEWAYS }, () => spawnGateway({ ...options.env, NS: ns }));
  const clients: Client[] = [];
  const publisher = options.publisher(ns);
  try {
    // A liveness bound: 4 tsx processes took up to 61 s to start on a 2-core machine under load.
    await waitFor(() => gateways.every((g) => g.url !== '' || g.proc.child.exitCode !== null), 150_000, 'the gateway processes to listen');
    for (const g of gateways) expect(g.url, g.proc.stderr()).not.toBe('');
    await publisher.start();
    const startupMs = Date.now() - startedAt;

    for (let i = 0; i < CLIENTS; i += 1) {
      // Client i starts on gateway i % 4 and, when that one goes, tries the next ones in turn.
      const urls = Array.from({ length: GATEWAYS }, (_, j) => `${gateways[(i + j) % GATEWAYS]!.url}?client=${i}`);
      const client = createPubSubClient({ url: urls, WebSocket: WebSocket as unknown as WebSocketConstructor, reconnect: { initialDelayMs: 100, maxDelayMs: 1000 }, timeoutMs: 10_000 });
      const entry: Client = { index: i, client, topics: options.globs && i % 2 === 1 ? ['news', 'news*'] : ['news'], got: new Map(), probes: new Set(), opens: 0, closes: [], openedAt: [] };
      client.on('open', () => {
        entry.opens += 1;
        entry.openedAt.push(Date.now());
      });
      client.on('close', (e) => void entry.closes.push({ willReconnect: e.willReconnect, at: Date.now() }));
      for (const topic of entry.topics) {
        await client.subscribe(topic, (message, meta) => {
          const m = message as { n?: number; probe?: number };
          if (m.probe !== undefined) entry.probes.add(meta.topic);
          else entry.got.set(`${meta.topic}|${m.n}`, (entry.got.get(`${meta.topic}|${m.n}`) ?? 0) + 1);
        });
      }
      clients.push(entry);
    }
    // The spread: 3 clients on each gateway.
    for (const [g, gateway] of gateways.entries()) expect(clients.filter((c) => landedOn(gateway, c.index)).map((c) => c.index)).toEqual(clients.filter((c) => c.index % GATEWAYS === g).map((c) => c.index));

    const before = await countRound({ publisher, clients, from: 1 });
    expect(before).toEqual({ expected: before.expected, delivered: before.expected, duplicated: 0, missing: 0 });

    // SIGKILL gateway 0: its clients (0, 4, 8) must move to gateway 1, the next URL of their list.
    const victim = gateways[0]!;
    const moved = clients.filter((c) => c.index % GATEWAYS === 0);
    const killAt = Date.now();
    victim.proc.child.kill('SIGKILL');
    await victim.proc.exited;
    await waitFor(() => moved.every((c) => c.opens === 2 && landedOn(gateways[1]!, c.index)), 20_000, 'the clients of the killed gateway to reconnect to the next one');
    // Resubscribed: a probe reaches every subscription of every client (a subscription is live once it does).
    for (let probe = 1; !clients.every((c) => c.topics.every((t) => c.probes.has(t))); probe += 1) {
      if (Date.now() - killAt > 20_000) throw new Error('the moved clients did not resubscribe within 20 s');
      await publisher.broadcast('news', { probe });
      await delay(50); // the probe's pace
    }
    const resubscribedMs = Date.now() - killAt;
    const after = await countRound({ publisher, clients, from: 1 + MESSAGES });
    expect(after).toEqual({ expected: after.expected, delivered: after.expected, duplicated: 0, missing: 0 });
    for (const c of moved) expect(c.closes).toEqual([{ willReconnect: true, at: expect.any(Number) }]);
    for (const c of clients.filter((x) => !moved.includes(x))) expect(c.closes).toEqual([]);
    const reconnectMs = Math.max(...moved.map((c) => c.openedAt[1]! - killAt));
    process.stdout.write(
      `pubsub many-gateways ${options.label}: startup_ms=${startupMs} gateways=${GATEWAYS} clients=${CLIENTS} subscriptions=${clients.reduce((s, c) => s + c.topics.length, 0)} ` +
        `broadcasts=${MESSAGES} delivered=${before.delivered}/${before.expected} duplicated=${before.duplicated} missing=${before.missing}; ` +
        `SIGKILL gateway 1 of 4: clients_moved=${moved.length} reconnect_ms=${reconnectMs} resubscribed_ms<=${resubscribedMs}; ` +
        `after: delivered=${after.delivered}/${after.expected} duplicated=${after.duplicated} missing=${after.missing}\n`,
    );
  } finally {
    await Promise.all(clients.map((c) => c.client.close()));
    await publisher.close();
    await Promise.all(gateways.map(stop));
  }
}
