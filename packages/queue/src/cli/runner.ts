/**
 * The worker runner: imports a module that registers handlers and returns (or exports) its queue,
 * then keeps the process alive until SIGTERM/SIGINT, when it closes the queue (active jobs finish
 * within the drain timeout; past it they go back to waiting) and exits 0.
 *
 * Signals: Ctrl-C sends SIGINT to the whole process group, and a parent that forwards signals
 * (the `events-worker` shim, tsx) delivers the same one again a moment later. So a repeat within
 * `REPEAT_WINDOW_MS` of the first is that echo, not a request; a signal after the window means
 * "exit now" (unfinished jobs then come back through BullMQ's stalled-job recovery).
 *
 * Parent death: started with an IPC channel (the shim does), the runner drains and exits when the
 * channel closes, so a SIGKILLed shim never leaves a worker consuming jobs behind it.
 */
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { ConfigError, createStopper } from '@events/core';

export { REPEAT_WINDOW_MS, createStopper, type StopPolicy } from '@events/core';
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
  // Signals are handled from the start: the module's workers may take jobs before it returns.
  let loaded: Promise<Queue> | undefined = undefined;
  const stop = createStopper({
    drain(reason) {
      options.log(`events-worker: ${reason}, draining (up to ${options.drainTimeoutMs} ms)`);
      const closing = loaded ? loaded.then((queue) => queue.close({ timeoutMs: options.drainTimeoutMs })) : Promise.resolve();
      closing.then(
        () => process.exit(0),
        (err: unknown) => {
          options.log(`events-worker: close failed: ${String(err)}`);
          process.exit(1);
        },
      );
    },
    exitNow(reason) {
      options.log(`events-worker: second ${reason}, exiting now`);
      process.exit(1);
    },
  });
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
  if (process.channel) {
    // The channel must not keep the process alive, only tell it when the parent is gone.
    process.channel.unref();
    process.on('disconnect', () => stop('parent exited'));
  }
  loaded = loadWorkerModule(path);
  const queue = await loaded;
  await queue.start();
  options.log(`events-worker: ${path} ready (pid ${process.pid})`);
}
