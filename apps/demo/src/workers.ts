/**
 * DEMO_WORKERS=separate: the web process starts the other two roles as child processes, a bus
 * consumer (src/bus-consumer.ts) and a queue worker (src/queue-worker.ts under the queue package's
 * `events-worker` runner), forwards SIGTERM to them on shutdown and waits for them to drain.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ConfigError } from '@events/core';
import type { ResolvedPlatformConfig } from '@events/platform';
import type { Logger } from './log.js';

const SRC = dirname(fileURLToPath(import.meta.url));
const TSX = ['--import', 'tsx', '--conditions=@events/source'];

export interface WorkerProcesses {
  /** SIGTERM to each child, then wait for all to exit (SIGKILL after `timeoutMs`). */
  stop(timeoutMs: number): Promise<void>;
}

/** Separate processes only make sense when the tiers are shared between processes. */
export function checkSeparable(config: ResolvedPlatformConfig): void {
  const memory = (['pubsub', 'bus', 'queue'] as const).filter((tier) => config[tier].adapter === 'memory');
  if (memory.length > 0) {
    throw new ConfigError(
      `DEMO_WORKERS=separate needs brokers shared by the processes, but ${memory.join(', ')} ${memory.length > 1 ? 'are' : 'is'} on memory: ` +
        'set EVENTS_PUBSUB=redis EVENTS_BUS=rabbitmq EVENTS_QUEUE=bullmq (and `docker compose up -d` on a laptop), or use DEMO_WORKERS=inline',
    );
  }
}

/** Finds the queue package's runner through the workspace's node_modules link. */
function workerRunner(): string {
  for (let dir = SRC; dir !== dirname(dir); dir = dirname(dir)) {
    const candidate = join(dir, 'node_modules', '@events', 'queue', 'bin', 'events-worker.js');
    if (existsSync(candidate)) return candidate;
  }
  throw new ConfigError('cannot find @events/queue/bin/events-worker.js: run `npm ci` first');
}

export async function startWorkerProcesses(log: Logger, startTimeoutMs: number): Promise<WorkerProcesses> {
  const children: Array<{ name: string; child: ChildProcess; exited: Promise<void> }> = [];
  const start = (name: string, args: string[]): ChildProcess => {
    log(`starting the ${name} process`);
    const child = spawn(process.execPath, args, { stdio: ['ignore', 'inherit', 'inherit', 'ipc'], env: process.env });
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    child.once('exit', (code, signal) => log(`${name} process ${child.pid} exited (${signal ?? `code ${code}`})`));
    children.push({ name, child, exited });
    return child;
  };
  const processes: WorkerProcesses = {
    async stop(timeoutMs) {
      for (const { child } of children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      const timer = setTimeout(() => children.forEach(({ child }) => child.exitCode === null && child.kill('SIGKILL')), timeoutMs);
      await Promise.all(children.map((c) => c.exited));
      clearTimeout(timer);
    },
  };

  const consumer = start('bus consumer', [...TSX, join(SRC, 'bus-consumer.ts')]);
  start('queue worker', [...TSX, workerRunner(), 'run', join(SRC, 'queue-worker.ts')]);
  // However this process ends (a signal during startup included), its children go with it.
  process.once('exit', () => children.forEach(({ child }) => child.exitCode === null && child.kill('SIGTERM')));
  // The web role must not emit before the consumer groups exist on the broker: an event published
  // to a topic exchange with no bound queue is dropped. Wait for the consumer to say it is bound.
  const ready = await new Promise<boolean>((resolve) => {
    const timer = setTimeout(() => resolve(false), startTimeoutMs + 60_000);
    consumer.once('message', () => {
      clearTimeout(timer);
      resolve(true);
    });
    consumer.once('exit', () => {
      clearTimeout(timer);
      resolve(false);
    });
  });
  if (!ready) {
    await processes.stop(5000);
    throw new ConfigError('the bus consumer process did not become ready (see its log above)');
  }
  log(`started the bus consumer (pid ${consumer.pid}) and the queue worker (pid ${children[1]!.child.pid}) as separate processes`);
  return processes;
}
