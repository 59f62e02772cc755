/**
 * A websocket gateway on `ws` over a PubSub: browsers subscribe to channels and globs with the JSON
 * protocol of protocol.ts, the `authorize` hook decides every subscription (patterns included), and
 * each client has a bounded send buffer with a policy per subscription, so a slow client costs a
 * bounded amount of memory and never slows anyone else. The gateway only pushes; clients do not publish.
 */
import type { IncomingMessage, Server } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type WebSocket } from 'ws';
import { compileChannelPattern, type Envelope, isChannelPattern, type MessageMap, validateChannelName } from '@events/core';
import { type InternalSubscribeOptions, SHARE_ENVELOPE } from '../internal.js';
import type { ErrorHook, PubSub } from '../types.js';
import { BUFFER_POLICIES, type BufferPolicy, CLOSE_CODES, type ClientFrame, type ErrorCode, type ServerFrame } from './protocol.js';
import { type Frame, SendQueue, type QueueOwner, type SendQueueLimits, type SendQueueStats } from './send-queue.js';

export interface WebSocketGatewayOptions<M extends MessageMap = MessageMap> {
  pubsub: PubSub<M>;
  /** The HTTP server to attach to (its `upgrade` event); the gateway never closes it. */
  server: Server;
  /** URL path of the websocket endpoint. Default: `/pubsub`. */
  path?: string;
  /**
   * Decides whether the client behind `request` may subscribe to `topic` (a channel or a glob).
   * Check globs with care: see `topicWithinPrefix`. Default: every subscription is allowed.
   */
  authorize?: (request: IncomingMessage, topic: string) => boolean | Promise<boolean>;
  /** Largest frame a client may send, in bytes; a bigger one closes it with 1009. Default: 16 KiB. */
  maxPayloadBytes?: number;
  /** Ping interval; a client that has not answered the previous ping is dropped. Default: 30 000 ms. */
  heartbeatMs?: number;
  /** Per-client send buffer bounds. Default: 1000 messages, 1 MiB queued, 256 KiB in the socket. */
  buffer?: SendQueueLimits;
  /** Policy of a subscription that names none. Default: `drop-oldest`. */
  defaultPolicy?: BufferPolicy;
  /** Subscriptions one client may hold. Default: 100. */
  maxSubscriptionsPerClient?: number;
  /** After closing a slow client, how long to wait for the close handshake before cutting it. Default: 5000 ms. */
  closeTimeoutMs?: number;
  /** Authorize hooks that throw, and other unexpected failures. Default: console.error. */
  onError?: ErrorHook;
}

export interface GatewayClientStats extends SendQueueStats {
  readonly id: number;
  readonly topics: readonly string[];
}

export interface WebSocketGateway {
  /** Live clients with their buffer figures. */
  clients(): GatewayClientStats[];
  /** Closes every client with 1001 and detaches from the HTTP server (which stays open). */
  close(): Promise<void>;
}

/** True when every channel `topic` can match starts with `prefix` (use it in `authorize` for tenant isolation). */
export function topicWithinPrefix(topic: string, prefix: string): boolean {
  return !isChannelPattern(prefix) && topic.startsWith(prefix);
}

interface ClientSub extends QueueOwner {
  readonly topic: string;
  readonly key: string | undefined;
  unsubscribe?: () => Promise<void>;
}

interface Client {
  readonly id: number;
  readonly ws: WebSocket;
  /** The upgraded TCP (or TLS) socket under `ws`, corked while a burst of frames is written. */
  readonly socket: Duplex;
  corked: boolean;
  readonly request: IncomingMessage;
  readonly queue: SendQueue;
  readonly subs: Map<string, ClientSub>;
  alive: boolean;
  closed: boolean;
  chain: Promise<void>;
}

export function createWebSocketGateway<M extends MessageMap>(options: WebSocketGatewayOptions<M>): WebSocketGateway {
  const pubsub = options.pubsub as unknown as PubSub;
  const path = options.path ?? '/pubsub';
  const defaultPolicy = options.defaultPolicy ?? 'drop-oldest';
  const maxSubs = options.maxSubscriptionsPerClient ?? 100;
  const closeTimeoutMs = options.closeTimeoutMs ?? 5000;
  const onError: ErrorHook = options.onError ?? ((error, context) => console.error(`[@events/pubsub websocket] ${context.kind}:`, error));
  const wss = new WebSocketServer({ noServer: true, maxPayload: options.maxPayloadBytes ?? 16 * 1024 });
  const clients = new Set<Client>();
  // One envelope goes to many clients, one after the other within one dispatch: its frame is built
  // once per subscription topic, as UTF-8 bytes that every client's socket shares. Only the
  // envelope being dispatched is kept.
  let framed: Envelope | undefined;
  const frames = new Map<string, Buffer>();
  let nextId = 1;

  const onUpgrade = (request: IncomingMessage, socket: Duplex, head: Buffer): void => {
    const url = new URL(request.url ?? '/', 'http://localhost');
    if (url.pathname !== path) return; // another upgrade handler's business
    wss.handleUpgrade(request, socket, head, (ws) => accept(ws, request, socket));
  };
  options.server.on('upgrade', onUpgrade);

  const heartbeat = setInterval(() => {
    for (const client of clients) {
      if (!client.alive) {
        drop(client);
        client.ws.terminate();
        continue;
      }
      client.alive = false;
      client.ws.ping();
    }
  }, options.heartbeatMs ?? 30_000);
  heartbeat.unref();

  const offResubscribed = pubsub.on('resubscribed', (e) => {
    const frame = JSON.stringify({ type: 'resubscribed', downAt: e.downAt.toISOString(), upAt: e.upAt.toISOString() } satisfies ServerFrame);
    for (const client of clients) if (client.subs.size > 0) client.queue.push(frame);
  });

  // Frames written to a client within one tick leave in one writev instead of one syscall each:
  // its socket is corked at the first frame and uncorked on the next tick, for every client at once.
  // The corked bytes count in ws' bufferedAmount, so the send-buffer bounds still hold.
  const corked: Client[] = [];
  const uncorkAll = (): void => {
    for (const client of corked) {
      client.corked = false;
      client.socket.uncork();
    }
    corked.length = 0;
  };
  function cork(client: Client): void {
    if (client.corked) return;
    client.corked = true;
    client.socket.cork();
    if (corked.push(client) === 1) process.nextTick(uncorkAll);
  }

  function accept(ws: WebSocket, request: IncomingMessage, socket: Duplex): void {
    const client: Client = {
      id: nextId++,
      ws,
      socket,
      corked: false,
      request,
      subs: new Map(),
      alive: true,
      closed: false,
      chain: Promise.resolve(),
      queue: new SendQueue(
        {
          write: (frame, done) => {
            cork(client);
            ws.send(frame, TEXT, done);
          },
          buffered: () => ws.bufferedAmount,
        },
        options.buffer,
      ),
    };
    clients.add(client);
    ws.on('pong', () => (client.alive = true));
    ws.on('close', () => drop(client));
    ws.on('error', () => drop(client)); // e.g. an oversized frame: ws closes it with 1009 itself
    ws.on('message', (data, isBinary) => {
      if (isBinary) return protocolError(client, CLOSE_CODES.UNSUPPORTED_DATA, 'binary frames are not supported');
      let frame: ClientFrame;
      try {
        frame = parseFrame(String(data));
      } catch (err) {
        return protocolError(client, CLOSE_CODES.PROTOCOL_ERROR, (err as Error).message);
      }
      // One frame at a time per client, so "subscribe x" then "unsubscribe x" cannot cross while
      // the first waits for authorize or for Redis.
      client.chain = client.chain.then(() => handle(client, frame)).catch((err: unknown) => onError(err as Error, { kind: 'listener' }));
    });
  }

  function send(client: Client, frame: ServerFrame): void {
    if (!client.closed) client.queue.push(JSON.stringify(frame));
  }

  function fail(client: Client, error: { id: string | number; topic: string; code: ErrorCode; message: string }): void {
    send(client, { type: 'error', ...error });
  }

  async function handle(client: Client, frame: ClientFrame): Promise<void> {
    const { id, topic } = frame;
    if (frame.type === 'unsubscribe') {
      const sub = client.subs.get(topic);
      client.subs.delete(topic);
      await sub?.unsubscribe?.();
      return send(client, { type: 'unsubscribed', id, topic });
    }
    if (client.subs.has(topic)) return send(client, { type: 'subscribed', id, topic });
    if (client.subs.size >= maxSubs) return fail(client, { id, topic, code: 'LIMIT', message: `at most ${maxSubs} subscriptions per connection` });
    try {
      if (isChannelPattern(topic)) compileChannelPattern(topic);
      else validateChannelName(topic);
    } catch (err) {
      return fail(client, { id, topic, code: isChannelPattern(topic) ? 'INVALID_PATTERN' : 'INVALID_NAME', message: (err as Error).message });
    }
    let allowed = true;
    try {
      allowed = options.authorize ? (await options.authorize(client.request, topic)) === true : true;
    } catch (err) {
      onError(err as Error, { kind: 'listener', topic });
      allowed = false;
    }
    if (!allowed) return fail(client, { id, topic, code: 'UNAUTHORIZED', message: `not authorized to subscribe to "${topic}"` });
    if (client.closed || client.subs.has(topic)) return;
    const sub: ClientSub = {
      topic,
      policy: frame.policy ?? defaultPolicy,
      key: frame.key,
      dropped: 0,
      notice: () => JSON.stringify({ type: 'dropped', topic, count: sub.dropped } satisfies ServerFrame),
    };
    client.subs.set(topic, sub);
    // deliver() only serializes the envelope into a frame at once, so it may share the sender's.
    const subscribeOptions: InternalSubscribeOptions = {
      onGap: (gap) => send(client, { type: 'gap', topic, channel: gap.channel, missing: gap.missing }),
      [SHARE_ENVELOPE]: true,
    };
    try {
      sub.unsubscribe = await pubsub.subscribe(topic, (_payload, meta) => deliver(client, sub, meta.envelope), subscribeOptions);
    } catch (err) {
      client.subs.delete(topic);
      return fail(client, { id, topic, code: 'UNAVAILABLE', message: (err as Error).message });
    }
    // The client left (or unsubscribed) while we waited for the transport.
    if (client.closed || client.subs.get(topic) !== sub) return void (await sub.unsubscribe());
    send(client, { type: 'subscribed', id, topic });
  }

  function frameOf(envelope: Envelope, topic: string): Frame {
    if (envelope !== framed) {
      framed = envelope;
      frames.clear();
    }
    let frame = frames.get(topic);
    if (frame === undefined) {
      const message: ServerFrame = { type: 'message', topic, channel: envelope.name, id: envelope.id, occurredAt: envelope.occurredAt, data: envelope.payload };
      frames.set(topic, (frame = Buffer.from(JSON.stringify(message))));
    }
    return frame;
  }

  function deliver(client: Client, sub: ClientSub, envelope: Envelope): void {
    if (client.closed) return;
    const frame = frameOf(envelope, sub.topic);
    if (!client.queue.push(frame, sub, sub.policy === 'conflate' ? conflationKey(sub, envelope) : undefined)) {
      drop(client);
      client.ws.close(CLOSE_CODES.SLOW_CONSUMER, 'slow consumer: send buffer full');
      setTimeout(() => client.ws.terminate(), closeTimeoutMs).unref();
    }
  }

  function protocolError(client: Client, code: number, reason: string): void {
    drop(client);
    // Close reasons are limited to 123 bytes.
    client.ws.close(code, `protocol error: ${reason}`.slice(0, 120));
    setTimeout(() => client.ws.terminate(), closeTimeoutMs).unref();
  }

  /** Forgets a client at once: its subscriptions go and its buffer is released. */
  function drop(client: Client): void {
    if (client.closed) return;
    client.closed = true;
    clients.delete(client);
    client.queue.clear();
    for (const sub of client.subs.values()) void sub.unsubscribe?.().catch(() => undefined);
    client.subs.clear();
  }

  return {
    clients: () => [...clients].map((c) => ({ id: c.id, topics: [...c.subs.keys()], ...c.queue.stats() })),
    async close() {
      clearInterval(heartbeat);
      offResubscribed();
      options.server.off('upgrade', onUpgrade);
      for (const client of [...clients]) {
        drop(client);
        client.ws.close(CLOSE_CODES.GOING_AWAY, 'gateway closing');
      }
      await new Promise<void>((resolve) => wss.close(() => resolve()));
    },
  };
}

/** Frames are sent as text, also when they are the shared UTF-8 bytes of one message. */
const TEXT = { binary: false } as const;

function conflationKey(sub: ClientSub, envelope: Envelope): string | undefined {
  if (sub.key === undefined) return envelope.name;
  const payload = envelope.payload;
  const value = typeof payload === 'object' && payload !== null ? (payload as Record<string, unknown>)[sub.key] : undefined;
  return `${envelope.name}\u0000${JSON.stringify(value ?? null)}`;
}

function parseFrame(text: string): ClientFrame {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new Error('frame is not JSON');
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new Error('frame is not a JSON object');
  const frame = value as Record<string, unknown>;
  if (frame.type !== 'subscribe' && frame.type !== 'unsubscribe') throw new Error(`unknown frame type ${JSON.stringify(frame.type)}`);
  if (typeof frame.id !== 'string' && typeof frame.id !== 'number') throw new Error('"id" must be a string or a number');
  if (typeof frame.topic !== 'string') throw new Error('"topic" must be a string');
  if (frame.type === 'subscribe') {
    if (frame.policy !== undefined && !BUFFER_POLICIES.includes(frame.policy as BufferPolicy)) {
      throw new Error(`"policy" must be one of ${BUFFER_POLICIES.join(', ')}`);
    }
    if (frame.key !== undefined && typeof frame.key !== 'string') throw new Error('"key" must be a string');
  }
  return frame as ClientFrame;
}
