/**
 * The PubSub adapter seam (owned by @events/pubsub; declared here so every tier's seam lives in
 * core). An adapter only carries bytes between processes: local dispatch, patterns, typing,
 * sequence numbers and gap detection are written once above it.
 */

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
}

export interface PubSubAdapter {
  /** Adapter kind, for diagnostics: `memory`, `redis`. */
  readonly kind: string;
  /** Starts the adapter; `handlers` receive everything the adapter hears from other processes. */
  start(handlers: PubSubAdapterHandlers): Promise<void>;
  /** Sends bytes to other processes; resolves to the number of remote receivers the transport reports. */
  publish(channel: string, data: Buffer): Promise<number>;
  /** Declares interest; resolves once the transport has confirmed it. `pattern` for globs. */
  subscribe(topic: string, kind: 'channel' | 'pattern'): Promise<void>;
  unsubscribe(topic: string, kind: 'channel' | 'pattern'): Promise<void>;
  close(): Promise<void>;
}
