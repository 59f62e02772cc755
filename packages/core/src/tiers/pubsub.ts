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
import type { CloseOptions } from '../lifecycle.js';

export interface PubSubAdapterMessage {
  /** The concrete channel the message was published to. */
  readonly channel: string;
  /** The pattern subscription that matched, when the message arrived through one. */
  readonly pattern?: string;
  readonly data: Buffer;
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
}
