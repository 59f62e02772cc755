/**
 * The client's public types: the options, the subscribe options and message meta, its events and
 * the client itself. Types only (the client runs in browsers as it is).
 */
import type { ErrorHook, Health, MessageMap, NameOf, SubscriptionHandle } from '@events/core';
import type { ChannelOf, MessageOf } from '../types.js';
import type { BufferPolicy } from '../websocket/protocol.js';
import type { TraceContextFields } from './trace-context.js';
import type { RecoveredEvent } from './history.js';
import type { ClientPresenceEvent, ClientPresenceSnapshot } from './presence-requests.js';

/** The part of the WebSocket interface the client uses (the browser's and `ws`'s both fit). */
export interface WebSocketLike {
  readonly readyState: number;
  send(data: string): void;
  close(code?: number, reason?: string): void;
  onopen: ((event: unknown) => void) | null;
  onmessage: ((event: { data: unknown }) => void) | null;
  onclose: ((event: { code: number; reason: string }) => void) | null;
  onerror: ((event: unknown) => void) | null;
}

export type WebSocketConstructor = new (url: string) => WebSocketLike;

export interface PubSubClientOptions {
  /**
   * `ws://host/pubsub` (the gateway's path), or several gateways of one application: the client
   * connects to the first and, each time its connection closes, reconnects to the next one of the
   * list (round robin), so the clients of a gateway that died move to the others by themselves.
   * Give each client the list in its own order (shuffled, or rotated) to spread them.
   */
  url: string | readonly string[];
  /** WebSocket implementation. Default: `globalThis.WebSocket` (browsers, Node 22+). */
  WebSocket?: WebSocketConstructor;
  /** Reconnect backoff, or `false` to stay closed. Default: 250 ms doubling up to 10 000 ms, with jitter. */
  reconnect?: { initialDelayMs?: number; maxDelayMs?: number } | false;
  /** Longest wait of `subscribe()` and `publish()` for the gateway's answer, and of `ready()` for a connection. Default: 10 000 ms. */
  timeoutMs?: number;
  /** Publishes waiting for the gateway's answer at once; one more is refused with `LIMIT` and not sent. Default: 100. */
  maxPendingPublishes?: number;
  /** Largest publish frame in bytes (the gateway closes a connection that sends a frame over its `maxPayloadBytes`); a bigger one is refused with `LIMIT` and not sent. Default: 16 384, the gateway's default. */
  maxPublishBytes?: number;
  /**
   * Error events (tier `client`), kinds: `handler` (a message handler threw), `decode` (a frame that
   * is not a protocol frame), `gateway` (an error frame with no waiting caller), `listener` (an
   * event listener threw). Must not throw. Default: console.error, at most 5 lines per kind per 10 s.
   */
  onError?: ErrorHook;
}

export interface ClientSubscribeOptions {
  /** What the server does when this client cannot keep up. Default: the gateway's (`drop-oldest`). */
  policy?: BufferPolicy;
  /** With `conflate`: payload field identifying a live value. Default: the channel. */
  key?: string;
  /** Be a member of the channel's presence while subscribed (a channel, not a glob); the gateway's `authorize` says how you appear. Default: false. */
  presence?: boolean;
  /** Receive the channel's `join` / `leave` events (the client's `join` and `leave` events). Default: false. */
  presenceEvents?: boolean;
}

export interface ClientMessageMeta<C extends string = string> {
  readonly channel: C;
  readonly topic: string;
  /** Envelope id. */
  readonly id: string;
  readonly occurredAt: string;
  /** On a channel with history: the message's place in it (the client resumes after it by itself). */
  readonly position?: { readonly offset: number; readonly epoch: string };
  /**
   * The W3C trace context of the broadcast that sent this message (its producer span), when the
   * server traced it: `traceparent` and, when there is one, `tracestate`, checked against the W3C
   * format. Continue the trace in the browser with OpenTelemetry's
   * `propagation.extract(context.active(), meta.trace)`. Absent when the message carries none.
   */
  readonly trace?: ClientMessageTrace;
}

/** A message's W3C trace context: `traceparent` (`00-<trace id>-<span id>-<flags>`) and `tracestate`. */
export type ClientMessageTrace = TraceContextFields;

export interface PubSubClientEvents {
  open: () => void;
  close: (event: { code: number; reason: string; willReconnect: boolean }) => void;
  dropped: (event: { topic: string; count: number }) => void;
  gap: (event: { topic: string; channel: string; missing: number }) => void;
  resubscribed: (event: { downAt: string; upAt: string }) => void;
  /** A member joined a channel subscribed with `presenceEvents`. */
  join: (event: ClientPresenceEvent) => void;
  /** A member left (`reason`: `left`, or `expired` when its gateway stopped). */
  leave: (event: ClientPresenceEvent) => void;
  /** After each reconnect, per subscription on a channel with history: every missed message came (`recovered`), or why not. */
  recovered: (event: RecoveredEvent) => void;
}

export interface PubSubClient<M extends MessageMap = MessageMap> {
  /**
   * Resolves once the gateway confirmed the subscription; rejects with GatewayError: refused
   * (`UNAUTHORIZED`, ...), `TIMEOUT` after `timeoutMs`, `CLOSED` when the client closes or the
   * connection ends without a reconnect to come.
   */
  subscribe<const T extends string>(
    topic: T,
    handler: (message: MessageOf<M, T>, meta: ClientMessageMeta<ChannelOf<M, T>>) => void,
    options?: ClientSubscribeOptions,
  ): Promise<SubscriptionHandle>;
  /**
   * Publishes `message` on `channel` through the gateway, where its `authorizePublish` allows it.
   * Resolves with the receiver count; rejects with GatewayError: refused by the gateway
   * (`PUBLISH_DISABLED`, `UNAUTHORIZED`, `INVALID_PAYLOAD`, `RATE_LIMITED`, `INVALID_NAME`,
   * `UNAVAILABLE`), or `LIMIT` (too many waiting, or too big: not sent), `DISCONNECTED`, `TIMEOUT`
   * after `timeoutMs` (default: the client's), `CLOSED`. At-most-once: it is never sent again.
   */
  publish<const C extends NameOf<M> & string>(channel: C, message: M[C], options?: { timeoutMs?: number }): Promise<number>;
  /**
   * Who is on `channel` (at most `limit`, default 100, and the total), where the gateway's
   * `authorize` allows the channel. Rejects with GatewayError: `UNAUTHORIZED`, `INVALID_NAME`,
   * `UNAVAILABLE`, `LIMIT` (100 requests already wait), `DISCONNECTED`, `TIMEOUT`, `CLOSED`.
   */
  presence(channel: string, options?: { limit?: number; timeoutMs?: number }): Promise<ClientPresenceSnapshot>;
  on<E extends keyof PubSubClientEvents>(event: E, listener: PubSubClientEvents[E]): () => void;
  readonly connected: boolean;
  /** The client connects when created; resolves at the first open connection (rejects after `timeoutMs`, or when closed). */
  start(): Promise<void>;
  ready(): Promise<void>;
  /** Counts: `topics`, `handlers`, `pendingSubscribes`, `pendingPublishes`, `reconnects`, `framesDropped` (as the gateway reported them). */
  health(): Health;
  /** Stops reconnecting, rejects pending subscribes, closes the socket; settles once it closed or after `timeoutMs` (default 5000 ms). Same promise on every call. */
  close(options?: { timeoutMs?: number }): Promise<void>;
}
