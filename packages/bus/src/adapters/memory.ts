/**
 * The in-memory bus adapter, made by `memoryBus()`: a staged pipeline in the spirit of GenStage.
 *
 *   producer (publish) -> one bounded buffer per (group, pattern) -> consumer stages pulling by demand
 *
 * A consumer stage asks for work only while it has free slots: its p-queue runs at most
 * `concurrency` handlers and is handed an event only when one of them is free, so nothing is
 * pushed at a busy handler and events wait in the bounded buffer, never in the p-queue. When a
 * buffer is full, publish waits for room (at most `maxWaitingPublishes` callers per buffer, each
 * with a deadline, woken one per freed slot) or throws BackpressureError: memory stays bounded
 * whatever the producer does.
 *
 * Best effort: events live only in this process. Nothing survives a crash, there are no
 * redeliveries, and an event no subscription matches is dropped. Dead letters are kept in a
 * bounded in-memory list (`deadLetters()`).
 */
import PQueue from 'p-queue';
import { deadLetterData, deepFreeze, MemoryDelivery, RoutingTable } from './memory-parts.js';
import { BackpressureError, ClosedError, compileEventPattern, createId, TimeoutError, WaitLine, type BusAdapter, type BusConsumer, type BusConsumerSpec, type BusDelivery, type BusMessage, type BusPublishOptions } from '@events/core';

export interface MemoryBusOptions {
  /** Share one broker between several buses of this process (replicas in tests). Default: a broker of its own. */
  broker?: MemoryBroker;
  /** Events buffered per (group, pattern) before publish pushes back. Default: 1000. */
  bufferSize?: number;
  /** Publishes waiting for room in one full buffer; the next one gets BackpressureError at once. Default: 1000. */
  maxWaitingPublishes?: number;
  /** Dead letters kept (oldest dropped first). Default: 1000. */
  maxDeadLetters?: number;
  /**
   * Hands handlers the sender's envelope object instead of a copy: no JSON round trip, for apps
   * that never leave one process. UNSAFE TO MUTATE: every handler of every group sees the same
   * object the emitter passed; payloads need not be JSON (a Map arrives as a Map), and switching
   * to RabbitMQ later changes what handlers receive. Default: false (a copy, as a broker would).
   */
  zeroCopy?: boolean;
  /**
   * With `zeroCopy`: deep-freeze each envelope at emit, so a mutating handler throws. Default:
   * true unless NODE_ENV is `production` (freezing costs a walk of the payload per event).
   */
  freeze?: boolean;
}

export interface MemoryDeadLetter {
  readonly group: string;
  readonly pattern: string;
  readonly name: string;
  readonly data: Buffer;
  readonly reason: string;
  readonly at: string;
}

function queueKey(group: string, pattern: string): string {
  return `${group}\u0000${pattern}`;
}

interface Stage {
  readonly handler: (delivery: BusDelivery) => Promise<void>;
  /** Runs the stage's handlers, at most `concurrency` at once; its 'next' event is the demand signal. */
  readonly queue: PQueue;
  readonly concurrency: number;
  active: boolean;
}

function hasFreeSlot(stage: Stage): boolean {
  return stage.queue.pending + stage.queue.size < stage.concurrency;
}

/** One (group, pattern) buffer with the consumer stages that pull from it. */
class GroupQueue {
  readonly buffer: BusMessage[] = [];
  readonly stages: Stage[] = [];
  private next = 0;
  /** Publishes waiting for room: capped, each with a deadline, woken one per freed slot. */
  readonly room: WaitLine;
  private emptyWaiters: Array<() => void> = [];
  readonly matches: (name: string) => boolean;

  constructor(
    readonly spec: { key: string; group: string; pattern: string; capacity: number; maxWaiting: number; transient?: boolean },
    private readonly broker: MemoryBroker,
  ) {
    this.matches = compileEventPattern(spec.pattern);
    this.room = new WaitLine({
      what: `bus.emit waiting for room in the memory buffer of subscription ${spec.group}/${spec.pattern} (bufferSize ${spec.capacity}, maxWaitingPublishes ${spec.maxWaiting}; its handlers are slower than the producer: retry later, raise the limits or the emit's timeoutMs)`,
      max: spec.maxWaiting,
    });
  }

  get key(): string {
    return this.spec.key;
  }

  get full(): boolean {
    return this.buffer.length >= this.spec.capacity;
  }

  push(message: BusMessage): void {
    this.buffer.push(message);
    this.pump();
  }

  empty(): Promise<void> {
    if (this.buffer.length === 0) return Promise.resolve();
    return new Promise((resolve) => this.emptyWaiters.push(resolve));
  }

  /** Demand-driven dispatch: hand events only to stages with a free slot, round robin. */
  pump(): void {
    while (this.buffer.length > 0) {
      const stage = this.pickStage();
      if (!stage) break;
      const message = this.buffer.shift()!;
      void stage.queue.add(() => this.deliver(stage, message));
    }
    // One waiter per free slot, not every waiter (no thundering herd); a woken one re-checks.
    const free = this.spec.capacity - this.buffer.length;
    if (free > 0 && this.room.size > 0) this.room.wake(free);
    if (this.emptyWaiters.length > 0 && this.buffer.length === 0) this.wake(this.emptyWaiters.splice(0));
  }

  release(): void {
    // Emits waiting on a buffer nobody reads any more re-check and find the queue gone.
    this.room.wake(this.room.size);
    this.wake(this.emptyWaiters.splice(0));
  }

  private wake(waiters: Array<() => void>): void {
    for (const w of waiters) w();
  }

  private pickStage(): Stage | undefined {
    for (let i = 0; i < this.stages.length; i += 1) {
      const stage = this.stages[(this.next + i) % this.stages.length]!;
      if (stage.active && hasFreeSlot(stage)) {
        this.next = (this.next + i + 1) % this.stages.length;
        return stage;
      }
    }
    return undefined;
  }

  deadLetter(delivery: BusDelivery, reason: string): void {
    // A transient (observer) subscription keeps no dead letters; onError has been told.
    if (this.spec.transient) return;
    this.broker.addDeadLetter({ group: this.spec.group, pattern: this.spec.pattern, name: delivery.name, data: deadLetterData(delivery), reason, at: new Date().toISOString() });
  }

  /** A stage for this buffer: when one of its handlers finishes (the p-queue's 'next'), it asks for more. */
  createStage(handler: Stage['handler'], concurrency: number): Stage {
    const stage: Stage = { handler, queue: new PQueue({ concurrency }), concurrency, active: true };
    stage.queue.on('next', () => this.pump());
    return stage;
  }

  private async deliver(stage: Stage, message: BusMessage): Promise<void> {
    try {
      await stage.handler(new MemoryDelivery(this, message));
    } catch {
      // The bus never rejects here; a custom handler that does must not stop the stage.
    }
  }
}

/** The in-process "broker": the routing table of (group, pattern) buffers and the dead letters. */
export class MemoryBroker {
  readonly queues: Map<string, GroupQueue> = new RoutingTable(() => this.routes.clear());
  readonly deadLetterList: MemoryDeadLetter[] = [];
  /** Event name -> matching buffers; emptied whenever a buffer comes or goes. */
  private readonly routes = new Map<string, GroupQueue[]>();

  constructor(readonly maxDeadLetters = 1000) {}

  addDeadLetter(entry: MemoryDeadLetter): void {
    this.deadLetterList.push(entry);
    if (this.deadLetterList.length > this.maxDeadLetters) this.deadLetterList.shift();
  }

  /** Dead letters, optionally of one group. */
  deadLetters(group?: string): MemoryDeadLetter[] {
    return this.deadLetterList.filter((d) => group === undefined || d.group === group);
  }

  /** The buffers an event of this name goes to (a cached array: do not modify it). */
  route(name: string): readonly GroupQueue[] {
    let targets = this.routes.get(name);
    if (!targets) {
      targets = [...this.queues.values()].filter((q) => q.matches(name));
      this.routes.set(name, targets);
    }
    return targets;
  }
}

export function createMemoryBroker(options: { maxDeadLetters?: number } = {}): MemoryBroker {
  return new MemoryBroker(options.maxDeadLetters);
}

export interface MemoryBusAdapter extends BusAdapter {
  readonly broker: MemoryBroker;
  /** Set by `zeroCopy`: the bus hands handlers the sender's envelope (frozen when `freeze`). */
  readonly zeroCopy: boolean;
  readonly freeze: boolean;
}

/** The first buffer among the targets without room, if any. */
function firstFull(targets: readonly GroupQueue[]): GroupQueue | undefined {
  for (let i = 0; i < targets.length; i += 1) if (targets[i]!.full) return targets[i];
  return undefined;
}

/** True when every target has room and nobody waits for it before this caller. */
function roomForNewcomer(targets: readonly GroupQueue[]): boolean {
  for (let i = 0; i < targets.length; i += 1) if (targets[i]!.full || targets[i]!.room.size > 0) return false;
  return true;
}

/** The memory adapter, as a value for `createBus({ adapter: memoryBus({ bufferSize }) })`; the default. */
export function memoryBus(options: MemoryBusOptions = {}): MemoryBusAdapter {
  const broker = options.broker ?? createMemoryBroker(options.maxDeadLetters === undefined ? {} : { maxDeadLetters: options.maxDeadLetters });
  const bufferSize = options.bufferSize ?? 1000;
  const maxWaiting = options.maxWaitingPublishes ?? 1000;
  const mine = new Set<{ q: GroupQueue; stage: Stage }>();
  // Aborted on close: publishes of this adapter still waiting for room end with ClosedError.
  const closing = new AbortController();
  let waiting = 0;
  const zeroCopy = options.zeroCopy === true;
  const freeze = zeroCopy && (options.freeze ?? process.env.NODE_ENV !== 'production');

  function publish(message: BusMessage, opts: BusPublishOptions): Promise<void> {
    if (freeze && message.envelope !== undefined) deepFreeze(message.envelope);
    // Usual case: every target has room now. Push at once, without the async wait loop below.
    if (!closing.signal.aborted) {
      const targets = broker.route(message.name);
      if (roomForNewcomer(targets)) {
        for (const q of targets) q.push(message);
        return Promise.resolve();
      }
    }
    return publishWhenRoom(message, opts);
  }

  async function publishWhenRoom(message: BusMessage, opts: BusPublishOptions): Promise<void> {
    const deadline = Date.now() + opts.timeoutMs;
    const signal = opts.signal ? AbortSignal.any([opts.signal, closing.signal]) : closing.signal;
    waiting += 1;
    try {
      for (;;) {
        if (closing.signal.aborted) throw new ClosedError('memory bus adapter');
        if (opts.signal?.aborted) throw opts.signal.reason;
        const targets = broker.route(message.name);
        const full = firstFull(targets);
        if (!full) {
          // Every target has room in this same tick: push to all, so an event is never half delivered.
          for (const q of targets) q.push(message);
          return;
        }
        if (opts.whenFull === 'throw') {
          throw new BackpressureError(`bus.emit: the memory buffer of subscription ${full.spec.group}/${full.spec.pattern} holds ${full.spec.capacity} events (bufferSize); retry later, raise the buffer, or let emit wait (whenFull: 'wait')`);
        }
        const left = deadline - Date.now();
        if (left <= 0) throw new TimeoutError(`bus.emit of ${message.name} waiting for room in the memory buffer of subscription ${full.spec.group}/${full.spec.pattern} (bufferSize ${full.spec.capacity}; retry later or raise the emit's timeoutMs)`, opts.timeoutMs);
        await full.room.wait({ timeoutMs: left, signal });
      }
    } finally {
      waiting -= 1;
    }
  }

  function detach(q: GroupQueue, stage: Stage): void {
    if (!stage.active) return;
    stage.active = false;
    q.stages.splice(q.stages.indexOf(stage), 1);
    if (q.stages.length === 0) {
      broker.queues.delete(q.key);
      q.buffer.length = 0;
      q.release();
    } else q.pump();
  }

  async function consume(spec: BusConsumerSpec, handler: (delivery: BusDelivery) => Promise<void>): Promise<BusConsumer> {
    if (closing.signal.aborted) throw new ClosedError('memory bus adapter');
    // A transient subscription shares its buffer with no one: a key no other consumer can have.
    const key = spec.transient ? `${queueKey(spec.group, spec.pattern)}\u0000${createId()}` : queueKey(spec.group, spec.pattern);
    let q = broker.queues.get(key);
    if (!q) {
      q = new GroupQueue({ key, group: spec.group, pattern: spec.pattern, capacity: spec.buffer ?? bufferSize, maxWaiting, transient: spec.transient === true }, broker);
      broker.queues.set(key, q);
    }
    const stage = q.createStage(handler, spec.concurrency);
    q.stages.push(stage);
    const entry = { q, stage };
    mine.add(entry);
    const queue = q;
    let draining: Promise<void> | undefined;
    return {
      async cancel(cancelOptions = {}) {
        if (!stage.active) return;
        const last = queue.stages.filter((s) => s.active).length === 1;
        // The last reader of a buffer finishes it (the events were accepted); otherwise others take it.
        if (last && cancelOptions.drain !== false) {
          draining ??= queue.empty();
          await draining;
        }
        mine.delete(entry);
        detach(queue, stage);
        // Deliveries already handed to the stage finish (the bus waits for its own in-flight count).
        if (cancelOptions.drain !== false) await stage.queue.onIdle();
      },
    };
  }

  return {
    kind: 'memory',
    broker,
    zeroCopy,
    freeze,
    async start() {
      if (closing.signal.aborted) throw new ClosedError('memory bus adapter');
    },
    publish,
    consume,
    stats() {
      const consumers = [...mine].map(({ q, stage }) => ({ pattern: q.spec.pattern, group: q.spec.group, buffered: q.buffer.length, inFlight: stage.queue.pending }));
      return { connected: !closing.signal.aborted, pendingPublishes: 0, waitingPublishes: waiting, consumers };
    },
    async close() {
      closing.abort(new ClosedError('memory bus adapter'));
      for (const { q, stage } of mine) detach(q, stage);
      mine.clear();
    },
  };
}
