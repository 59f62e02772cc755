/**
 * Resume on a channel with history, for one subscription. The live subscription is confirmed by
 * the transport first; live messages are held while the history after the subscriber's position
 * is read; then the missed messages are handed over, then the held ones, each offset once: a held
 * message at or below the last one handed over is a duplicate and dropped. The same catch-up runs
 * whenever live offsets jump (a message lost on the way, e.g. an outage of the transport) and after
 * every `resubscribed`.
 *
 * Promised: in order, no offset twice, and no hole without a RecoveryEvent saying `recovered:
 * false`. Not promised: recovery beyond the history window (`size`, `ttlMs`) or past
 * `historyReplay.maxMessages`; then the subscription continues from the newest message.
 */
import { EMPTY_HISTORY_EPOCH, type Envelope, type PubSubAdapterHistory, type PubSubHistoryRead, type PubSubHistoryWindow, type Serializer } from '@events/core';
import type { Dispatcher, Report } from './dispatch.js';
import type { HistoryPolicy } from './history.js';
import { decodeRemote } from './receive.js';
import type { LocalSubscription } from './registry.js';
import type { MessageMeta, RecoveryEvent, RecoveryFailure, StreamPosition } from './types.js';

export interface HistoryStreamParts {
  readonly channel: string;
  readonly wire: string;
  readonly window: PubSubHistoryWindow;
  readonly history: PubSubAdapterHistory;
  readonly policy: HistoryPolicy;
  readonly serializer: Serializer;
  readonly dispatcher: Dispatcher;
  readonly report: Report;
  readonly onRecovery: ((event: RecoveryEvent) => void) | undefined;
}

interface Held {
  readonly envelope: Envelope;
  readonly position: StreamPosition | undefined;
  /** A read completed after this message arrived and still left it ahead: it is stale or past a hole. */
  seen?: boolean;
}

type Verdict = 'deliver' | 'drop' | 'jump';

export class HistoryStream {
  private state: 'opening' | 'live' | 'reading' = 'opening';
  private held: Held[] = [];
  /** Held messages were thrown away (past maxBuffered): read history again before going live. */
  private again = false;
  private epoch: string | undefined;
  /** Offset of the last message handed over (or where the subscription started). */
  private floor = 0;
  /** The user's handler as a subscription the dispatcher can call (reports, tracks async work). */
  private target: LocalSubscription | undefined;
  closed = false;

  constructor(private readonly parts: HistoryStreamParts) {}

  get position(): StreamPosition | undefined {
    return this.epoch === undefined ? undefined : { offset: this.floor, epoch: this.epoch };
  }

  /** The handler registered for the channel: every live message passes here first. */
  readonly receive = (payload: unknown, meta: MessageMeta): unknown => {
    if (this.closed) return undefined;
    if (this.state !== 'live') return void this.hold({ envelope: meta.envelope, position: meta.position });
    const verdict = this.judge(meta.position);
    if (verdict === 'deliver') return (this.target!.handler as (m: unknown, meta: MessageMeta) => unknown)(payload, meta);
    if (verdict === 'jump') {
      this.hold({ envelope: meta.envelope, position: meta.position });
      void this.catchUp();
    }
    return undefined;
  };

  /**
   * After the live subscription is confirmed: reads history, reports the outcome of `since` (before
   * any replayed message), hands over the missed messages and the held ones, then goes live.
   */
  async open(target: LocalSubscription, since: StreamPosition | undefined): Promise<RecoveryEvent | undefined> {
    this.target = target;
    if (since) {
      this.epoch = since.epoch;
      this.floor = since.offset;
    }
    this.state = 'reading';
    const event = await this.readAndDeliver(since !== undefined);
    return event;
  }

  /** Fills a hole (or checks there is none) from history; one read at a time. */
  async catchUp(): Promise<void> {
    if (this.closed || this.state === 'opening') return;
    if (this.state === 'reading') {
      this.again = true;
      return;
    }
    this.state = 'reading';
    await this.readAndDeliver(false);
  }

  private hold(held: Held): void {
    if (this.held.length >= this.parts.policy.maxBuffered) {
      // Thrown away, not lost: they are in history, read again once this read is done.
      this.held = [];
      this.again = true;
    }
    this.held.push(held);
  }

  private judge(position: StreamPosition | undefined): Verdict {
    // Not from history (a localBroadcast, a node without history for this channel): passed on.
    if (position === undefined) return 'deliver';
    // Nothing seen of a channel that had no history: the first write's epoch is the one to follow.
    if (this.beforeFirstWrite() && position.offset === 1) this.epoch = position.epoch;
    if (position.epoch !== this.epoch) return 'jump';
    if (position.offset <= this.floor) return 'drop';
    if (position.offset !== this.floor + 1) return 'jump';
    this.floor = position.offset;
    return 'deliver';
  }

  /** At offset 0 of the empty epoch: the channel had no history when this subscription looked. */
  private beforeFirstWrite(): boolean {
    return this.floor === 0 && this.epoch === EMPTY_HISTORY_EPOCH;
  }

  private async readAndDeliver(resume: boolean): Promise<RecoveryEvent | undefined> {
    let first: RecoveryEvent | undefined;
    do {
      this.again = false;
      const { event, entries } = await this.readOnce();
      if (this.closed) return first;
      const failed = event?.reason === 'unavailable';
      // The outcome of `since` always; later catch-ups only when something is lost.
      if (event && (resume || !event.recovered)) this.notify(event);
      if (resume) first = event;
      resume = false;
      for (const entry of entries) this.replay(entry);
      this.flushHeld(failed);
    } while (this.again && !this.closed);
    this.state = 'live';
    return first;
  }

  /** One history read. `event` is undefined for a subscription without a position yet. */
  private async readOnce(): Promise<{ event: RecoveryEvent | undefined; entries: PubSubHistoryRead['entries'] }> {
    const { history, wire, window, policy, channel } = this.parts;
    const fresh = this.epoch === undefined;
    let read: PubSubHistoryRead;
    try {
      read = await history.readHistory(wire, { after: this.floor, limit: fresh ? 0 : policy.maxMessages, timeoutMs: policy.timeoutMs, window });
    } catch (err) {
      this.parts.report('transport', err, { name: channel, detail: { action: 'read history' } });
      const position = this.position;
      return { event: { channel, recovered: false, reason: 'unavailable', replayed: 0, ...(position ? { position } : {}) }, entries: [] };
    }
    let failure: RecoveryFailure | undefined;
    if (!fresh) {
      if (this.beforeFirstWrite()) this.epoch = read.epoch;
      if (read.epoch !== this.epoch || this.floor > read.top) failure = 'epoch-changed';
      else if (read.top > this.floor && (read.top - this.floor > policy.maxMessages || read.first > this.floor + 1)) failure = 'too-old';
    }
    if (fresh || failure) {
      // Continue from the newest message; what lies between is the app's to reload.
      this.epoch = read.epoch;
      this.floor = read.top;
      const event = failure ? { channel, recovered: false, reason: failure, replayed: 0, position: { offset: read.top, epoch: read.epoch } } : undefined;
      return { event, entries: [] };
    }
    const entries = read.entries.filter((e) => e.offset > this.floor);
    const last = entries.at(-1)?.offset ?? this.floor;
    return { event: { channel, recovered: true, replayed: entries.length, position: { offset: last, epoch: read.epoch } }, entries };
  }

  private notify(event: RecoveryEvent): void {
    try {
      this.parts.onRecovery?.(event);
    } catch (err) {
      this.parts.report('listener', err, { name: this.parts.channel });
    }
  }

  /** Hands over one message read from history (consecutive offsets, checked by the read). */
  private replay(entry: { offset: number; data: Buffer }): void {
    if (entry.offset !== this.floor + 1) return;
    this.floor = entry.offset;
    let envelope: Envelope;
    try {
      envelope = decodeRemote(this.parts.serializer, entry.data, this.parts.channel);
    } catch (err) {
      this.parts.report('decode', err, { name: this.parts.channel, detail: { offset: entry.offset } });
      return;
    }
    this.deliver(envelope, { offset: entry.offset, epoch: this.epoch! });
  }

  /**
   * Live messages held during the read: each offset once; one ahead of the last handed over means
   * another read. A message still ahead after a read that began once it had arrived claims an
   * offset (or epoch) the history does not have: forged or foreign, reported and dropped. When the
   * read failed (already reported as `unavailable`) the subscription moves on to what arrives.
   */
  private flushHeld(failed: boolean): void {
    const held = this.held;
    this.held = [];
    for (const [i, h] of held.entries()) {
      const verdict = this.judge(h.position);
      if (verdict === 'drop') continue;
      if (verdict === 'deliver') {
        this.deliver(h.envelope, h.position);
        continue;
      }
      const position = h.position!;
      if (failed) {
        this.epoch = position.epoch;
        this.floor = position.offset;
        this.deliver(h.envelope, position);
      } else if (!h.seen) {
        h.seen = true;
        this.held = [h, ...held.slice(i + 1)];
        this.again = true;
        return;
      } else {
        const claim = `offset ${position.offset} of epoch ${JSON.stringify(position.epoch)}`;
        this.parts.report('decode', new Error(`dropped a message whose ${claim} is not in the channel's history (newest: ${this.floor} of ${JSON.stringify(this.epoch)})`), {
          name: this.parts.channel,
          id: h.envelope.id,
        });
      }
    }
  }

  private deliver(envelope: Envelope, position: StreamPosition | undefined): void {
    const delivery = position === undefined ? { envelope, pattern: undefined } : { envelope, pattern: undefined, position };
    this.parts.dispatcher.deliver([this.target!], delivery);
  }
}
