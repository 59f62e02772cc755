/**
 * A small typed client for the websocket gateway. Works in browsers (global WebSocket) and in Node
 * (pass `ws`'s WebSocket as `WebSocket`). Reconnects with capped exponential backoff and
 * resubscribes everything on each reconnect. Imports no Node built-ins.
 *
 * Not promised: messages sent while disconnected. The server keeps nothing; on reconnect the
 * `open` event fires again and the app refetches what it shows if it must be exact.
 */
import type { MessageMap } from '@events/core';
import type { ChannelOf, MessageOf } from '../types.js';
import type { BufferPolicy, ClientFrame, ErrorCode, ServerFrame } from '../websocket/protocol.js';

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
  /** `ws://host/pubsub` (the gateway's path). */
  url: string;
  /** WebSocket implementation. Default: `globalThis.WebSocket` (browsers, Node 22+). */
  WebSocket?: WebSocketConstructor;
  /** Reconnect backoff, or `false` to stay closed. Default: 250 ms doubling up to 10 000 ms, with jitter. */
  reconnect?: { initialDelayMs?: number; maxDelayMs?: number } | false;
}

export interface ClientSubscribeOptions {
  /** What the server does when this client cannot keep up. Default: the gateway's (`drop-oldest`). */
  policy?: BufferPolicy;
  /** With `conflate`: payload field identifying a live value. Default: the channel. */
  key?: string;
}

export interface ClientMessageMeta<C extends string = string> {
  readonly channel: C;
  readonly topic: string;
  /** Envelope id. */
  readonly id: string;
  readonly occurredAt: string;
}

/** An error frame from the gateway; `code` is one of the protocol's error codes. */
export class GatewayError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'GatewayError';
  }
}

export interface PubSubClientEvents {
  open: () => void;
  close: (event: { code: number; reason: string; willReconnect: boolean }) => void;
  dropped: (event: { topic: string; count: number }) => void;
  gap: (event: { topic: string; channel: string; missing: number }) => void;
  resubscribed: (event: { downAt: string; upAt: string }) => void;
  error: (error: Error) => void;
}

export interface PubSubClient<M extends MessageMap = MessageMap> {
  /** Resolves once the gateway confirmed the subscription; rejects with GatewayError (e.g. UNAUTHORIZED). */
  subscribe<const T extends string>(
    topic: T,
    handler: (message: MessageOf<M, T>, meta: ClientMessageMeta<ChannelOf<M, T>>) => void,
    options?: ClientSubscribeOptions,
  ): Promise<() => void>;
  on<E extends keyof PubSubClientEvents>(event: E, listener: PubSubClientEvents[E]): () => void;
  readonly connected: boolean;
  close(): void;
}

type AnyHandler = (message: unknown, meta: ClientMessageMeta) => void;

interface Topic {
  readonly handlers: Set<AnyHandler>;
  readonly options: ClientSubscribeOptions;
  confirmed: boolean;
  waiters: Array<{ resolve: () => void; reject: (err: Error) => void }>;
}

const OPEN = 1;

export function createPubSubClient<M extends MessageMap = MessageMap>(options: PubSubClientOptions): PubSubClient<M> {
  const Found = options.WebSocket ?? (globalThis as { WebSocket?: WebSocketConstructor }).WebSocket;
  if (!Found) throw new Error('no WebSocket implementation: pass one as options.WebSocket (e.g. the `ws` package in Node 20)');
  const Ctor: WebSocketConstructor = Found;
  const backoff = options.reconnect === false ? undefined : { initial: options.reconnect?.initialDelayMs ?? 250, max: options.reconnect?.maxDelayMs ?? 10_000 };
  const topics = new Map<string, Topic>();
  const listeners = new Map<keyof PubSubClientEvents, Set<(...args: never[]) => void>>();
  let socket: WebSocketLike | undefined;
  let closedByUser = false;
  let attempt = 0;
  let nextId = 1;
  let timer: ReturnType<typeof setTimeout> | undefined;

  function emit<E extends keyof PubSubClientEvents>(event: E, ...args: Parameters<PubSubClientEvents[E]>): void {
    for (const l of listeners.get(event) ?? []) {
      try {
        (l as (...a: typeof args) => void)(...args);
      } catch (err) {
        if (event !== 'error') emit('error', err as Error);
      }
    }
  }

  function send(frame: ClientFrame): void {
    if (socket?.readyState === OPEN) socket.send(JSON.stringify(frame));
  }

  function sendSubscribe(topic: string, entry: Topic): void {
    send({ type: 'subscribe', id: nextId++, topic, ...entry.options });
  }

  function connect(): void {
    const ws = new Ctor(options.url);
    socket = ws;
    ws.onopen = () => {
      attempt = 0;
      for (const [topic, entry] of topics) {
        entry.confirmed = false;
        sendSubscribe(topic, entry);
      }
      emit('open');
    };
    ws.onmessage = (event) => onFrame(event.data);
    ws.onerror = () => undefined; // onclose follows and carries what matters
    ws.onclose = (event) => {
      if (socket !== ws) return;
      socket = undefined;
      const willReconnect = !closedByUser && backoff !== undefined;
      emit('close', { code: event.code, reason: event.reason, willReconnect });
      if (!willReconnect) return;
      const delay = Math.min(backoff.max, backoff.initial * 2 ** attempt);
      attempt += 1;
      timer = setTimeout(connect, delay / 2 + (Math.random() * delay) / 2);
    };
  }

  function onFrame(data: unknown): void {
    let frame: ServerFrame;
    try {
      frame = JSON.parse(String(data)) as ServerFrame;
    } catch {
      emit('error', new Error('gateway sent a frame that is not JSON'));
      return;
    }
    switch (frame.type) {
      case 'message': {
        const entry = topics.get(frame.topic);
        const meta: ClientMessageMeta = { channel: frame.channel, topic: frame.topic, id: frame.id, occurredAt: frame.occurredAt };
        for (const handler of entry?.handlers ?? []) {
          try {
            handler(frame.data, meta);
          } catch (err) {
            emit('error', err as Error);
          }
        }
        return;
      }
      case 'subscribed': {
        const entry = topics.get(frame.topic);
        if (!entry) return;
        entry.confirmed = true;
        entry.waiters.splice(0).forEach((w) => w.resolve());
        return;
      }
      case 'error': {
        const error = new GatewayError(frame.code, frame.message);
        const entry = frame.topic === undefined ? undefined : topics.get(frame.topic);
        if (entry && !entry.confirmed) {
          // Refused (or failed) subscription: forget it; tell whoever waits, else the app.
          topics.delete(frame.topic!);
          const waiters = entry.waiters.splice(0);
          if (waiters.length > 0) waiters.forEach((w) => w.reject(error));
          else emit('error', error);
        } else emit('error', error);
        return;
      }
      case 'dropped':
        return emit('dropped', { topic: frame.topic, count: frame.count });
      case 'gap':
        return emit('gap', { topic: frame.topic, channel: frame.channel, missing: frame.missing });
      case 'resubscribed':
        return emit('resubscribed', { downAt: frame.downAt, upAt: frame.upAt });
      default:
        return;
    }
  }

  connect();

  return {
    get connected() {
      return socket?.readyState === OPEN;
    },
    subscribe(topic, handler, subscribeOptions = {}) {
      if (closedByUser) return Promise.reject(new Error('pubsub client is closed'));
      let entry = topics.get(topic);
      const fn = handler as AnyHandler;
      if (!entry) {
        entry = { handlers: new Set(), options: subscribeOptions, confirmed: false, waiters: [] };
        topics.set(topic, entry);
        sendSubscribe(topic, entry);
      }
      entry.handlers.add(fn);
      const current = entry;
      const unsubscribe = (): void => {
        current.handlers.delete(fn);
        if (current.handlers.size === 0 && topics.get(topic) === current) {
          topics.delete(topic);
          send({ type: 'unsubscribe', id: nextId++, topic });
        }
      };
      if (current.confirmed) return Promise.resolve(unsubscribe);
      return new Promise((resolve, reject) => current.waiters.push({ resolve: () => resolve(unsubscribe), reject }));
    },
    on(event, listener) {
      let set = listeners.get(event);
      if (!set) listeners.set(event, (set = new Set()));
      const fn = listener as (...args: never[]) => void;
      set.add(fn);
      return () => void set.delete(fn);
    },
    close() {
      closedByUser = true;
      clearTimeout(timer);
      for (const entry of topics.values()) entry.waiters.splice(0).forEach((w) => w.reject(new Error('pubsub client closed')));
      socket?.close(1000, 'client closing');
    },
  };
}
