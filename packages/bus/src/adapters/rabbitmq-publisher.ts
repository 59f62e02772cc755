/**
 * The publish side of the RabbitMQ adapter: a bounded buffer of events accepted by emit, written
 * to a confirm channel and settled only by the broker's confirm.
 *
 * Promises: an emit resolves only after the broker confirmed the event. While the connection is
 * down, events wait in the buffer and are written (in emit order) once a new channel is
 * attached; events written but unconfirmed when a channel died are written again, so a confirm
 * lost on the wire turns into a duplicate, never a loss. The buffer holds at most `max` events
 * (held + unconfirmed); beyond that at most `maxWaiting` emits wait for room, each woken alone
 * when a slot frees (no thundering herd), and the next one gets BackpressureError at once.
 * Every publish has a deadline: an event still held when it passes is dropped unsent, one
 * written but unconfirmed is let go (it may still arrive).
 *
 * A nack is transient on a cluster (a quorum queue between leaders, or without a majority until a
 * node is back): the event is written again after a backoff (100 ms doubling to 2 s) until its
 * deadline, which then fails it saying how many times the broker nacked it. A retry after a nack
 * may duplicate the event (the broker may have enqueued it anyway), never lose it. Nacks in a
 * row on one channel, with no confirm between them, call `onNackStreak` (at most once a second):
 * RabbitMQ 3.10 leaves a channel whose first publish to a quorum queue met no leader nacking
 * every later publish to it, while a new channel works, so the adapter opens a new one.
 */
import { BackpressureError, TimeoutError, WaitLine, type BusMessage, type BusPublishOptions } from '@events/core';
import type { ConfirmChannel } from 'amqplib';
import { publishProperties } from './rabbitmq-topology.js';

interface Entry {
  readonly seq: number;
  readonly message: BusMessage;
  readonly deadline: number;
  readonly timeoutMs: number;
  readonly resolve: () => void;
  readonly reject: (error: unknown) => void;
  /** The channel the entry was last written to: confirms from any other channel are stale. */
  channel?: ConfirmChannel;
  nacks: number;
  /** Set while a nacked entry waits for its next write. */
  retry?: NodeJS.Timeout;
  signal?: AbortSignal;
  onAbort?: () => void;
}

export interface PublisherOptions {
  readonly exchange: string;
  /** Held + unconfirmed events at most. */
  readonly max: number;
  /** Emits waiting for room at most. */
  readonly maxWaiting: number;
  /** The broker, for error messages (`RabbitMQ amqp://127.0.0.1:5672`, password redacted). */
  readonly broker: string;
  /** Called when the current channel nacked NACK_STREAK publishes in a row (at most once a second). Default: none. */
  readonly onNackStreak?: (channel: ConfirmChannel) => void;
  /** Called after frames were written to `channel` (the adapter batches them into one socket write). Default: none. */
  readonly wrote?: (channel: ConfirmChannel) => void;
}

const NACK_RETRY_FIRST_MS = 100;
const NACK_RETRY_MAX_MS = 2000;
const NACK_STREAK = 2;
const NACK_STREAK_INTERVAL_MS = 1000;

export class Publisher {
  private held: Entry[] = [];
  private readonly unconfirmed = new Set<Entry>();
  /** Nacked entries waiting for their backoff to end. */
  private readonly nacked = new Set<Entry>();
  private readonly waiting: WaitLine;
  /** Slots promised to waiters already woken whose continuation has not run yet. */
  private reserved = 0;
  private channel: ConfirmChannel | undefined;
  private writable = false;
  private seq = 0;
  private settledWaiters: Array<() => void> = [];
  private failure: Error | undefined;
  private timer: NodeJS.Timeout | undefined;
  private timerAt = Infinity;
  private readonly exchange: string;
  private readonly max: number;
  private readonly broker: string;
  private readonly onNackStreak: ((channel: ConfirmChannel) => void) | undefined;
  private readonly wrote: ((channel: ConfirmChannel) => void) | undefined;
  /** Nacks in a row on the current channel, and when onNackStreak last ran. */
  private nackStreak = 0;
  private streakCalledAt = -Infinity;

  constructor(options: PublisherOptions) {
    this.onNackStreak = options.onNackStreak;
    this.wrote = options.wrote;
    this.exchange = options.exchange;
    this.max = options.max;
    this.broker = options.broker;
    this.waiting = new WaitLine({
      what: `bus.emit waiting for room in the publish buffer of ${options.broker} (maxPendingPublishes ${options.max}, maxWaitingPublishes ${options.maxWaiting}; is the broker reachable? retry later, raise the limits or the emit's timeoutMs)`,
      max: options.maxWaiting,
    });
  }

  get pending(): number {
    return this.held.length + this.unconfirmed.size + this.nacked.size;
  }

  /** Emits waiting for room. */
  get waitingCount(): number {
    return this.waiting.size + this.reserved;
  }

  publish(message: BusMessage, options: BusPublishOptions): Promise<void> {
    if (this.failure) return Promise.reject(this.failure);
    if (options.signal?.aborted) return Promise.reject(options.signal.reason);
    // Room and nobody waiting before us (the usual case): one promise per event, no async wrapper.
    if (this.pending + this.reserved < this.max && this.waiting.size === 0) return this.enqueue(message, options, Date.now() + options.timeoutMs);
    if (options.whenFull === 'throw') {
      return Promise.reject(new BackpressureError(`bus.emit on ${this.broker}: ${this.max} events already await the broker's confirm (maxPendingPublishes); retry later, raise the limit, or let emit wait (whenFull: 'wait')`));
    }
    return this.publishWhenRoom(message, options);
  }

  private async publishWhenRoom(message: BusMessage, options: BusPublishOptions): Promise<void> {
    const deadline = Date.now() + options.timeoutMs;
    await this.waiting.wait(options.signal ? { timeoutMs: options.timeoutMs, signal: options.signal } : { timeoutMs: options.timeoutMs });
    this.reserved -= 1; // woken by freed(): this slot was kept for us
    if (this.failure) throw this.failure;
    if (options.signal?.aborted) {
      this.freed(); // pass the slot on
      throw options.signal.reason;
    }
    return this.enqueue(message, options, deadline);
  }

  private enqueue(message: BusMessage, options: BusPublishOptions, deadline: number): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const e: Entry = { seq: (this.seq += 1), message, deadline, timeoutMs: options.timeoutMs, resolve, reject, nacks: 0 };
      if (options.signal) {
        const signal = options.signal;
        e.signal = signal;
        e.onAbort = () => this.drop(e, signal.reason);
        signal.addEventListener('abort', e.onAbort, { once: true });
      }
      this.held.push(e);
      this.arm(deadline);
      this.flush();
    });
  }

  /** A new confirm channel is up: write what is held, oldest first. */
  attach(channel: ConfirmChannel): void {
    this.channel = channel;
    this.nackStreak = 0;
    this.writable = true;
    this.flush();
  }

  /** The channel died: every unconfirmed event goes back to the buffer to be written again. */
  detach(): void {
    this.channel = undefined;
    this.writable = false;
    for (const e of this.unconfirmed) this.held.push(e);
    this.unconfirmed.clear();
    this.held.sort((a, b) => a.seq - b.seq);
  }

  /** Resolves when nothing is held or unconfirmed. */
  settled(): Promise<void> {
    if (this.pending === 0) return Promise.resolve();
    return new Promise((resolve) => this.settledWaiters.push(resolve));
  }

  /** Rejects everything still buffered or waiting (the adapter is closing). */
  failAll(error: Error): void {
    this.failure = error;
    const all = [...this.held, ...this.unconfirmed, ...this.nacked];
    this.held = [];
    this.unconfirmed.clear();
    this.nacked.clear();
    for (const e of all) this.settle(e, error);
    this.waiting.rejectAll(error);
    clearTimeout(this.timer);
    this.timer = undefined;
    this.freed();
  }

  private flush(): void {
    const ch = this.channel;
    if (!ch || !this.writable || this.held.length === 0) return;
    this.writeHeld(ch);
    this.wrote?.(ch);
  }

  private writeHeld(ch: ConfirmChannel): void {
    while (this.writable && this.held.length > 0) {
      const e = this.held.shift()!;
      e.channel = ch;
      this.unconfirmed.add(e);
      let ok: boolean;
      try {
        ok = ch.publish(this.exchange, e.message.name, e.message.data, publishProperties(e.message), (err: unknown) => this.confirmed(ch, e, err));
      } catch {
        // The channel is closing under us: keep the event for the next channel.
        this.unconfirmed.delete(e);
        this.held.unshift(e);
        this.writable = false;
        return;
      }
      if (!ok) {
        // Socket buffer full: wait for it to drain instead of queueing in amqplib without bound.
        this.writable = false;
        ch.once('drain', () => {
          if (this.channel !== ch) return;
          this.writable = true;
          this.flush();
        });
      }
    }
  }

  private confirmed(ch: ConfirmChannel, e: Entry, err: unknown): void {
    if (e.channel !== ch || !this.unconfirmed.has(e)) return; // stale confirm from a dead channel
    this.unconfirmed.delete(e);
    if (err) {
      if (err instanceof Error && err.message === 'message nacked') {
        this.backOff(e);
        this.nackStreak += 1;
        const now = Date.now();
        if (this.onNackStreak && this.nackStreak >= NACK_STREAK && now - this.streakCalledAt >= NACK_STREAK_INTERVAL_MS) {
          this.streakCalledAt = now;
          this.nackStreak = 0;
          this.onNackStreak(ch);
        }
        return;
      }
      // Channel closed: write it again on the next usable channel.
      this.held.push(e);
      this.held.sort((a, b) => a.seq - b.seq);
      return;
    }
    this.nackStreak = 0;
    this.settle(e);
    this.freed();
  }

  /** A nacked entry: written again once its backoff ends (on whatever channel is up then). */
  private backOff(e: Entry): void {
    e.nacks += 1;
    this.nacked.add(e);
    const wait = Math.min(NACK_RETRY_MAX_MS, NACK_RETRY_FIRST_MS * 2 ** (e.nacks - 1));
    e.retry = setTimeout(() => {
      e.retry = undefined;
      if (!this.nacked.delete(e)) return; // settled meanwhile
      this.held.push(e);
      this.held.sort((a, b) => a.seq - b.seq);
      this.flush();
    }, wait);
    e.retry.unref?.();
  }

  /** Ends one entry early (deadline or abort): a held one is dropped unsent, a written one let go. */
  private drop(e: Entry, error: unknown): void {
    const index = this.held.indexOf(e);
    if (index !== -1) this.held.splice(index, 1);
    else if (!this.unconfirmed.delete(e) && !this.nacked.delete(e)) return; // already settled
    this.settle(e, error);
    this.freed();
  }

  private settle(e: Entry, error?: unknown): void {
    clearTimeout(e.retry);
    if (e.onAbort) e.signal?.removeEventListener('abort', e.onAbort);
    if (error === undefined) e.resolve();
    else e.reject(error);
  }

  /** One timer for every deadline: armed for the earliest, it sweeps then re-arms. */
  private arm(deadline: number): void {
    if (this.timer !== undefined && deadline >= this.timerAt) return;
    clearTimeout(this.timer);
    this.timerAt = deadline;
    this.timer = setTimeout(() => this.expire(), Math.max(0, deadline - Date.now()));
    this.timer.unref?.();
  }

  private expire(): void {
    this.timer = undefined;
    this.timerAt = Infinity;
    const now = Date.now();
    let next = Infinity;
    const expired: Array<[Entry, string]> = [];
    const nackedFate = (e: Entry): string => `nacked ${e.nacks} times by the broker (a quorum queue without a leader or a majority? a queue limit?): it may still have been enqueued, and a retry may duplicate it`;
    for (const e of this.held) {
      if (e.deadline <= now) expired.push([e, e.nacks > 0 ? nackedFate(e) : 'held while the broker was unreachable and dropped: nothing was sent; retry, or pass a longer timeoutMs']);
      else next = Math.min(next, e.deadline);
    }
    for (const e of this.nacked) {
      if (e.deadline <= now) expired.push([e, nackedFate(e)]);
      else next = Math.min(next, e.deadline);
    }
    for (const e of this.unconfirmed) {
      if (e.deadline <= now) expired.push([e, e.nacks > 0 ? nackedFate(e) : 'written but not confirmed: it may still be delivered, and a retry may duplicate it']);
      else next = Math.min(next, e.deadline);
    }
    for (const [e, fate] of expired) this.drop(e, new TimeoutError(`bus.emit of ${e.message.name} ${e.message.id} to ${this.broker} (${fate})`, e.timeoutMs));
    if (next !== Infinity) this.arm(next);
  }

  /** Slots freed: wake as many waiters as there is room, one each; tell close when empty. */
  private freed(): void {
    const room = this.max - this.pending - this.reserved;
    const count = Math.min(room, this.waiting.size);
    if (count > 0 && !this.failure) {
      this.reserved += count;
      this.waiting.wake(count);
    }
    if (this.pending === 0) for (const w of this.settledWaiters.splice(0)) w();
  }
}
