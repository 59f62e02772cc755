/**
 * Spreads the socket writes of a fan-out over event-loop turns. A broadcast to N clients only
 * stages its frame in each client's send queue (cheap, bounded by that queue); the writes, one
 * system call per client, happen here, at most `maxClientsPerTurn` clients or `maxSliceMs` per
 * turn, then the loop turns (`setImmediate`) so heartbeats, new connections and subscribe frames
 * are served between slices. A client keeps its place in line while it waits, so frames staged
 * for it by later broadcasts leave with the earlier ones, in order, in one write.
 * It promises no deadline: under a load past what one core writes, clients wait longer (their
 * send-queue bounds and policies then decide what is dropped), the loop still turns.
 */

export interface FanOutOptions {
  /** Clients whose staged frames are written in one event-loop turn. Default: 500. */
  maxClientsPerTurn?: number;
  /** Longest stretch of writing in one turn, in milliseconds (checked after each client). Default: 8. */
  maxSliceMs?: number;
}

/** Something with staged frames to write: a client's send queue behind its socket. */
export interface Flushable {
  flush(): void;
}

export interface FanOutStats {
  /** Clients waiting for their turn now. */
  readonly waiting: number;
  /** Turns that wrote (slices) since the gateway started. */
  readonly slices: number;
  /** The most clients waiting at once. */
  readonly peakWaiting: number;
}

export const DEFAULT_FAN_OUT = { maxClientsPerTurn: 500, maxSliceMs: 8 } as const;

export class FanOutScheduler {
  // A Set keeps insertion order: first staged, first written; one entry per client.
  private readonly waiting = new Set<Flushable>();
  private readonly maxClients: number;
  private readonly maxSliceMs: number;
  private scheduled = false;
  private slices = 0;
  private peak = 0;

  constructor(
    options: FanOutOptions = {},
    /** A write that throws: reported, and the slice goes on with the next client. */
    private readonly onError: (error: unknown) => void = () => undefined,
  ) {
    this.maxClients = Math.max(1, Math.floor(options.maxClientsPerTurn ?? DEFAULT_FAN_OUT.maxClientsPerTurn));
    this.maxSliceMs = Math.max(0, options.maxSliceMs ?? DEFAULT_FAN_OUT.maxSliceMs);
  }

  /** `target` has staged frames: it is written in a coming slice (once, however often it is called). */
  schedule(target: Flushable): void {
    if (this.waiting.has(target)) return;
    this.waiting.add(target);
    if (this.waiting.size > this.peak) this.peak = this.waiting.size;
    if (!this.scheduled) {
      this.scheduled = true;
      setImmediate(this.run);
    }
  }

  /** The client left: nothing of it is written any more. */
  cancel(target: Flushable): void {
    this.waiting.delete(target);
  }

  stats(): FanOutStats {
    return { waiting: this.waiting.size, slices: this.slices, peakWaiting: this.peak };
  }

  private readonly run = (): void => {
    this.scheduled = false;
    this.slices += 1;
    const started = performance.now();
    let done = 0;
    for (const target of this.waiting) {
      this.waiting.delete(target);
      try {
        target.flush();
      } catch (error) {
        this.onError(error);
      }
      done += 1;
      if (done >= this.maxClients || performance.now() - started >= this.maxSliceMs) break;
    }
    if (this.waiting.size > 0 && !this.scheduled) {
      this.scheduled = true;
      setImmediate(this.run);
    }
  };
}

/**
 * Runs `fn` over `items` at most `perTurn` at a time, turning the event loop in between (the
 * heartbeat's pings are one system call each, like a fan-out). Returns once all are done.
 */
export async function forEachSliced<T>(items: Iterable<T>, perTurn: number, fn: (item: T) => void): Promise<void> {
  let n = 0;
  for (const item of [...items]) {
    fn(item);
    n += 1;
    if (n % perTurn === 0) await new Promise<void>((resolve) => setImmediate(resolve));
  }
}
