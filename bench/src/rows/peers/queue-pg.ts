/**
 * Peers of the queue on PostgreSQL, in the same run as ours: pg-boss 12 and Graphile Worker 0.18
 * on the local PostgreSQL, each in a fresh schema dropped afterwards. Each is given its fastest
 * documented settings for the scenario (pg-boss: LISTEN/NOTIFY on, queue `notify`, the shortest
 * polling interval, 0.5 s, also as the backstop while NOTIFY is on: a worker busy when a NOTIFY
 * arrives otherwise sleeps out the 30 s default; Graphile Worker: its own LISTEN/NOTIFY, polling 1 s backstop) and the same
 * scenarios as ours: enqueue one by one, enqueue in bulk (100 per call), enqueue -> handler at
 * concurrency 10 and 50, and enqueue -> handler latency with an idle worker. Both need Node >= 22.
 */
import { createRequire } from 'node:module';
import type pg from 'pg';
import { withTimeout } from '@events/core';
import { makePayload, sizeLabel, stampOf, type BenchPayload } from '../../payload.js';
import { uniqueName, type RowContext, type RowDef } from '../../row.js';
import type { PhaseResult } from '../../driver.js';
import { DATABASE_URL } from '../queue-postgres.js';

const { Pool } = createRequire(import.meta.url)('pg') as typeof pg;
const JOB = 'sendWelcomeEmail';

export type PeerQueueScenario = 'add-c1' | 'addBulk' | 'process-c10' | 'process-c50' | 'latency';

/** What a peer must offer for a row: enqueue, bulk enqueue, and a worker at some concurrency. */
interface PeerQueue {
  add(payload: BenchPayload): Promise<unknown>;
  addBulk(payloads: BenchPayload[]): Promise<unknown>;
  work(concurrency: number, handler: (payload: BenchPayload) => void): Promise<void>;
  close(): Promise<void>;
}

function requireNode22(): void {
  const major = Number(process.versions.node.split('.')[0]);
  if (major < 22) throw new Error(`the peer needs Node >= 22 (this is ${process.versions.node}); run the bench on Node 22 or 24`);
}

async function dropSchema(schema: string): Promise<void> {
  const pool = new Pool({ connectionString: DATABASE_URL, max: 1 });
  try {
    await pool.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
  } finally {
    await pool.end();
  }
}

async function openPgBoss(schema: string): Promise<PeerQueue> {
  requireNode22();
  const { PgBoss } = await import('pg-boss');
  const boss = new PgBoss({ connectionString: DATABASE_URL, schema, useListenNotify: true, supervise: false, schedule: false });
  boss.on('error', () => undefined);
  await withTimeout(boss.start(), 30_000, 'pg-boss start');
  await boss.createQueue(JOB, { notify: true } as never);
  return {
    add: (payload) => boss.send(JOB, payload),
    addBulk: (payloads) => boss.insert(JOB, payloads.map((data) => ({ data }))),
    async work(concurrency, handler) {
      await boss.work<BenchPayload>(JOB, { localConcurrency: concurrency, batchSize: 1, pollingIntervalSeconds: 0.5, notifyPollingIntervalSeconds: 0.5 }, async (jobs) => {
        for (const job of jobs) handler(job.data);
      });
    },
    close: () => boss.stop({ graceful: false, wait: true, timeout: 5_000 } as never),
  };
}

async function openGraphile(schema: string): Promise<PeerQueue> {
  requireNode22();
  const { makeWorkerUtils, run } = await import('graphile-worker');
  const utils = await withTimeout(makeWorkerUtils({ connectionString: DATABASE_URL, schema }), 30_000, 'graphile-worker utils');
  await utils.migrate();
  let runner: Awaited<ReturnType<typeof run>> | undefined;
  return {
    add: (payload) => utils.addJob(JOB, payload),
    addBulk: (payloads) => utils.addJobs(payloads.map((payload) => ({ identifier: JOB, payload }))),
    async work(concurrency, handler) {
      runner = await run({
        connectionString: DATABASE_URL,
        schema,
        concurrency,
        noHandleSignals: true,
        pollInterval: 1_000,
        taskList: { [JOB]: async (payload) => void handler(payload as BenchPayload) },
        logger: undefined,
      });
    },
    async close() {
      await runner?.stop();
      await utils.release();
    },
  };
}

const OPEN = { 'pg-boss': openPgBoss, 'graphile-worker': openGraphile } as const;
export type QueuePeer = keyof typeof OPEN;

async function run(ctx: RowContext, peer: QueuePeer, size: number, scenario: PeerQueueScenario): Promise<PhaseResult> {
  const schema = uniqueName(`bench_${peer.replace('-', '_')}`).replace('-', '_');
  const queue = await OPEN[peer](schema);
  try {
    if (scenario === 'addBulk') {
      return await ctx.measure({
        batch: 100,
        complete: 'ack',
        send: (stamp, i) => queue.addBulk(Array.from({ length: 100 }, (_, k) => makePayload(size, stamp, i + k))),
      });
    }
    if (scenario !== 'add-c1') {
      const concurrency = { 'process-c10': 10, 'process-c50': 50, latency: 1 }[scenario];
      await queue.work(concurrency, (payload) => void ctx.rec.hit(stampOf(payload)));
    }
    return await ctx.measure({ complete: scenario === 'add-c1' ? 'ack' : 'delivery', send: (stamp, i) => queue.add(makePayload(size, stamp, i)) });
  } finally {
    await withTimeout(queue.close(), 10_000, `${peer} close`).catch(() => undefined);
    await dropSchema(schema);
  }
}

export const PEER_QUEUE_LABELS: Record<PeerQueueScenario, string> = {
  'add-c1': 'add one by one, awaited (no worker)',
  addBulk: 'addBulk x100 (no worker)',
  'process-c10': 'add -> process, concurrency 10',
  'process-c50': 'add -> process, concurrency 50',
  latency: 'add -> handler, idle worker (1 in flight)',
};

export const PEER_QUEUE_INFLIGHT: Record<PeerQueueScenario, number> = { 'add-c1': 1, addBulk: 1_000, 'process-c10': 50, 'process-c50': 250, latency: 1 };

function peerRows(peer: QueuePeer): RowDef[] {
  const size = 100;
  const scenarios: PeerQueueScenario[] = ['add-c1', 'addBulk', 'process-c10', 'process-c50', 'latency'];
  return scenarios.map((scenario) => ({
    id: `queue/postgres/${peer}/${scenario}/${sizeLabel(size)}`,
    tier: 'queue',
    transport: 'postgres',
    impl: 'peer',
    peer,
    scenario: PEER_QUEUE_LABELS[scenario],
    payloadBytes: size,
    // Faces ours on PostgreSQL in the same scenario.
    pair: `queue/postgres/${scenario}/${size}`,
    fanout: 1,
    maxMessages: scenario === 'latency' || scenario === 'add-c1' ? 2_000 : 50_000,
    inflight: PEER_QUEUE_INFLIGHT[scenario],
    latencyIs: scenario === 'add-c1' || scenario === 'addBulk' ? 'send->ack' : 'send->handler',
    run: (ctx: RowContext) => run(ctx, peer, size, scenario),
  }));
}

export const peerQueueRows: RowDef[] = [...peerRows('pg-boss'), ...peerRows('graphile-worker')];
