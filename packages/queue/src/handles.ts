/**
 * One worker of one job name, as a SubscriptionHandle: `queue.process` returns it, so one worker
 * can be stopped alone (with drain), and the queue's close stops every handle the same way.
 * Past the drain timeout the handlers' signals abort and the adapter puts the jobs still running
 * back to waiting (BullMQ: without counting a stall).
 */
import { ClosedError, createId, DEFAULT_CLOSE_TIMEOUT_MS, drainWithin, type HandleCloseOptions, type QueueAdapterConsumer, type SubscriptionHandle } from '@events/core';

export interface WorkerHandle extends SubscriptionHandle {
  /** Jobs this worker is running now (adapter-reported; 0 when the adapter does not say). */
  readonly running: number;
}

export interface WorkerEntry {
  readonly name: string;
  readonly consumer: QueueAdapterConsumer;
  /** Aborts every running handler's signal (the drain timeout passed, or no drain was asked). */
  readonly abort: AbortController;
}

/** Closes the consumer: drain within `timeoutMs`, then abort handlers; no drain: abort at once. */
async function stop(entry: WorkerEntry, options: HandleCloseOptions): Promise<void> {
  const drain = options.drain !== false;
  const timeoutMs = options.timeoutMs ?? DEFAULT_CLOSE_TIMEOUT_MS;
  const reason = new ClosedError(`queue worker "${entry.name}"`);
  if (!drain) entry.abort.abort(reason);
  const timer = setTimeout(() => entry.abort.abort(reason), timeoutMs);
  timer.unref();
  try {
    // The adapter bounds its own close by timeoutMs; the extra second is a backstop, not a wait.
    await drainWithin(entry.consumer.close(drain ? { timeoutMs } : { force: true, timeoutMs: 0 }), timeoutMs + 1000);
  } finally {
    clearTimeout(timer);
  }
}

export function createWorkerHandle(entry: WorkerEntry, onClosed: (handle: WorkerHandle) => void): WorkerHandle {
  let closing: Promise<void> | undefined;
  const handle: WorkerHandle = {
    id: createId(),
    topic: entry.name,
    get active() {
      return closing === undefined;
    },
    get running() {
      return entry.consumer.running ?? 0;
    },
    close(options: HandleCloseOptions = {}) {
      closing ??= stop(entry, options).finally(() => onClosed(handle));
      return closing;
    },
  };
  return handle;
}
