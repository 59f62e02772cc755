/** Parent side of the websocket client farm (see ws-farm-child.ts). */
import { fork, spawn, type ChildProcess } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { withTimeout } from '@events/core';
import type { LatencySummary } from './stats.js';

export type FarmRequest =
  | { type: 'connect'; url: string; clients: number; subscribeFrame?: string; ackMatch?: string; urls?: string[]; kind?: FarmClientKind }
  | { type: 'reset'; epoch: number }
  | { type: 'summary' }
  | { type: 'samples' }
  | { type: 'drop' }
  | { type: 'close' };

/** `ws`: a plain websocket (our protocol or raw frames); `socket.io`: a socket.io-client socket whose `msg` events count. */
export type FarmClientKind = 'ws' | 'socket.io';

export type FarmReply =
  | { type: 'ready' }
  | { type: 'dropped' }
  | { type: 'reset-ok'; epoch: number }
  | { type: 'progress'; epoch: number; completed: number }
  | { type: 'summary'; epoch: number; completed: number; latencyMs: LatencySummary }
  | { type: 'samples'; epoch: number; completed: number; max: number; values: number[] }
  | { type: 'error'; message: string };

export interface Farm {
  /** Closes every client; the farm stays up for the next row. */
  drop(): Promise<void>;
  /** Connects `clients` clients, spread round robin over `urls` when given (else all to `url`). */
  connect(options: { url: string; clients: number; subscribeFrame?: string; ackMatch?: string; urls?: string[]; kind?: FarmClientKind }): Promise<void>;
  /** Starts a new counting epoch; completions of older epochs are ignored. */
  reset(): Promise<void>;
  summary(): Promise<{ completed: number; latencyMs: LatencySummary }>;
  /** The kept latency samples (at most 100,000) with the exact max, to merge several farms' figures. */
  samples(): Promise<{ completed: number; max: number; values: number[] }>;
  close(): void;
}

/**
 * The tsx loader for every bench child process (the bench's own TypeScript). Our packages load from
 * their built dist, as an application runs them: tsx's transform of their sources (names kept on
 * every closure) would cost ours per message what the raw libraries, plain JavaScript, never pay.
 */
export const CHILD_EXEC_ARGV = ['--import', 'tsx'];

/**
 * Starts `script` under node with IPC, through bash when `fdLimit` is given so the child's soft
 * file-descriptor limit is raised first (10,000 sockets need more than the usual 1,024; the hard
 * limit caps it).
 */
export function spawnChild(script: string, args: string[], options: { fdLimit?: number; execArgv?: string[] } = {}): ChildProcess {
  const execArgv = [...CHILD_EXEC_ARGV, ...(options.execArgv ?? [])];
  const stdio: ['ignore', 'inherit', 'inherit', 'ipc'] = ['ignore', 'inherit', 'inherit', 'ipc'];
  if (options.fdLimit === undefined) return fork(script, args, { execArgv, stdio });
  const raise = `ulimit -n ${options.fdLimit} 2>/dev/null || ulimit -n "$(ulimit -Hn)"; exec "$0" "$@"`;
  return spawn('bash', ['-c', raise, process.execPath, ...execArgv, script, ...args], { stdio });
}

/** A farm of its own (not the shared one), e.g. two of them for the scale rows, with the fd limit raised. */
export function startOwnFarm(onProgress: (completed: number) => void, fdLimit = 20_000): Farm {
  return startFarm(onProgress, () => undefined, fdLimit);
}

const here = dirname(fileURLToPath(import.meta.url));

let shared: { farm: Farm; setListener(listener: (completed: number) => void): void } | undefined;

/**
 * The farm of this process, started on first use and kept for later rows (starting one costs a
 * process start); `onProgress` receives this row's completion counts.
 */
export function acquireFarm(onProgress: (completed: number) => void): Farm {
  if (!shared) {
    let listener = onProgress;
    const farm = startFarm(
      (completed) => listener(completed),
      () => (shared = undefined), // a crashed farm is replaced for the next row
    );
    shared = { farm, setListener: (l) => (listener = l) };
  }
  shared.setListener(onProgress);
  return shared.farm;
}

function startFarm(onProgress: (completed: number) => void, onExit: () => void, fdLimit?: number): Farm {
  const child: ChildProcess = spawnChild(join(here, 'ws-farm-child.ts'), [], fdLimit === undefined ? {} : { fdLimit });
  let epoch = 0;
  const waiters: Array<{ type: FarmReply['type']; resolve: (reply: FarmReply) => void; reject: (error: Error) => void }> = [];
  child.on('message', (raw) => {
    const reply = raw as FarmReply;
    if (reply.type === 'progress') {
      if (reply.epoch === epoch) onProgress(reply.completed);
      return;
    }
    if (reply.type === 'error') {
      for (const w of waiters.splice(0)) w.reject(new Error(`ws farm: ${reply.message}`));
      return;
    }
    const index = waiters.findIndex((w) => w.type === reply.type);
    if (index >= 0) waiters.splice(index, 1)[0]!.resolve(reply);
  });
  child.on('exit', () => {
    onExit();
    for (const w of waiters.splice(0)) w.reject(new Error('ws farm exited'));
  });
  const ask = <T extends FarmReply['type']>(request: FarmRequest, type: T, timeoutMs: number): Promise<Extract<FarmReply, { type: T }>> =>
    withTimeout(
      new Promise<Extract<FarmReply, { type: T }>>((resolve, reject) => {
        waiters.push({ type, resolve: (r) => resolve(r as Extract<FarmReply, { type: T }>), reject });
        child.send(request);
      }),
      timeoutMs,
      `ws farm ${request.type}`,
    );
  return {
    async connect(options) {
      // A handshake costs about a millisecond on a busy machine: thousands of clients take a while.
      await ask({ type: 'connect', ...options }, 'ready', 30_000 + 10 * options.clients);
    },
    async drop() {
      await ask({ type: 'drop' }, 'dropped', 30_000);
    },
    async reset() {
      epoch += 1;
      await ask({ type: 'reset', epoch }, 'reset-ok', 10_000);
    },
    async summary() {
      const reply = await ask({ type: 'summary' }, 'summary', 10_000);
      return { completed: reply.completed, latencyMs: reply.latencyMs };
    },
    async samples() {
      const reply = await ask({ type: 'samples' }, 'samples', 30_000);
      return { completed: reply.completed, max: reply.max, values: reply.values };
    },
    close() {
      if (child.connected) child.send({ type: 'close' });
      setTimeout(() => child.kill('SIGKILL'), 2_000).unref();
    },
  };
}
