/**
 * The bus on a real 3-node RabbitMQ cluster (scripts/rabbitmq-cluster.sh up, AMQP_CLUSTER_URLS):
 * a group's quorum queue has a replica on every node; the node leading it is SIGKILLed mid-run
 * under a steady confirmed stream and a group of 2 consumer processes; and the topology declared
 * once outlives the node it was declared on.
 */
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import amqp from 'amqplib';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { AMQP_CLUSTER_URLS, delay, randomId, spawnTs, waitFor } from '@events/testing';
import { createBus, type Bus } from '../src/index.js';
import { deadLetterQueueName, deleteRabbitMqBusTopology, queueName, rabbitmqBus, type RabbitMqBusOptions, type RabbitMqConnectionEvent } from '../src/adapters/rabbitmq.js';
import { duplicatesOf } from '../test/helpers.js';
import { cluster, nodeOf, quorumQueues, urlOf, urlsFrom } from './cluster.js';

type Events = { 'orders.Placed': { n: number } };

const WORKER = fileURLToPath(new URL('./fixtures/group-worker.ts', import.meta.url));
const BUS_DIR = fileURLToPath(new URL('..', import.meta.url));
const cleanups: Array<() => Promise<void>> = [];
const killed = new Set<number>();

// Before each test: all three nodes running and clustered (a previous test's restart may still be
// under way). `up` waits for that, with its own deadlines, and starts what is missing.
beforeEach(async () => {
  await cluster('status').catch(() => cluster('up'));
}, 300_000);

afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c().catch((error: unknown) => console.error('cleanup:', error));
  // The next test (and file) needs all three nodes.
  for (const n of killed) await cluster('start', String(n));
  killed.clear();
}, 300_000); // a node restart takes 20-30 s here, minutes when the machine is loaded

/** Kills a node through the script; the time returned is when its VM was seen dead. */
async function killNode(n: number): Promise<number> {
  killed.add(n);
  await cluster('kill', String(n));
  return Date.now();
}

async function restartNode(n: number): Promise<void> {
  await cluster('start', String(n));
  killed.delete(n);
}

function adapterOptions(exchange: string, urls: string[], connection?: RabbitMqConnectionEvent[]): RabbitMqBusOptions {
  return {
    urls,
    exchange,
    maxPendingPublishes: 5000,
    reconnect: { delayMs: 50, maxDelayMs: 500 },
    heartbeatSeconds: 5,
    ...(connection ? { onConnection: (e: RabbitMqConnectionEvent) => void connection.push(e) } : {}),
  };
}

function makeBus(options: RabbitMqBusOptions): Bus<Events> {
  const bus = createBus<Events>({ adapter: rabbitmqBus(options), emitTimeoutMs: 60_000, onError: () => undefined });
  cleanups.push(() => bus.close({ timeoutMs: 5000 }));
  return bus;
}

function cleanTopology(exchange: string, group: string): void {
  cleanups.unshift(async () => {
    const live = AMQP_CLUSTER_URLS.find((u) => !killed.has(nodeOf(u)))!;
    await deleteRabbitMqBusTopology({ url: live, exchange, subscriptions: [{ group, pattern: 'orders.Placed' }] });
  });
}

interface Delivery { readonly id: string; readonly at: number; readonly worker: number }

/** A consumer process of the group; its deliveries and lines are collected as they are printed. */
interface Worker { readonly lines: string[]; readonly pid: number | undefined }

async function startWorker(index: number, urls: string[], exchange: string, group: string, deliveries: Delivery[]): Promise<Worker> {
  const proc = spawnTs(WORKER, [urls.join(','), exchange, group], { cwd: BUS_DIR, stdio: ['ignore', 'pipe', 'inherit'] });
  const lines: string[] = [];
  createInterface({ input: proc.child.stdout! }).on('line', (line) => {
    lines.push(line);
    const m = /^got (\S+) (\d+)$/.exec(line);
    if (m) deliveries.push({ id: m[1]!, at: Number(m[2]), worker: index });
  });
  cleanups.push(async () => {
    if (proc.child.exitCode === null && proc.child.signalCode === null) {
      proc.child.kill('SIGTERM');
      const exited = await Promise.race([proc.exited.then(() => true), delay(10_000).then(() => false)]);
      if (!exited) proc.child.kill('SIGKILL');
    }
  });
  await waitFor(() => lines.includes('ready') || proc.child.exitCode !== null, 30_000, `worker ${index} subscribed`);
  if (!lines.includes('ready')) throw new Error(`worker ${index} exited: ${lines.join('\n')}`);
  return { lines, pid: proc.child.pid };
}

/** What each side was doing, for a wait that timed out: a stuck run says where it is stuck. */
async function explain(error: unknown, parts: { workers: Worker[]; producer: Bus<Events>; counts: () => string }): Promise<Error> {
  for (const w of parts.workers) if (w.pid !== undefined) process.kill(w.pid, 'SIGUSR2');
  await delay(1000); // the workers answer on stdout
  const tails = parts.workers.map((w, i) => `worker ${i + 1}: ${w.lines.filter((l) => !l.startsWith('got ')).slice(-8).join(' | ')}`);
  return new Error(`${(error as Error).message}\n  ${parts.counts()}\n  producer ${JSON.stringify(parts.producer.stats())}\n  ${tails.join('\n  ')}`, { cause: error });
}

async function queueDepth(url: string, queue: string): Promise<number> {
  const conn = await amqp.connect(url);
  try {
    const ch = await conn.createChannel();
    const { messageCount } = await ch.checkQueue(queue);
    await ch.close();
    return messageCount;
  } finally {
    await conn.close().catch(() => undefined);
  }
}

describe('bus on a RabbitMQ cluster', () => {
  it('loses no confirmed emit when the node leading the group queue is SIGKILLed mid-run; 2 consumer processes, duplicates counted, recovery measured', async () => {
    const exchange = randomId('bus-cluster');
    const group = 'billing';
    const queue = queueName(rabbitmqBus({ exchange }).topology, group, 'orders.Placed');
    cleanTopology(exchange, group);
    const deliveries: Delivery[] = [];
    const w1 = await startWorker(1, urlsFrom(1), exchange, group, deliveries);
    const w2 = await startWorker(2, urlsFrom(2), exchange, group, deliveries);

    // Replication factor 3: the group's queue and its dead letters have a member on every node.
    const before = await quorumQueues();
    const info = before.get(queue);
    expect(info?.members.sort()).toEqual([1, 2, 3]);
    expect(before.get(deadLetterQueueName(queue))?.members.sort()).toEqual([1, 2, 3]);
    const leader = info!.leader;
    console.log(`queue ${queue}: leader events-rmq-${leader}, members ${info!.members.join(',')}; producer connects to the leader's node first; workers first on nodes 1 and 2`);

    // The producer sits on the leader's node too: the kill takes its connection and the queue's leader at once.
    const producerEvents: RabbitMqConnectionEvent[] = [];
    const producer = makeBus(adapterOptions(exchange, urlsFrom(leader), producerEvents));
    await producer.start();
    let sent = 0;
    let stop = false;
    const confirmed: string[] = [];
    const failed: unknown[] = [];
    const producing = (async () => {
      const inflight = new Set<Promise<void>>();
      while (!stop) {
        sent += 1;
        const p: Promise<void> = producer.emit('orders.Placed', { n: sent }).then((e) => void confirmed.push(e.id), (error: unknown) => void failed.push(error));
        inflight.add(p);
        void p.finally(() => inflight.delete(p));
        await delay(5); // the steady rate: one emit every 5 ms, never waiting for its confirm
      }
      await Promise.all(inflight);
    })();

    let killedAt = Infinity;
    const counts = (): string => `sent ${sent}, confirmed ${confirmed.length}, failed ${failed.length}${failed.length ? ` (${(failed[0] as Error).message})` : ''}, deliveries ${deliveries.length} (after the kill: worker 1 ${deliveries.filter((d) => d.worker === 1 && d.at >= killedAt).length}, worker 2 ${deliveries.filter((d) => d.worker === 2 && d.at >= killedAt).length})`;
    const step = async (check: () => boolean | Promise<boolean>, timeoutMs: number, what: string): Promise<void> => {
      await waitFor(check, timeoutMs, what).catch(async (error: unknown) => {
        throw await explain(error, { workers: [w1, w2], producer, counts });
      });
    };
    await step(() => deliveries.length >= 300 && deliveries.some((d) => d.worker === 1) && deliveries.some((d) => d.worker === 2), 30_000, 'the stream reaching both workers');
    killedAt = await killNode(leader);
    await step(() => deliveries.some((d) => d.at >= killedAt), 60_000, 'deliveries resuming after the leader was killed');
    const afterKill = await quorumQueues([leader]);
    const newLeader = afterKill.get(queue)!.leader;
    expect(newLeader).not.toBe(leader);
    await step(() => deliveries.filter((d) => d.at >= killedAt).length >= 300, 60_000, 'the stream flowing on the new leader');
    const restartAt = Date.now();
    await restartNode(leader); // the producer keeps emitting while the node comes back and its replica catches up
    const rejoinedMs = Date.now() - restartAt;
    await step(async () => (await quorumQueues()).get(queue)?.online.length === 3, 60_000, 'the restarted member back online');
    const onlineMs = Date.now() - restartAt;
    stop = true;
    await producing;

    const delivered = new Set(deliveries.map((d) => d.id));
    await step(() => {
      for (const d of deliveries) delivered.add(d.id);
      return confirmed.every((id) => delivered.has(id));
    }, 60_000, 'every confirmed emit delivered');
    await delay(1000); // long enough for a late redelivery to show up in the duplicate count
    for (const d of deliveries) delivered.add(d.id);

    const lost = confirmed.filter((id) => !delivered.has(id)).length;
    const dups = duplicatesOf(deliveries.map((d) => d.id));
    const duplicated = [...dups.values()].reduce((n, c) => n + c - 1, 0);
    const lastBefore = Math.max(...deliveries.filter((d) => d.at < killedAt).map((d) => d.at));
    const firstAfter = Math.min(...deliveries.filter((d) => d.at >= killedAt).map((d) => d.at));
    const recoveryMs = firstAfter - lastBefore;
    console.log(`bus rabbitmq-cluster kill-leader: sent=${sent} confirmed=${confirmed.length} delivered=${delivered.size} duplicated=${duplicated} lost=${lost} recovery_ms=${recoveryMs}`);
    console.log(`  killed events-rmq-${leader} (leader), new leader events-rmq-${newLeader}; restarted node running and clustered after ${rejoinedMs} ms, its replica online after ${onlineMs} ms; worker deliveries ${deliveries.filter((d) => d.worker === 1).length}/${deliveries.filter((d) => d.worker === 2).length}; producer connection events ${producerEvents.map((e) => e.type + (e.type === 'up' && e.reconnect ? '(reconnect)' : '')).join(' ')}; emits failed ${failed.length}`);

    expect(failed).toEqual([]);
    expect(confirmed).toHaveLength(sent);
    expect(lost).toBe(0);
    // The clients on the killed node moved to another one by themselves.
    expect(producerEvents.filter((e) => e.type === 'up' && e.reconnect).length).toBeGreaterThanOrEqual(1);
    const onLeader = [w1, w2][[1, 2].indexOf(leader)];
    if (onLeader) expect(onLeader.lines).toContain('up reconnect');
    // Both workers still take part in the group after the failover.
    expect(deliveries.some((d) => d.worker === 1 && d.at >= killedAt)).toBe(true);
    expect(deliveries.some((d) => d.worker === 2 && d.at >= killedAt)).toBe(true);
  }, 300_000); // a node restart (20-30 s on this 2-core machine) and about 30 s of stream

  it('keeps the topology declared once when its node dies: events confirmed before and after the kill reach a new consumer on another node', async () => {
    const exchange = randomId('bus-cluster');
    const group = 'audit';
    cleanTopology(exchange, group);
    const declaredOn = 3;
    const [consumerOn, emitterOn] = [1, 2];
    // Declared once, on node 3: exchange, quorum queue (leader on node 3), binding. Then events
    // wait in the queue with no consumer, and the declaring process goes away.
    const declarer = makeBus(adapterOptions(exchange, urlsFrom(declaredOn)));
    await declarer.on('orders.Placed', () => undefined, { group, concurrency: 1 }).then((sub) => sub.close());
    const queue = queueName(rabbitmqBus({ exchange }).topology, group, 'orders.Placed');
    expect((await quorumQueues()).get(queue)).toMatchObject({ leader: declaredOn, members: expect.arrayContaining([1, 2, 3]) });
    const early = await Promise.all(Array.from({ length: 50 }, (_, n) => declarer.emit('orders.Placed', { n })));
    await declarer.close();

    await killNode(declaredOn);
    // A process that declares no queue (emit declares only the exchanges) publishes through the
    // binding made on the dead node: the queue on the survivors takes its events. It connects
    // and emits at once, maybe while the queue has no leader yet (RabbitMQ 3.10 then nacks every
    // publish on that channel, and the adapter moves to a new channel).
    const emitterErrors: string[] = [];
    const emitter = createBus<Events>({ adapter: rabbitmqBus(adapterOptions(exchange, [urlOf(emitterOn)])), emitTimeoutMs: 60_000, onError: (e) => void emitterErrors.push(e.error.message) });
    cleanups.push(() => emitter.close({ timeoutMs: 5000 }));
    const late = await Promise.all(Array.from({ length: 50 }, (_, n) => emitter.emit('orders.Placed', { n: 50 + n })));
    let depth = -1;
    await waitFor(async () => {
      depth = await queueDepth(urlOf(consumerOn), queue).catch(() => -1);
      return depth === 100;
    }, 30_000, 'the queue on the surviving nodes holding all 100 events');

    const received: string[] = [];
    const consumer = makeBus(adapterOptions(exchange, [urlOf(consumerOn)]));
    await consumer.on('orders.Placed', (e) => void received.push(e.id), { group });
    const sentIds = [...early, ...late].map((e) => e.id);
    await waitFor(() => sentIds.every((id) => received.includes(id)), 30_000, 'the new consumer receiving every event');
    await delay(500);
    const lost = sentIds.filter((id) => !received.includes(id)).length;
    console.log(`bus rabbitmq-cluster topology-survives: declared on events-rmq-${declaredOn} (killed), emitted ${early.length} before and ${late.length} after the kill (on events-rmq-${emitterOn}), consumer on events-rmq-${consumerOn}: publish channel replaced ${emitterErrors.filter((m) => m.includes('moved to a new channel')).length} times; queue depth=${depth} delivered=${new Set(received).size} duplicated=${received.length - new Set(received).size} lost=${lost}`);
    expect(lost).toBe(0);
    expect(new Set(received)).toEqual(new Set(sentIds));
    await restartNode(declaredOn);
  }, 300_000);

  it('places as many replicas as quorumInitialGroupSize asks (2 of 3 nodes), for the queue and its dead letters', async () => {
    const exchange = randomId('bus-cluster');
    const group = 'search';
    cleanTopology(exchange, group);
    const bus = makeBus({ ...adapterOptions(exchange, urlsFrom(1)), quorumInitialGroupSize: 2 });
    await bus.on('orders.Placed', () => undefined, { group });
    const queue = queueName(rabbitmqBus({ exchange }).topology, group, 'orders.Placed');
    const queues = await quorumQueues();
    expect(queues.get(queue)?.members).toHaveLength(2);
    expect(queues.get(deadLetterQueueName(queue))?.members).toHaveLength(2);
  });

  it('holds emits while two of three nodes are down (no majority), and confirms and delivers every one once a node is back', async () => {
    const exchange = randomId('bus-cluster');
    const group = 'ledger';
    cleanTopology(exchange, group);
    const survivor = 2;
    const errors: string[] = [];
    // The group's queue is declared on node 3 (its leader there); the emitter, on node 2, has not
    // published to it yet when nodes 3 and 1 die: its first publish meets a queue with no leader
    // (RabbitMQ 3.10 then nacks every publish on that channel; the adapter moves to a new one).
    const declarer = makeBus(adapterOptions(exchange, [urlOf(3)]));
    await declarer.on('orders.Placed', () => undefined, { group }).then((sub) => sub.close());
    await declarer.close();
    const emitter = createBus<Events>({ adapter: rabbitmqBus(adapterOptions(exchange, [urlOf(survivor)])), emitTimeoutMs: 240_000, onError: (e) => void errors.push(e.error.message) });
    cleanups.push(() => emitter.close({ timeoutMs: 5000 }));
    await emitter.start();
    const queue = queueName(rabbitmqBus({ exchange }).topology, group, 'orders.Placed');
    expect((await quorumQueues()).get(queue)).toMatchObject({ leader: 3, members: expect.arrayContaining([1, 2, 3]) });
    await killNode(3);
    await killNode(1);
    const downAt = Date.now();
    const confirmed: string[] = [];
    const failed: unknown[] = [];
    const emits = Array.from({ length: 20 }, (_, n) => emitter.emit('orders.Placed', { n }).then((e) => void confirmed.push(e.id), (error: unknown) => void failed.push(error)));
    await delay(3000); // long enough for a confirm to come back if the broker could give one
    const confirmedWhileDown = confirmed.length;
    expect(confirmedWhileDown).toBe(0);
    await restartNode(1); // a majority again: 1 and 2 of 3
    await Promise.all(emits);
    const waitedMs = Date.now() - downAt;
    const received: string[] = [];
    const consumer = makeBus(adapterOptions(exchange, [urlOf(survivor)]));
    await consumer.on('orders.Placed', (e) => void received.push(e.id), { group });
    await waitFor(() => confirmed.every((id) => received.includes(id)), 30_000, 'every confirmed event delivered');
    await delay(500);
    const lost = confirmed.filter((id) => !received.includes(id)).length;
    const replaced = errors.filter((m) => m.includes('moved to a new channel')).length;
    console.log(`bus rabbitmq-cluster two-nodes-down: sent=20 confirmed_while_down=${confirmedWhileDown} confirmed=${confirmed.length} failed=${failed.length} delivered=${new Set(received).size} duplicated=${received.length - new Set(received).size} lost=${lost} publish_channel_replaced=${replaced} emit_wait_ms=${waitedMs}`);
    expect(failed).toEqual([]);
    expect(confirmed).toHaveLength(20);
    expect(lost).toBe(0);
  }, 400_000);
});
