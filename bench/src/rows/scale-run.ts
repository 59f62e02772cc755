/**
 * Runs one scale measurement: the server(s) in processes of their own (scale-server-child.ts), the
 * N clients in two farm processes (half each), then steps of broadcasts at a fixed offered rate.
 * Each step: farms reset, servers' CPU read, broadcast for `durationMs`, wait until every client
 * got every message (or deliveries stop for 3 s), CPU read again, latency samples of both farms
 * merged. Heap (after GC) and RSS are read before the clients connect, after, and at the end.
 */
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { withTimeout } from '@events/core';
import { now } from '../clock.js';
import { summarize, type LatencySummary } from '../stats.js';
import { spawnChild, startOwnFarm, type Farm } from '../ws-farm.js';
import { SCALE_ROOM, type ScaleServerKind, type ScaleServerReply, type ScaleServerRequest, type ScaleUsage } from './scale-server-child.js';

const here = dirname(fileURLToPath(import.meta.url));
export const FD_LIMIT = 20_000;

interface ServerProc {
  readonly url: string;
  usage(): Promise<ScaleUsage>;
  broadcast(rate: number, durationMs: number, size: number): Promise<Extract<ScaleServerReply, { type: 'broadcast-done' }>>;
  close(): void;
}

/** Under `--profile` (this row's process has --cpu-prof): the servers are profiled too, in `<dir>/server`. */
function profileArgs(): string[] {
  const dir = process.execArgv.find((a) => a.startsWith('--cpu-prof-dir='))?.slice('--cpu-prof-dir='.length);
  return dir === undefined ? [] : ['--cpu-prof', `--cpu-prof-dir=${join(dir, 'server')}`];
}

function startServer(kind: ScaleServerKind, namespace: string, onError: (error: Error) => void): Promise<ServerProc> {
  const child = spawnChild(join(here, 'scale-server-child.ts'), [kind, namespace], { fdLimit: FD_LIMIT, execArgv: ['--expose-gc', ...profileArgs()] });
  const waiters: Array<{ type: ScaleServerReply['type']; resolve: (reply: ScaleServerReply) => void }> = [];
  const ask = <T extends ScaleServerReply['type']>(request: ScaleServerRequest, type: T, timeoutMs: number): Promise<Extract<ScaleServerReply, { type: T }>> =>
    withTimeout(
      new Promise<Extract<ScaleServerReply, { type: T }>>((resolve) => {
        waiters.push({ type, resolve: (r) => resolve(r as Extract<ScaleServerReply, { type: T }>) });
        child.send(request);
      }),
      timeoutMs,
      `scale server ${request.type}`,
    );
  return withTimeout(
    new Promise<ServerProc>((resolve, reject) => {
      child.on('message', (reply: ScaleServerReply) => {
        if (reply.type === 'ready') {
          resolve({
            url: reply.url,
            // A full GC of 10,000 sockets' heap on a loaded machine can take a while.
            usage: () => ask({ type: 'usage' }, 'usage', 120_000),
            broadcast: (rate, durationMs, size) => ask({ type: 'broadcast', rate, durationMs, size }, 'broadcast-done', durationMs + 60_000),
            close() {
              if (child.connected) child.send({ type: 'close' } satisfies ScaleServerRequest);
              setTimeout(() => child.kill('SIGKILL'), 5_000).unref();
            },
          });
        } else if (reply.type === 'error') {
          onError(new Error(`scale server (${kind}): ${reply.message}`));
          reject(new Error(`scale server (${kind}): ${reply.message}`));
        } else {
          const index = waiters.findIndex((w) => w.type === reply.type);
          if (index >= 0) waiters.splice(index, 1)[0]!.resolve(reply);
        }
      });
      child.once('exit', (code) => reject(new Error(`scale server (${kind}) exited (${code})`)));
    }),
    60_000,
    'scale server start',
  );
}

interface FarmPair {
  readonly farms: Farm[];
  /** Completions of the current epoch, both farms; and when the last one was reported. */
  total(): number;
  lastProgressAt(): number;
  /** After a reset: the counts start again from zero. */
  zero(): void;
}

/** Two farm processes, kept for the next scale row of this process (a farm start costs seconds). */
let shared: { farms: Farm[]; counts: number[]; lastAt: number; listener: (total: number) => void } | undefined;
function farmPair(onProgress: (total: number) => void): FarmPair {
  if (!shared) {
    const state = { farms: [] as Farm[], counts: [0, 0], lastAt: now(), listener: onProgress };
    state.farms = [0, 1].map((k) =>
      startOwnFarm((completed) => {
        state.counts[k] = completed;
        state.lastAt = now();
        state.listener(state.counts[0]! + state.counts[1]!);
      }, FD_LIMIT),
    );
    shared = state;
  }
  const p = shared;
  p.listener = onProgress;
  return {
    farms: p.farms,
    total: () => p.counts[0]! + p.counts[1]!,
    lastProgressAt: () => p.lastAt,
    zero() {
      p.counts = [0, 0];
      p.lastAt = now();
    },
  };
}

export interface ScaleStep {
  rate: number;
  durationMs: number;
}

export interface StepResult {
  rate: number;
  sent: number;
  expected: number;
  delivered: number;
  /** Delivered messages per second, from the first broadcast to the last delivery. */
  perSecond: number;
  wallMs: number;
  latencyMs: LatencySummary;
  /** The servers' event-loop delay during the step: the worst process's figures. */
  loopDelayMs: { p50: number; p99: number; max: number };
  /** Server CPU (all server processes) per delivered message, in microseconds. */
  cpuUsPerMsg: number;
  /** Server CPU in cores (1 = one full core), all server processes together. */
  cpuCores: number;
}

export interface ScaleOutcome {
  clients: number;
  connectMs: number;
  /** Summed over the server processes: before the clients connect, after, and after the last step. */
  heapMB: { empty: number; start: number; end: number };
  rssMB: { empty: number; start: number; end: number };
  steps: StepResult[];
}

export interface ScaleSpec {
  kind: ScaleServerKind;
  /** Server processes (over the Redis PubSub when more than one); the first broadcasts. */
  servers: number;
  clients: number;
  size: number;
  namespace: string;
  steps: ScaleStep[];
  /** Stop at the first step that is not sustained (see `sustained`). */
  untilUnsustained?: boolean;
  onError(error: Error): void;
  onProgress(completed: number): void;
}

/** A step is sustained when (nearly) every client got every message and p99 stayed under a second. */
export function sustained(step: StepResult): boolean {
  return step.delivered >= 0.99 * step.expected && step.latencyMs.p99 < 1_000;
}

const sum = (values: number[]): number => values.reduce((a, b) => a + b, 0);

export async function runScale(spec: ScaleSpec): Promise<ScaleOutcome> {
  const servers = await Promise.all(Array.from({ length: spec.servers }, () => startServer(spec.kind, spec.namespace, spec.onError)));
  const pair = farmPair(spec.onProgress);
  const farms = pair.farms;
  try {
    const empty = await Promise.all(servers.map((s) => s.usage()));
    const urls = servers.map((s) => s.url);
    const connectStart = now();
    await Promise.all(
      farms.map((farm, k) => {
        const clients = Math.floor(spec.clients / 2) + (k === 0 ? spec.clients % 2 : 0);
        const mine = urls.filter((_, u) => u % farms.length === k || urls.length < farms.length);
        return spec.kind === 'socket.io'
          ? farm.connect({ url: mine[0]!, urls: mine, clients, kind: 'socket.io' })
          : farm.connect({ url: mine[0]!, urls: mine, clients, subscribeFrame: JSON.stringify({ type: 'subscribe', id: 1, topic: SCALE_ROOM }), ackMatch: '"subscribed"' });
      }),
    );
    const connectMs = now() - connectStart;
    const start = await Promise.all(servers.map((s) => s.usage()));
    const steps: StepResult[] = [];
    for (const step of spec.steps) {
      const result = await runStep(spec, servers, pair, step);
      steps.push(result);
      if (spec.untilUnsustained && !sustained(result)) break;
    }
    const end = await Promise.all(servers.map((s) => s.usage()));
    const figures = (pick: (u: ScaleUsage) => number) => ({ empty: sum(empty.map(pick)), start: sum(start.map(pick)), end: sum(end.map(pick)) });
    return { clients: spec.clients, connectMs, heapMB: figures((u) => u.heapMB), rssMB: figures((u) => u.rssMB), steps };
  } finally {
    await Promise.all(farms.map((f) => f.drop().catch(() => undefined)));
    for (const s of servers) s.close();
  }
}

async function runStep(
  spec: ScaleSpec,
  servers: ServerProc[],
  pair: FarmPair,
  step: ScaleStep,
): Promise<StepResult> {
  const farms = pair.farms;
  await Promise.all(farms.map((f) => f.reset()));
  pair.zero();
  const cpuBefore = await Promise.all(servers.map((s) => s.usage()));
  const startedAt = now();
  const done = await Promise.all(servers.map((s, k) => s.broadcast(k === 0 ? step.rate : 0, step.durationMs, spec.size)));
  const sent = done[0]!.sent;
  const expected = sent * spec.clients;
  // Until every delivery arrived, or none arrived for 3 s (dropped under a buffer policy, or stuck).
  while (pair.total() < expected && now() - pair.lastProgressAt() < 3_000) await new Promise((r) => setTimeout(r, 50));
  const endedAt = Math.max(pair.lastProgressAt(), startedAt + 1);
  const cpuAfter = await Promise.all(servers.map((s) => s.usage()));
  const samples = await Promise.all(farms.map((f) => f.samples()));
  const delivered = sum(samples.map((s) => s.completed));
  const cpuUs = sum(cpuAfter.map((u, k) => u.cpuUs - cpuBefore[k]!.cpuUs));
  const wallMs = endedAt - startedAt;
  return {
    rate: step.rate,
    sent,
    expected,
    delivered,
    perSecond: delivered / (wallMs / 1000),
    wallMs,
    latencyMs: { ...summarize(samples.flatMap((s) => s.values)), max: Math.max(...samples.map((s) => s.max)) },
    loopDelayMs: {
      p50: Math.max(...done.map((d) => d.loopDelayMs.p50)),
      p99: Math.max(...done.map((d) => d.loopDelayMs.p99)),
      max: Math.max(...done.map((d) => d.loopDelayMs.max)),
    },
    cpuUsPerMsg: delivered > 0 ? cpuUs / delivered : Number.NaN,
    cpuCores: cpuUs / 1000 / wallMs,
  };
}
