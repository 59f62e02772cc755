/**
 * A small typed client for the websocket gateway. Works in browsers (global WebSocket) and in Node
 * (pass `ws`'s WebSocket as `WebSocket`). Reconnects with capped exponential backoff and
 * resubscribes everything on each reconnect. Imports no Node built-ins.
 *
 * Not promised: messages sent while disconnected. The server keeps nothing; on reconnect the
 * `open` event fires again and the app refetches what it shows if it must be exact.
 */
import type { Health, HandleCloseOptions, LifecyclePhase, MessageMap, SubscriptionHandle } from '@events/core';
import type { ClientFrame, ServerFrame } from '../websocket/protocol.js';
import { consoleHook, GatewayError } from './errors.js';
import { acceptMessage, answerRecovery, answerSubscribed, type Resumable, sinceOf } from './history.js';
import { PendingAnswers } from './pending-answers.js';
import { readTraceContext } from './trace-context.js';
import type { ClientPresenceSnapshot } from './presence-requests.js';
import type { ClientMessageMeta, ClientSubscribeOptions, PubSubClient, PubSubClientEvents, PubSubClientOptions, WebSocketConstructor, WebSocketLike } from './types.js';

export { GatewayError } from './errors.js';
export type { ClientMessageMeta, ClientSubscribeOptions, PubSubClient, PubSubClientEvents, PubSubClientOptions, WebSocketConstructor, WebSocketLike } from './types.js';

type AnyHandler = (message: unknown, meta: ClientMessageMeta) => void;

interface Waiter {
  resolve: () => void;
  reject: (err: Error) => void;
}

interface Topic extends Resumable {
  readonly handlers: Set<AnyHandler>;
  readonly options: ClientSubscribeOptions;
  confirmed: boolean;
  readonly waiters: Set<Waiter>;
}

const OPEN = 1;

export function createPubSubClient<M extends MessageMap = MessageMap>(options: PubSubClientOptions): PubSubClient<M> {
  const Found = options.WebSocket ?? (globalThis as { WebSocket?: WebSocketConstructor }).WebSocket;
  if (!Found) throw new Error('no WebSocket implementation: pass one as options.WebSocket (e.g. the `ws` package in Node 20)');
  const Ctor: WebSocketConstructor = Found;
  const backoff = options.reconnect === false ? undefined : { initial: options.reconnect?.initialDelayMs ?? 250, max: options.reconnect?.maxDelayMs ?? 10_000 };
  const timeoutMs = options.timeoutMs ?? 10_000;
  const urls: readonly string[] = typeof options.url === 'string' ? [options.url] : [...options.url];
  if (urls.length === 0 || urls.some((u) => typeof u !== 'string')) throw new Error('options.url must be a URL or a non-empty list of URLs');
  let urlIndex = 0;
  const hook = options.onError ?? consoleHook();
  const topics = new Map<string, Topic>();
  const listeners = new Map<keyof PubSubClientEvents, Set<(...args: never[]) => void>>();
  const openWaiters = new Set<Waiter>();
  const maxPublishBytes = options.maxPublishBytes ?? 16 * 1024;
  const publishes = new PendingAnswers<number>(options.maxPendingPublishes ?? 100);
  const presenceRequests = new PendingAnswers<ClientPresenceSnapshot>(100);
  let socket: WebSocketLike | undefined;
  let phase: LifecyclePhase = 'starting';
  let lastError: Health['lastError'];
  let closing: Promise<void> | undefined;
  let onClosed: (() => void) | undefined;
  let attempt = 0;
  let reconnects = 0;
  let framesDropped = 0;
  let nextId = 1;
  let timer: ReturnType<typeof setTimeout> | undefined;

  function report(kind: string, error: unknown, name?: string): void {
    const err = error instanceof Error ? error : new Error(String(error));
    lastError = { kind, message: err.message, at: new Date() };
    try {
      hook({ tier: 'client', kind, error: err, ...(name !== undefined ? { name } : {}) });
    } catch {
      // a hook must not throw; if it does, it must not take the client down
    }
  }

  function emit<E extends keyof PubSubClientEvents>(event: E, ...args: Parameters<PubSubClientEvents[E]>): void {
    for (const l of listeners.get(event) ?? []) {
      try {
        (l as (...a: typeof args) => void)(...args);
      } catch (err) {
        report('listener', err);
      }
    }
  }

  /** A wait for `set` to be settled, with the client's deadline. */
  function waitIn(set: Set<Waiter>, what: string): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const waiter: Waiter = {
        resolve: () => {
          clearTimeout(deadline);
          set.delete(waiter);
          resolve();
        },
        reject: (err) => {
          clearTimeout(deadline);
          set.delete(waiter);
          reject(err);
        },
      };
      const deadline = setTimeout(() => waiter.reject(new GatewayError('TIMEOUT', `${what}: no answer within ${timeoutMs} ms`)), timeoutMs);
      set.add(waiter);
    });
  }

  function rejectAll(error: GatewayError): void {
    for (const w of [...openWaiters]) w.reject(error);
    publishes.rejectAll(error);
    presenceRequests.rejectAll(error);
    for (const [topic, entry] of topics) {
      if (entry.confirmed || entry.waiters.size === 0) continue;
      for (const w of [...entry.waiters]) w.reject(error);
      // Nobody holds this unconfirmed subscription: do not resubscribe it later.
      topics.delete(topic);
    }
  }

  function send(frame: ClientFrame): void {
    if (socket?.readyState === OPEN) socket.send(JSON.stringify(frame));
  }

  function sendSubscribe(topic: string, entry: Topic): void {
    send({ type: 'subscribe', id: nextId++, topic, ...entry.options, ...sinceOf(entry) });
  }

  function connect(): void {
    let ws: WebSocketLike;
    const url = urls[urlIndex]!;
    try {
      ws = new Ctor(url);
    } catch (err) {
      // A malformed URL: no connection will ever come.
      report('transport', err);
      phase = 'failed';
      rejectAll(new GatewayError('CLOSED', `cannot connect to ${url}: ${(err as Error).message}`));
      return;
    }
    socket = ws;
    // Every listener catches what it calls: nothing of ours throws into the page's (or Node's) event loop.
    ws.onopen = () => guarded(() => {
      attempt = 0;
      if (phase === 'starting' || phase === 'failed') phase = 'ready';
      for (const [topic, entry] of topics) {
        entry.confirmed = false;
        sendSubscribe(topic, entry);
      }
      for (const w of [...openWaiters]) w.resolve();
      emit('open');
    });
    ws.onmessage = (event) => guarded(() => onFrame(event.data));
    ws.onerror = () => undefined; // onclose follows and carries what matters
    ws.onclose = (event) => guarded(() => {
      if (socket !== ws) return;
      socket = undefined;
      publishes.rejectAll(new GatewayError('DISCONNECTED', 'connection lost before the gateway answered: the message may or may not have been published'));
      presenceRequests.rejectAll(new GatewayError('DISCONNECTED', 'connection lost before the gateway answered the presence request'));
      const willReconnect = closing === undefined && backoff !== undefined;
      emit('close', { code: event.code, reason: event.reason, willReconnect });
      if (closing !== undefined) return onClosed?.();
      if (!willReconnect) {
        phase = 'closed';
        rejectAll(new GatewayError('CLOSED', `connection closed (${event.code}${event.reason ? ` ${event.reason}` : ''}) and reconnect is off`));
        return;
      }
      const delay = Math.min(backoff.max, backoff.initial * 2 ** attempt);
      attempt += 1;
      reconnects += 1;
      urlIndex = (urlIndex + 1) % urls.length;
      timer = setTimeout(connect, delay / 2 + (Math.random() * delay) / 2);
    });
  }

  function guarded(fn: () => void): void {
    try {
      fn();
    } catch (err) {
      report('listener', err);
    }
  }

  function onFrame(data: unknown): void {
    let frame: ServerFrame;
    try {
      frame = JSON.parse(String(data)) as ServerFrame;
    } catch {
      return report('decode', new Error('gateway sent a frame that is not JSON'));
    }
    if (typeof frame !== 'object' || frame === null || typeof (frame as { type?: unknown }).type !== 'string') {
      return report('decode', new Error('gateway sent a frame that is not a protocol object'));
    }
    switch (frame.type) {
      case 'message': {
        const entry = topics.get(frame.topic);
        const position = acceptMessage(entry, frame);
        if (position === false) return; // already had it (resumed across a reconnect)
        const trace = frame.traceparent === undefined ? undefined : readTraceContext(frame.traceparent, frame.tracestate);
        const meta: ClientMessageMeta = { channel: frame.channel, topic: frame.topic, id: frame.id, occurredAt: frame.occurredAt, ...(position ? { position } : {}), ...(trace ? { trace } : {}) };
        for (const handler of entry?.handlers ?? []) {
          try {
            handler(frame.data, meta);
          } catch (err) {
            report('handler', err, frame.channel);
          }
        }
        return;
      }
      case 'presence':
        presenceRequests.resolve(frame.id, { channel: frame.channel, members: frame.members, total: frame.total, truncated: frame.truncated });
        return;
      case 'join':
        return emit('join', { topic: frame.topic, channel: frame.channel, member: frame.member });
      case 'leave':
        return emit('leave', { topic: frame.topic, channel: frame.channel, member: frame.member, ...(frame.reason !== undefined ? { reason: frame.reason } : {}) });
      case 'published':
        publishes.resolve(frame.id, Number(frame.receivers) || 0);
        return;
      case 'subscribed': {
        const entry = topics.get(frame.topic);
        if (!entry) return;
        entry.confirmed = true;
        const recovered = answerSubscribed(entry, frame);
        for (const w of [...entry.waiters]) w.resolve();
        if (recovered) emit('recovered', recovered);
        return;
      }
      case 'recovery':
        return emit('recovered', answerRecovery(topics.get(frame.topic), frame));
      case 'error': {
        const error = new GatewayError(frame.code, String(frame.message));
        if (typeof frame.topic !== 'string' && frame.id !== undefined && publishes.reject(frame.id, error)) return;
        if (typeof frame.topic !== 'string' && frame.id !== undefined && presenceRequests.reject(frame.id, error)) return;
        const entry = typeof frame.topic === 'string' ? topics.get(frame.topic) : undefined;
        if (entry && !entry.confirmed) {
          // Refused (or failed) subscription: forget it; tell whoever waits, else the app.
          topics.delete(frame.topic!);
          if (entry.waiters.size > 0) for (const w of [...entry.waiters]) w.reject(error);
          else report('gateway', error, frame.topic);
        } else report('gateway', error, frame.topic);
        return;
      }
      case 'dropped':
        framesDropped += Number(frame.count) || 0;
        return emit('dropped', { topic: frame.topic, count: frame.count });
      case 'gap':
        return emit('gap', { topic: frame.topic, channel: frame.channel, missing: frame.missing });
      case 'resubscribed':
        return emit('resubscribed', { downAt: frame.downAt, upAt: frame.upAt });
      default:
        return;
    }
  }

  function handleFor(topic: string, entry: Topic, fn: AnyHandler): SubscriptionHandle {
    let closed: Promise<void> | undefined;
    return {
      id: `${topic}#${nextId++}`,
      topic,
      get active() {
        return closed === undefined && topics.get(topic) === entry && entry.handlers.has(fn);
      },
      close(_options?: HandleCloseOptions) {
        // Messages are handled synchronously: there is nothing in flight to drain.
        return (closed ??= (() => {
          entry.handlers.delete(fn);
          if (entry.handlers.size === 0 && topics.get(topic) === entry) {
            topics.delete(topic);
            send({ type: 'unsubscribe', id: nextId++, topic });
          }
          return Promise.resolve();
        })());
      },
    };
  }

  connect();

  const client: PubSubClient<M> = {
    get connected() {
      return socket?.readyState === OPEN;
    },
    subscribe(topic, handler, subscribeOptions = {}) {
      if (closing !== undefined || phase === 'closed') return Promise.reject(new GatewayError('CLOSED', 'pubsub client is closed'));
      let entry = topics.get(topic);
      const fn = handler as AnyHandler;
      if (!entry) {
        entry = { handlers: new Set(), options: subscribeOptions, confirmed: false, waiters: new Set() };
        topics.set(topic, entry);
        sendSubscribe(topic, entry);
      }
      entry.handlers.add(fn);
      const handle = handleFor(topic, entry, fn);
      if (entry.confirmed) return Promise.resolve(handle);
      return waitIn(entry.waiters, `subscribe "${topic}"`).then(
        () => handle,
        (err: unknown) => {
          void handle.close();
          throw err;
        },
      );
    },
    publish(channel, message, publishOptions = {}) {
      if (closing !== undefined || phase === 'closed') return Promise.reject(new GatewayError('CLOSED', 'pubsub client is closed'));
      const current = socket;
      if (current?.readyState !== OPEN) return Promise.reject(new GatewayError('DISCONNECTED', 'not connected to the gateway: nothing was sent'));
      if (!publishes.hasRoom()) return Promise.reject(new GatewayError('LIMIT', `${publishes.size} publishes already wait for an answer (maxPendingPublishes): not sent`));
      if (message === undefined) return Promise.reject(new GatewayError('INVALID_PAYLOAD', 'a message cannot be undefined'));
      const id = nextId++;
      let text: string;
      try {
        text = JSON.stringify({ type: 'publish', id, channel, data: message } satisfies ClientFrame);
      } catch (err) {
        return Promise.reject(new GatewayError('INVALID_PAYLOAD', `the message cannot be sent as JSON: ${(err as Error).message}`));
      }
      // Three bytes per UTF-16 unit at most: measure only when it might be too big.
      if (text.length * 3 > maxPublishBytes && new TextEncoder().encode(text).length > maxPublishBytes) {
        return Promise.reject(new GatewayError('LIMIT', `the publish frame is over ${maxPublishBytes} bytes (maxPublishBytes): not sent`));
      }
      const wait = publishOptions.timeoutMs ?? timeoutMs;
      const answer = publishes.wait(id, wait, () => new GatewayError('TIMEOUT', `publish on "${channel}": no answer within ${wait} ms`));
      try {
        current.send(text);
      } catch (err) {
        publishes.reject(id, new GatewayError('DISCONNECTED', `could not send: ${(err as Error).message}`));
      }
      return answer;
    },
    presence(channel, presenceOptions = {}) {
      if (closing !== undefined || phase === 'closed') return Promise.reject(new GatewayError('CLOSED', 'pubsub client is closed'));
      const current = socket;
      if (current?.readyState !== OPEN) return Promise.reject(new GatewayError('DISCONNECTED', 'not connected to the gateway'));
      if (!presenceRequests.hasRoom()) return Promise.reject(new GatewayError('LIMIT', `${presenceRequests.size} presence requests already wait for an answer`));
      const id = nextId++;
      const wait = presenceOptions.timeoutMs ?? timeoutMs;
      const answer = presenceRequests.wait(id, wait, () => new GatewayError('TIMEOUT', `presence of "${channel}": no answer within ${wait} ms`));
      const frame: ClientFrame = { type: 'presence', id, channel, ...(presenceOptions.limit !== undefined ? { limit: presenceOptions.limit } : {}) };
      try {
        current.send(JSON.stringify(frame));
      } catch (err) {
        presenceRequests.reject(id, new GatewayError('DISCONNECTED', `could not send: ${(err as Error).message}`));
      }
      return answer;
    },
    on(event, listener) {
      let set = listeners.get(event);
      if (!set) listeners.set(event, (set = new Set()));
      const fn = listener as (...args: never[]) => void;
      set.add(fn);
      return () => void set.delete(fn);
    },
    start() {
      if (closing !== undefined || phase === 'closed') return Promise.reject(new GatewayError('CLOSED', 'pubsub client is closed'));
      if (socket?.readyState === OPEN) return Promise.resolve();
      return waitIn(openWaiters, `connect to ${urls.join(', ')}`);
    },
    ready: () => client.start(),
    health() {
      let handlers = 0;
      let pendingSubscribes = 0;
      for (const entry of topics.values()) {
        handlers += entry.handlers.size;
        pendingSubscribes += entry.waiters.size;
      }
      return {
        phase,
        connected: socket?.readyState === OPEN,
        ...(lastError ? { lastError } : {}),
        counts: { topics: topics.size, handlers, pendingSubscribes, pendingPublishes: publishes.size, reconnects, framesDropped },
      };
    },
    close(closeOptions = {}) {
      if (closing) return closing;
      phase = 'closing';
      clearTimeout(timer);
      rejectAll(new GatewayError('CLOSED', 'pubsub client closed'));
      const current = socket;
      closing = new Promise<void>((resolve) => {
        if (!current) return resolve();
        const deadline = setTimeout(resolve, closeOptions.timeoutMs ?? 5000);
        onClosed = () => {
          clearTimeout(deadline);
          resolve();
        };
        try {
          current.close(1000, 'client closing');
        } catch {
          resolve();
        }
      }).then(() => {
        socket = undefined;
        phase = 'closed';
      });
      return closing;
    },
  };
  return client;
}
