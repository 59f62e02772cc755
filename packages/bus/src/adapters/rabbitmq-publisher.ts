/**
 * The publish side of the RabbitMQ adapter: a bounded buffer of events accepted by emit, written
 * to a confirm channel and settled only by the broker's confirm.
 *
 * Promises: an emit resolves only after the broker confirmed the event. While the connection is
 * down, events wait in the buffer and are written (in emit order) once a new channel is
 * attached; events written but unconfirmed when a channel died are written again, so a confirm
 * lost on the wire turns into a duplicate, never a loss. The buffer holds at most `max` events
 * (held + unconfirmed): beyond that emit waits, or throws BackpressureError with `whenFull: 'throw'`.
 */
import { BackpressureError, type BusMessage, type BusPublishOptions } from '@events/core';
import type { ConfirmChannel } from 'amqplib';
import { publishProperties } from './rabbitmq-topology.js';

interface Entry {
  readonly seq: number;
  readonly message: BusMessage;
  readonly resolve: () => void;
  readonly reject: (error: Error) => void;
  /** The channel the entry was last written to: confirms from any other channel are stale. */
  channel?: ConfirmChannel;
  nacks: number;
}

const MAX_NACKS = 5;

export class Publisher {
  private held: Entry[] = [];
  private readonly unconfirmed = new Set<Entry>();
  private channel: ConfirmChannel | undefined;
  private writable = false;
  private seq = 0;
  private spaceWaiters: Array<() => void> = [];
  private settledWaiters: Array<() => void> = [];
  private failure: Error | undefined;

  constructor(
    private readonly exchange: string,
    private readonly max: number,
  ) {}

  get pending(): number {
    return this.held.length + this.unconfirmed.size;
  }

  publish(message: BusMessage, options: BusPublishOptions): Promise<void> {
    // Room and no failure (the usual case): one promise per event, no async wrapper around it.
    if (this.pending < this.max && !this.failure) return this.enqueue(message);
    return this.publishWhenRoom(message, options);
  }

  private async publishWhenRoom(message: BusMessage, options: BusPublishOptions): Promise<void> {
    while (this.pending >= this.max) {
      if (this.failure) throw this.failure;
      if (options.whenFull === 'throw') throw new BackpressureError(`rabbitmq publish buffer (${this.max} unconfirmed events)`);
      await new Promise<void>((resolve) => this.spaceWaiters.push(resolve));
    }
    if (this.failure) throw this.failure;
    return this.enqueue(message);
  }

  private enqueue(message: BusMessage): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.held.push({ seq: (this.seq += 1), message, resolve, reject, nacks: 0 });
      this.flush();
    });
  }

  /** A new confirm channel is up: write what is held, oldest first. */
  attach(channel: ConfirmChannel): void {
    this.channel = channel;
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

  /** Rejects everything still buffered (the adapter is closing). */
  failAll(error: Error): void {
    this.failure = error;
    const all = [...this.held, ...this.unconfirmed];
    this.held = [];
    this.unconfirmed.clear();
    for (const e of all) e.reject(error);
    this.wake();
  }

  private flush(): void {
    const ch = this.channel;
    while (ch && this.writable && this.held.length > 0) {
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
      e.nacks += 1;
      const nacked = err instanceof Error && err.message === 'message nacked';
      if (nacked && e.nacks >= MAX_NACKS) {
        e.reject(new Error(`broker refused event ${e.message.id} ${e.nacks} times`));
        this.wake();
        return;
      }
      // Channel closed (or a broker nack): write it again on the next usable channel.
      this.held.push(e);
      this.held.sort((a, b) => a.seq - b.seq);
      if (nacked) this.flush();
      return;
    }
    e.resolve();
    this.wake();
  }

  private wake(): void {
    for (const w of this.spaceWaiters.splice(0)) w();
    if (this.pending === 0) for (const w of this.settledWaiters.splice(0)) w();
  }
}
