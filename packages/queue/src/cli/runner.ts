/**
 * The worker runner: imports a module that registers handlers and returns (or exports) its queue,
 * then keeps the process alive until SIGTERM/SIGINT, when it closes the queue (active jobs finish
 * within the drain timeout) and exits 0. A second signal forces the exit: unfinished jobs then
 * come back through BullMQ's stalled-job recovery.
 */
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { ConfigError } from '@events/core';
import type { Queue } from '../queue.js';

/** What a worker module provides: `export default () => queue` (sync or async), or `export const queue`. */
export interface WorkerModule {
  default?: (() => Queue | Promise<Queue>) | Queue;
  queue?: Queue;
}

function isQueue(value: unknown): value is Queue {
  return typeof value === 'object' && value !== null && typeof (value as Queue).process === 'function' && typeof (value as Queue).close === 'function';
}

export async function loadWorkerModule(path: string): Promise<Queue> {
  const mod = (await import(pathToFileURL(resolve(path)).href)) as WorkerModule;
  const entry = mod.default ?? mod.queue;
  const queue = typeof entry === 'function' ? await entry() : entry;
  if (!isQueue(queue)) {
    throw new ConfigError(`${path} must export default a function returning a queue (or the queue itself), or export const queue`);
  }
  return queue;
}

export async function runWorker(path: string, options: { drainTimeoutMs: number; log: (line: string) => void }): Promise<void> {
  const queue = await loadWorkerModule(path);
  await queue.start();
  options.log(`events-worker: ${path} ready (pid ${process.pid})`);
  let stopping = false;
  const stop = (signal: NodeJS.Signals): void => {
    if (stopping) {
      options.log(`events-worker: second ${signal}, exiting now`);
      process.exit(1);
    }
    stopping = true;
    options.log(`events-worker: ${signal}, draining (up to ${options.drainTimeoutMs} ms)`);
    queue.close({ timeoutMs: options.drainTimeoutMs }).then(
      () => process.exit(0),
      (err: unknown) => {
        options.log(`events-worker: close failed: ${String(err)}`);
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}
