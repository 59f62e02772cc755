/**
 * The PubSub adapter seam (owned by @events/pubsub; declared here so every tier's seam lives in
 * core). An adapter only carries bytes between processes: local dispatch, interest reference
 * counting, patterns, typing, node ids, sequence numbers and gap detection are written once above it.
 *
 * Rules every adapter follows (the conformance suite in @events/pubsub checks them):
 * - `publish` delivers to OTHER nodes only and resolves to how many remote subscriptions received
 *   the bytes (a node subscribed to a channel and to a matching pattern counts twice, as in Redis).
 * - a message is handed to `handlers.message` once per matching subscription of this node, with
 *   `pattern` set when it arrived through a pattern subscription.
 * - `subscribe`/`unsubscribe` are called only on the first/last local interest (the layer above
 *   counts references); `subscribe` resolves once the transport confirmed it.
 * - after a lost connection the adapter resubscribes by itself and reports the outage window.
 * - lifecycle: the tier's lifecycle machine (createLifecycle) calls `start` once per attempt and,
 *   after a failed start, `close({ force: true })`; `close` releases every connection within
 *   `timeoutMs` (then cuts them) and never rejects for a connection that is already gone.
 */
import type { Envelope } from '../envelope.js';
import type { CloseOptions } from '../lifecycle.js';

export interface PubSubAdapterMessage {
  /** The concrete channel the message was published to. */
  readonly channel: string;
  /** The pattern subscription that matched, when the message arrived through one. */
  readonly pattern?: string;
  readonly data: Buffer;
  /**
   * The sender's envelope itself, from an in-process zero-copy sender (then `data` is empty): the
   * tier hands it to handlers as it is, never decoded (see PubSubInProcess).
   */
  readonly envelope?: Envelope;
  /** Where the message sits in its channel's history, when the channel keeps one (see PubSubAdapterHistory). */
  readonly position?: PubSubStreamPosition;
}

/** A message's place in a channel's history: `offset` counts from 1 within one `epoch`. */
export interface PubSubStreamPosition {
  readonly offset: number;
  /** Names one unbroken history of the channel; a new epoch means the history before it is gone. */
  readonly epoch: string;
}

/** How much history a channel keeps: the newest `size` messages, all gone `ttlMs` after the last write. */
export interface PubSubHistoryWindow {
  readonly size: number;
  readonly ttlMs: number;
}

/**
 * The epoch a history read reports for a channel that has no history now (never written, or
 * expired): reads never create one, so a reader cannot make keys for channels nobody publishes on.
 * A subscription at offset 0 of this epoch continues into whichever epoch the next write starts.
 * (Real epochs are 8 characters, so this one never names a real history.)
 */
export const EMPTY_HISTORY_EPOCH = '-';

export interface PubSubHistoryRead {
  /** The history's epoch; EMPTY_HISTORY_EPOCH (with top 0) when the channel has none now. */
  readonly epoch: string;
  /** Offset of the newest message in history (0 when the channel has none yet). */
  readonly top: number;
  /** Messages after the `after` offset asked for, oldest first, at most `limit`. */
  readonly entries: ReadonlyArray<{ readonly offset: number; readonly data: Buffer }>;
  /** Offset of the oldest message still held (top + 1 when none is). */
  readonly first: number;
}

/**
 * Optional members of an adapter that keeps per-channel history (both adapters of
 * @events/pubsub do). `publishWithHistory` stores and publishes in one atomic step: a message is
 * never live without being in history, nor the reverse.
 */
export interface PubSubAdapterHistory {
  publishWithHistory(channel: string, data: Buffer, window: PubSubHistoryWindow): Promise<{ readonly receivers: number; readonly position: PubSubStreamPosition }>;
  /**
   * Reads what follows `after` in the channel's history; rejects past `timeoutMs`. A channel with
   * no history yet gets a fresh epoch (kept for `window.ttlMs`), so the first message published
   * after this read belongs to the epoch the reader saw.
   */
  readHistory(
    channel: string,
    options: { readonly after: number; readonly limit: number; readonly timeoutMs: number; readonly window: PubSubHistoryWindow },
  ): Promise<PubSubHistoryRead>;
}

export type PubSubConnectionEvent =
  | { readonly type: 'down'; readonly at: number; readonly error?: Error }
  | { readonly type: 'resubscribed'; readonly downAt: number; readonly upAt: number };

export interface PubSubAdapterHandlers {
  message(message: PubSubAdapterMessage): void;
  connection(event: PubSubConnectionEvent): void;
  /** A transport error that did not fit anywhere else (it never stops the adapter). */
  error(error: Error): void;
}

export type PubSubTopicKind = 'channel' | 'pattern';

export interface PubSubAdapter {
  /** Adapter kind, for diagnostics: `memory`, `redis`. */
  readonly kind: string;
  /** Starts the adapter; `handlers` receive everything the adapter hears from other processes. */
  start(handlers: PubSubAdapterHandlers): Promise<void>;
  /** Sends bytes to other processes; resolves to the number of remote subscriptions that got them. */
  publish(channel: string, data: Buffer): Promise<number>;
  /** Declares interest; resolves once the transport has confirmed it. `pattern` for globs. */
  subscribe(topic: string, kind: PubSubTopicKind): Promise<void>;
  unsubscribe(topic: string, kind: PubSubTopicKind): Promise<void>;
  /** Releases the connections: politely within `timeoutMs` (default 10 000 ms), at once with `force`. */
  close(options?: CloseOptions): Promise<void>;
  /** Present when the adapter keeps channel history (see PubSubAdapterHistory). */
  readonly history?: PubSubAdapterHistory;
  /** Presence storage shared by every node of this transport; absent when the adapter keeps none. */
  readonly presence?: PubSubPresenceStore;
  /** Present on an adapter that never leaves the process (memoryPubSub): see PubSubInProcess. */
  readonly inProcess?: PubSubInProcess;
}

/**
 * The optional part of an in-process adapter. Its deliveries are synchronous, so the tier sends
 * through `send` (not `publish`) and makes bytes only when another node listens; with `zeroCopy`
 * it makes none: every handler receives the sender's envelope object.
 */
export interface PubSubInProcess {
  /** Handlers receive the sender's envelope object, never a copy (memoryPubSub({ zeroCopy: true })). */
  readonly zeroCopy: boolean;
  /** With `zeroCopy`: the tier deep-freezes each envelope before any handler sees it. */
  readonly freeze: boolean;
  /** How many subscriptions of other nodes a message on `channel` would reach now; throws when this node cannot send. */
  receivers(channel: string): number;
  /**
   * Delivers synchronously to the other nodes and returns how many subscriptions got it: `data`,
   * or with `zeroCopy` the `envelope` itself. Throws when this node cannot send.
   */
  send(channel: string, message: { readonly data: Buffer; readonly envelope?: Envelope }): number;
}

/** One presence member as stored: an id unique across nodes and its encoded description. */
export interface PubSubPresenceRecord {
  readonly id: string;
  readonly data: string;
}

/**
 * Who is on a channel (optional adapter part, used by the tier's presence layer). `key` is the
 * transport channel. Every member expires `ttlMs` after its node last wrote it, by the store's
 * clock (one clock for every node: Redis' own on Redis). Each call is atomic for its one key.
 */
export interface PubSubPresenceStore {
  /** Adds or refreshes members; resolves to the ids that were not stored before (new members). */
  upsert(key: string, members: readonly PubSubPresenceRecord[], ttlMs: number): Promise<string[]>;
  /** Removes members; resolves to those that were stored. */
  remove(key: string, ids: readonly string[]): Promise<PubSubPresenceRecord[]>;
  /**
   * Live members (at most `limit`) and how many there are; first removes up to `maxSweep` expired
   * members and resolves to them as `expired` (the caller announces them as gone).
   */
  list(key: string, limit: number, maxSweep: number): Promise<{ members: PubSubPresenceRecord[]; total: number; expired: PubSubPresenceRecord[] }>;
}
