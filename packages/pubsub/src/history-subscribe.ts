/**
 * The PubSub's side of channel history: publishing with an offset, and subscriptions that resume.
 * Called from pubsub.ts through three small hooks (emit, subscribe, resubscribed), so the tier's
 * core stays one file about live delivery.
 */
import { isChannelPattern, type PubSubAdapter, type PubSubAdapterHistory, type PubSubHistoryWindow, type Serializer } from '@events/core';
import type { Dispatcher, Report } from './dispatch.js';
import { HistoryPolicy, type HistoryOptions, type HistoryReplayOptions, parsePosition } from './history.js';
import { HistoryStream } from './history-stream.js';
import type { LocalSubscription } from './registry.js';
import type { RecoveryEvent, StreamPosition, SubscribeOptions, Subscription } from './types.js';
import type { Namespace } from './wire.js';

export interface HistoryParts {
  readonly adapter: PubSubAdapter;
  readonly ns: Namespace;
  readonly serializer: Serializer;
  readonly dispatcher: Dispatcher;
  readonly report: Report;
  /** A resume (`since`) that could not be filled: counted as a gap (metrics), once per resume. */
  readonly unrecovered?: () => void;
  readonly history?: HistoryOptions;
  readonly historyReplay?: HistoryReplayOptions;
}

/** A subscribe call that touches history: the handler and options to register, and what to do once it is live. */
export interface HistoryPlan {
  readonly handler: (payload: unknown, meta: never) => unknown;
  readonly options: SubscribeOptions;
  open(handle: Subscription, registered: LocalSubscription): Promise<Subscription>;
}

export class HistorySubscriptions {
  readonly policy: HistoryPolicy;
  /** Resuming subscriptions and their handles, for the catch-up after an outage. */
  private readonly streams = new Map<HistoryStream, Subscription>();
  private sweepAt = 1024;

  constructor(private readonly parts: HistoryParts) {
    this.policy = new HistoryPolicy(parts.history, parts.historyReplay);
  }

  /** Where `channel` keeps history on this adapter, or undefined. */
  windowFor(channel: string): { window: PubSubHistoryWindow; history: PubSubAdapterHistory } | undefined {
    const history = this.parts.adapter.history;
    if (!history) return undefined;
    const window = this.policy.windowFor(channel);
    return window ? { window, history } : undefined;
  }

  /**
   * Undefined when the subscription is plain live delivery. Throws InvalidOptionError on a `since`
   * that is not a position (before anything is registered).
   */
  plan(topics: string | readonly string[], handler: unknown, options: SubscribeOptions): HistoryPlan | undefined {
    const since = options.since === undefined ? undefined : parsePosition(options.since);
    const channel = typeof topics === 'string' ? topics : topics.length === 1 ? topics[0] : undefined;
    // A glob resumes nothing: offsets count per channel.
    const found = channel === undefined || isChannelPattern(channel) ? undefined : this.windowFor(channel);
    if (!found || channel === undefined) {
      if (since === undefined) return undefined;
      const topic = typeof topics === 'string' ? topics : topics.join(',');
      const event: RecoveryEvent = { channel: topic, recovered: false, reason: 'no-history', replayed: 0 };
      return { handler: handler as HistoryPlan['handler'], options, open: (handle) => Promise.resolve(this.noHistory(handle, event, options)) };
    }
    const stream = new HistoryStream({
      channel,
      wire: this.parts.ns.wire(channel),
      ...found,
      policy: this.policy,
      serializer: this.parts.serializer,
      dispatcher: this.parts.dispatcher,
      report: this.parts.report,
      onRecovery: options.onRecovery,
    });
    // Holes are filled from history or reported through onRecovery: a sequence gap is no news here.
    const { onGap: _filled, ...registered } = options;
    return {
      handler: stream.receive,
      options: registered,
      open: async (handle, local) => {
        this.track(stream, handle);
        const recovery = await stream.open({ ...local, handler: handler as LocalSubscription['handler'] }, since);
        // The outcome of `since`, counted once per resume (a later catch-up's loss follows an outage, counted as such).
        if (recovery !== undefined && !recovery.recovered) this.parts.unrecovered?.();
        return this.wrap(handle, stream, recovery);
      },
    };
  }

  /** Remembers a resuming subscription; forgets those gone, each time the map doubled since the last sweep. */
  private track(stream: HistoryStream, handle: Subscription): void {
    this.streams.set(stream, handle);
    if (this.streams.size < this.sweepAt) return;
    for (const [s, h] of this.streams) if (s.closed || !h.active) this.streams.delete(s);
    this.sweepAt = Math.max(1024, this.streams.size * 2);
  }

  /** After the transport came back: every resuming subscription reads what it missed. */
  resubscribed(): void {
    for (const [stream, handle] of this.streams) {
      // Also gone when `pubsub.unsubscribe(channel)` removed it rather than its handle.
      if (!handle.active) stream.closed = true;
      if (stream.closed) this.streams.delete(stream);
      else void stream.catchUp();
    }
  }

  private noHistory(handle: Subscription, event: RecoveryEvent, options: SubscribeOptions): Subscription {
    this.parts.unrecovered?.();
    try {
      options.onRecovery?.(event);
    } catch (err) {
      this.parts.report('listener', err, { name: event.channel });
    }
    return withExtras(handle, { recovery: event });
  }

  private wrap(handle: Subscription, stream: HistoryStream, recovery: RecoveryEvent | undefined): Subscription {
    const close = handle.close.bind(handle);
    return withExtras(handle, {
      ...(recovery ? { recovery } : {}),
      position: () => stream.position,
      close: (options) => {
        stream.closed = true;
        this.streams.delete(stream);
        return close(options);
      },
    });
  }
}

/** The handle with `recovery`, a live `position` and a `close` that also ends the stream. */
function withExtras(
  handle: Subscription,
  extras: { recovery?: RecoveryEvent; position?: () => StreamPosition | undefined; close?: Subscription['close'] },
): Subscription {
  return {
    id: handle.id,
    topic: handle.topic,
    topics: handle.topics,
    get active() {
      return handle.active;
    },
    get position() {
      return extras.position?.();
    },
    ...(extras.recovery ? { recovery: extras.recovery } : {}),
    close: extras.close ?? ((options) => handle.close(options)),
  };
}
