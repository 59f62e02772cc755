/**
 * Public types of the PubSub tier. A channel map (`{ 'user:${string}:notifications': { text: string } }`)
 * types every call site; without one any channel carries `unknown`.
 */
import type { ChannelsMatching, CloseOptions, Envelope, Headers, Health, Lifecycle, MessageMap, NameOf, PubSubStreamPosition, SubscriptionHandle, TracingMode } from '@events/core';

import type { PresenceEvent, PresenceHandle, PresenceInfo, PresenceListOptions, PresenceSnapshot } from './presence-types.js';

export type * from './presence-types.js';

/** Channels of M a subscription topic (a channel or a glob) can deliver. */
export type ChannelOf<M extends MessageMap, T extends string> = string extends NameOf<M>
  ? string
  : ChannelsMatching<M, T> & string;

/** The payload type a subscription topic can deliver. */
export type MessageOf<M extends MessageMap, T extends string> = string extends NameOf<M> ? M[string] : M[ChannelOf<M, T>];

/** A topic or a list of topics; a list types its handler with the union of what each delivers. */
export type Topics = string | readonly string[];
export type TopicOf<T extends Topics> = T extends readonly (infer X extends string)[] ? X : T & string;

export interface MessageMeta<C extends string = string> {
  /** The concrete channel the message was broadcast to. */
  readonly channel: C;
  /** The glob this subscription matched through; absent for a plain channel subscription. */
  readonly pattern?: string;
  /** The whole envelope as it travelled (headers carry the publishing node and sequence number). */
  readonly envelope: Envelope;
  /** The message's place in its channel's history; only on channels that keep history (see `history`). */
  readonly position?: StreamPosition;
}

/** A place in a channel's history: `offset` (from 1) within `epoch`. Pass it as `since` to resume. */
export type StreamPosition = PubSubStreamPosition;

/**
 * Why a resume could not deliver everything missed: `too-old` (part of it already left the history,
 * or more than `historyReplay.maxMessages` was missed), `epoch-changed` (the history was lost and
 * started again), `no-history` (the channel keeps none, or the topic is a glob), `unavailable` (the
 * history could not be read within `historyReplay.timeoutMs`).
 */
export type RecoveryFailure = 'too-old' | 'epoch-changed' | 'no-history' | 'unavailable';

/** The outcome of a resume (`since`) or of a catch-up from history after a transport outage. */
export interface RecoveryEvent {
  readonly channel: string;
  /** True when every message after the resumed position is (being) delivered, none twice. */
  readonly recovered: boolean;
  readonly reason?: RecoveryFailure;
  /** Messages taken from history. */
  readonly replayed: number;
  /** The position live delivery continues from (the newest replayed, or the history's top). */
  readonly position?: StreamPosition;
}

export type MessageHandler<M extends MessageMap, T extends string> = (
  message: MessageOf<M, T>,
  meta: MessageMeta<ChannelOf<M, T>>,
) => void | Promise<void>;

/** Sequence numbers of one publishing node on one channel jumped: `missing` messages may be lost. */
export interface GapEvent {
  readonly channel: string;
  /** The subscription topic (channel or glob) whose stream had the gap. */
  readonly topic: string;
  /** Node id of the publisher. */
  readonly node: string;
  readonly expected: number;
  readonly received: number;
  /** How many messages may be missing (`received - expected`). */
  readonly missing: number;
}

/** The connection to the transport dropped and came back; anything broadcast in between is lost. */
export interface ResubscribedEvent {
  readonly downAt: Date;
  readonly upAt: Date;
  readonly outageMs: number;
}

export interface DownEvent {
  readonly at: Date;
  readonly error?: Error;
}

/**
 * `kind` of the error events this tier reports (tier `pubsub`): `handler` (a subscriber threw),
 * `decode` (bytes from the transport refused: not JSON, an envelope whose name is not its channel,
 * headers that are not strings, a forged `pubsub-seq`), `publish` (the remote part of a broadcast
 * failed), `reply` (a reply handler threw or its reply could not be sent), `request` (a request
 * named a reply channel outside the reply inbox), `transport`, `listener` (an event listener threw),
 * `close`, `presence` (a presence heartbeat or sweep failed; retried at the next heartbeat).
 */
export type PubSubErrorKind = 'handler' | 'decode' | 'publish' | 'reply' | 'request' | 'transport' | 'listener' | 'close' | 'presence';

export interface PubSubEvents {
  gap: (event: GapEvent) => void;
  down: (event: DownEvent) => void;
  resubscribed: (event: ResubscribedEvent) => void;
}

export interface SubscribeOptions {
  /** Called when this subscription's stream has a gap. Default: none (the `gap` event still fires). */
  onGap?: (event: GapEvent) => void;
  /** Called after the transport reconnected and this subscription is live again. Default: none. */
  onResubscribed?: (event: ResubscribedEvent) => void;
  /**
   * Resume a channel that keeps history: first every message after this position still in history,
   * then live ones, none missed at the seam and none twice. The outcome is `subscription.recovery`
   * (and `onRecovery`). Hostile input is refused with InvalidOptionError. Default: none (live only).
   */
  since?: StreamPosition;
  /**
   * Called with the outcome of `since`, before the replayed messages are handled, and each time the
   * subscription catches up from history after an outage of the transport. Default: none.
   */
  onRecovery?: (event: RecoveryEvent) => void;
}

/**
 * What `subscribe` and `reply` return: core's SubscriptionHandle. `id` names the subscription for
 * `broadcastFrom`; `topic` is the topics joined with `,`, `topics` the list.
 */
export interface Subscription extends SubscriptionHandle {
  readonly topics: readonly string[];
  /** On a channel with history: the position of the last message delivered (or where the subscription started). */
  readonly position?: StreamPosition;
  /** The outcome of `since`, when it was given. */
  readonly recovery?: RecoveryEvent;
}

export interface BroadcastOptions {
  /** Extra envelope headers (strings). Default: none. */
  headers?: Headers;
  /** Correlation id carried by the envelope. Default: none. */
  correlationId?: string;
  /**
   * Id of the message that caused this one (a bus event, a job), so a journey shows the broadcast
   * under its cause. `causedBy(envelope)` from @events/core gives both ids. Default: none.
   */
  causationId?: string;
}

export interface RequestOptions {
  /** How long to wait for the first reply. Default: the PubSub's `requestTimeoutMs` (5000 ms). */
  timeoutMs?: number;
  /** Ends the wait early: the request rejects with the signal's reason and leaves nothing waiting. */
  signal?: AbortSignal;
  /** Extra envelope headers. Default: none. */
  headers?: Headers;
}

export type ReplyHandler<M extends MessageMap, T extends string> = (
  message: MessageOf<M, T>,
  meta: MessageMeta<ChannelOf<M, T>>,
) => unknown;

export interface PubSub<M extends MessageMap = MessageMap> extends Lifecycle {
  /** Id of this node: stamped on every envelope it sends, so it never receives its own message twice. */
  readonly nodeId: string;
  /** Adapter kind (`memory`, `redis`). */
  readonly kind: string;
  /** The namespace every channel of this PubSub lives in on the transport (see PubSubOptions.namespace). */
  readonly namespace: string;
  /** How this PubSub traces its messages (PubSubOptions.tracing); a websocket gateway on it sends no trace context under `off`. */
  readonly tracing: TracingMode;
  /** Connects the adapter. Optional: every other method starts it on first use. Retried after a failure. */
  start(): Promise<void>;
  /** Resolves once started (starting if needed). */
  ready(): Promise<void>;
  /**
   * Phase, `connected` (false between a transport `down` and `resubscribed`), the last reported
   * error and counts: `subscriptions` (handlers), `topics`, `pendingRequests`, `repliesDropped`
   * (replies no request waited for: late, duplicate or forged), `inFlight` (async handlers running).
   */
  health(): Health;
  /** Sends to every subscriber of every node; resolves to how many received it (local handlers + remote subscriptions). */
  broadcast<K extends NameOf<M>>(channel: K, message: M[K], options?: BroadcastOptions): Promise<number>;
  /** Like broadcast, but skips the handlers of subscription `from` in this node (Phoenix `broadcast_from`). */
  broadcastFrom<K extends NameOf<M>>(from: Subscription | string, channel: K, message: M[K]): Promise<number>;
  /** Delivers to this node's subscribers only; nothing leaves the process. */
  localBroadcast<K extends NameOf<M>>(channel: K, message: M[K], options?: BroadcastOptions): Promise<number>;
  subscribe<const T extends Topics>(topics: T, handler: MessageHandler<M, TopicOf<T>>, options?: SubscribeOptions): Promise<Subscription>;
  /** Removes `handler` from `topic`, or every handler of `topic` when none is given. Prefer `handle.close()`. */
  unsubscribe(topic: string, handler?: (...args: never[]) => unknown): Promise<void>;
  /**
   * Sends `message` and resolves to the first reply; rejects with TimeoutError after `timeoutMs`,
   * with the signal's reason when aborted, and at once with BackpressureError when
   * `maxPendingRequests` requests already wait.
   */
  request<K extends NameOf<M>, R = unknown>(channel: K, message: M[K], options?: RequestOptions): Promise<R>;
  /** Answers requests on `topics`: the handler's (awaited) return value is sent back to the requester. */
  reply<const T extends Topics>(topics: T, handler: ReplyHandler<M, TopicOf<T>>): Promise<Subscription>;
  on<E extends keyof PubSubEvents>(event: E, listener: PubSubEvents[E]): () => void;
  /** Number of local handlers per topic (channel or glob). */
  subscriptions(): Map<string, number>;
  /**
   * Who is on `channel` across every node: at most `limit` members (default 100, at most
   * `presence.maxMembersPerCall`) and the total. Rejects with InvalidOptionError when the adapter
   * keeps no presence. See presence.ts for the promise.
   */
  presence<K extends NameOf<M>>(channel: K, options?: PresenceListOptions): Promise<PresenceSnapshot>;
  /**
   * Makes a member of `channel` (listed by `presence()` on every node, kept alive by this node's
   * heartbeat) and announces it with a `join` event. Rejects with InvalidOptionError when the member
   * is larger than `presence.maxInfoBytes`, BackpressureError past `presence.maxLocalMembers`.
   */
  join<K extends NameOf<M>>(channel: K, member?: PresenceInfo): Promise<PresenceHandle>;
  /** Join and leave events of `channel`, from every node; close the subscription to stop. */
  onPresence<K extends NameOf<M>>(channel: K, listener: (event: PresenceEvent) => void): Promise<Subscription>;
  /**
   * Stops intake at once (subscribe, reply, broadcast and request then reject with ClosedError),
   * rejects pending requests, lets running async handlers finish within `timeoutMs`, releases the
   * adapter. Every call returns the same promise.
   */
  close(options?: CloseOptions): Promise<void>;
}
