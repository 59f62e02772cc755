/**
 * A websocket gateway on `ws` over a PubSub: browsers subscribe to channels and globs with the JSON
 * protocol of protocol.ts. Closed by default: without an `authorize` hook every subscription is
 * refused (unless `insecure: true`), a browser page of another site cannot connect (Origin), and
 * every cost a client can cause is bounded: connections, frames per second, frames waiting for
 * `authorize`, subscriptions, and a send buffer with a policy per subscription (room is kept for
 * control replies). No listener of ours throws into the event loop: failures go to `onError`.
 * Clients publish only where `authorizePublish` allows it (off by default; see publish.ts).
 */
import type { IncomingMessage, Server } from 'node:http';
import type { Duplex } from 'node:stream';
import { type ServerOptions, WebSocketServer, type WebSocket } from 'ws';
import {
  type CloseOptions,
  createErrorReporter,
  createLifecycle,
  type Envelope,
  type ErrorHook,
  type Health,
  isChannelPattern,
  type Lifecycle,
  type MessageMap,
} from '@events/core';
import type { PubSub } from '../types.js';
import { createClientSession, type ClientSession, type SessionHost } from './session.js';
import type { AuthorizeResult } from './session-presence.js';
import { type BufferPolicy, CLOSE_CODES, type FramePosition, type ServerFrame } from './protocol.js';
import type { SendQueueLimits, SendQueueStats } from './send-queue.js';
import { FanOutScheduler, type FanOutOptions, forEachSliced } from './fan-out.js';
import { framed } from './wire-frame.js';
import { TopicGroups } from './topic-groups.js';
import { createFollows } from './session-follow.js';
import { PresenceGroups } from './presence-groups.js';
import { type AllowedOrigins, judgeUpgrade, refuseUpgrade } from './upgrade.js';
import { addTraceContext, createGatewayTelemetry } from './telemetry.js';
import { type AuthorizePublish, type PublishRate, type PublishSchema, resolvePublishRate } from './publish.js';

export interface AuthorizeContext {
  /** Aborted when the client leaves or `authorizeTimeoutMs` passes: stop the lookup then. */
  readonly signal: AbortSignal;
}

export interface WebSocketGatewayOptions<M extends MessageMap = MessageMap> {
  pubsub: PubSub<M>;
  /** The HTTP server to attach to (its `upgrade` event); the gateway never closes it. */
  server: Server;
  /** URL path of the websocket endpoint. Default: `/pubsub`. */
  path?: string;
  /**
   * Decides whether the client behind `request` may subscribe to `topic` (a channel or a glob).
   * Check globs with care: see `topicWithinPrefix`. A throw, a rejection or a timeout denies.
   * Answer `{ allow: true, presence: { clientId, user, info } }` to say how the client appears in
   * the channel's presence (subscribe frames with `presence: true`); only `true` or `allow: true` allows.
   * Default: none, and then every subscription is refused unless `insecure` is true.
   */
  authorize?: (request: IncomingMessage, topic: string, context: AuthorizeContext) => AuthorizeResult | Promise<AuthorizeResult>;
  /**
   * Decides whether the client behind `request` may publish `message` on `channel` (a channel,
   * never a glob; `message` has passed `publishSchema`). A throw, a rejection or a timeout
   * (`authorizeTimeoutMs`) denies. Default: none, and then every publish is refused with
   * `PUBLISH_DISABLED` (`insecure` does not open publishing).
   */
  authorizePublish?: AuthorizePublish;
  /**
   * The schema (Standard Schema) a client's message on `channel` must pass before `authorizePublish`
   * sees it, or undefined for none; its output is what is broadcast. The PubSub's own `schemas`
   * are checked on broadcast as well. Default: none.
   */
  publishSchema?: PublishSchema;
  /** Publishes per client: `perSecond` on average, `burst` at once; past it a publish is refused `RATE_LIMITED`. Default: 10 per second, bursts of 20. */
  publishRate?: PublishRate;
  /** Without `authorize`, allow every subscription to anyone who can connect. Default: false. */
  insecure?: boolean;
  /** Longest `authorize` call; past it the subscription is refused. Default: 5000 ms. */
  authorizeTimeoutMs?: number;
  /**
   * Origins whose pages may connect (browsers send Origin; a request without one is not a page's).
   * Default: the request's own host only (`Origin` host = `Host`), refusing cross-site pages with 403.
   */
  allowedOrigins?: AllowedOrigins;
  /** Clients connected at once (handshakes included); past it an upgrade is answered 503. Default: 10 000. */
  maxConnections?: number;
  /** Frames of one client waiting to be handled (e.g. behind a slow `authorize`); one more closes it with 1008. Default: 128. */
  maxPendingFrames?: number;
  /** Frames one client may send per second (bursts up to that many); faster closes it with 1008. Default: 100. */
  maxFramesPerSecond?: number;
  /** Largest frame a client may send, in bytes; a bigger one closes it with 1009. Default: 16 KiB. */
  maxPayloadBytes?: number;
  /** Ping interval; a client that has not answered the previous ping is dropped. Default: 30 000 ms. */
  heartbeatMs?: number;
  /** Per-client send buffer bounds. Default: 1000 messages, 1 MiB queued, 256 KiB in the socket, 64 control replies. */
  buffer?: SendQueueLimits;
  /**
   * How a broadcast's socket writes are spread over event-loop turns: at most `maxClientsPerTurn`
   * clients (default 500) or `maxSliceMs` of writing (default 8) per turn, so heartbeats, new
   * connections and subscribe frames are served while a fan-out to many clients runs. A client's
   * frames keep their order and leave in one write. Default: `{ maxClientsPerTurn: 500, maxSliceMs: 8 }`.
   */
  fanOut?: FanOutOptions;
  /** Policy of a subscription that names none. Default: `drop-oldest`. */
  defaultPolicy?: BufferPolicy;
  /** Subscriptions one client may hold. Default: 100. */
  maxSubscriptionsPerClient?: number;
  /** How long a closed client (and `close()`) waits for the close handshake before cutting the socket. Default: 5000 ms. */
  closeTimeoutMs?: number;
  /**
   * Error events (tier `gateway`), kinds: `upgrade` (a refused or unreadable handshake), `protocol`
   * (a malformed frame), `limit` (a client closed for a bound), `authorize` (the hook threw or timed
   * out), `listener` (anything unexpected). Default: core's rate-limited consoleErrorHook.
   */
  onError?: ErrorHook;
}

export interface GatewayClientStats extends SendQueueStats {
  readonly id: number;
  readonly topics: readonly string[];
  /** Frames waiting to be handled. */
  readonly pendingFrames: number;
}

export interface WebSocketGateway extends Lifecycle {
  /** Live clients with their buffer figures. */
  clients(): GatewayClientStats[];
  /**
   * Counts: `clients`, `subscriptions`, `pendingFrames`, `framesDropped`, `upgradesRefused`,
   * `clientsClosedForLimits`, `published`, `publishRefused`, `fanOutWaiting` (clients whose staged
   * frames wait for their slice), `fanOutSlices` (event-loop turns that wrote frames),
   * `topicSubscriptions` (PubSub subscriptions the gateway holds: one per topic its clients follow,
   * shared by all of them; plus, briefly, one per client resuming with `since`).
   */
  health(): Health;
  /**
   * Detaches from the HTTP server (which stays open), closes every client with 1001, waits for
   * their close handshakes within `timeoutMs` (default: `closeTimeoutMs`), then cuts the rest.
   * `force` cuts at once. Every call returns the same promise.
   */
  close(options?: CloseOptions): Promise<void>;
}

/** True when every channel `topic` can match starts with `prefix` (use it in `authorize` for tenant isolation). */
export function topicWithinPrefix(topic: string, prefix: string): boolean {
  return !isChannelPattern(prefix) && topic.startsWith(prefix);
}

export function createWebSocketGateway<M extends MessageMap>(options: WebSocketGatewayOptions<M>): WebSocketGateway {
  const pubsub = options.pubsub as unknown as PubSub;
  const closeTimeoutMs = options.closeTimeoutMs ?? 5000;
  const maxConnections = options.maxConnections ?? 10_000;
  const reporter = createErrorReporter('gateway', options.onError);
  // `closeTimeout` (ws 8.18+, not in @types/ws yet): how long a closing client may take before ws cuts it.
  // No permessage-deflate (ws' server default, said here because wire-frame.ts relies on it).
  const serverOptions: ServerOptions & { closeTimeout: number } = {
    noServer: true,
    perMessageDeflate: false,
    maxPayload: options.maxPayloadBytes ?? 16 * 1024,
    closeTimeout: closeTimeoutMs,
  };
  const wss = new WebSocketServer(serverOptions);
  const sessions = new Set<ClientSession>();
  const counts = { upgradesRefused: 0, clientsClosedForLimits: 0, framesDroppedGone: 0, handshakes: 0 };
  const publishCounts = { published: 0, publishRefused: 0 };
  const telemetry = createGatewayTelemetry(sessions);
  const fanOut = new FanOutScheduler(options.fanOut, (err) => reporter.report('listener', err, { detail: { listener: 'fan-out' } }));
  const topics = new TopicGroups({ pubsub, report: reporter.report, frameOf });
  let nextId = 1;
  // A handshake ws itself refuses (bad method, key or version): answered here, so the hook hears it.
  wss.on('wsClientError', (error: Error, socket: Duplex, request: IncomingMessage) => {
    counts.upgradesRefused += 1;
    reporter.report('upgrade', error, { detail: { address: request.socket.remoteAddress } });
    refuseUpgrade(socket, 400);
  });

  const host: SessionHost = {
    pubsub,
    report: reporter.report,
    authorize: options.authorize,
    authorizePublish: options.authorizePublish,
    publishSchema: options.publishSchema,
    publishRate: resolvePublishRate(options.publishRate),
    publishCounts,
    insecure: options.insecure === true,
    authorizeTimeoutMs: options.authorizeTimeoutMs ?? 5000,
    maxPendingFrames: options.maxPendingFrames ?? 128,
    maxFramesPerSecond: options.maxFramesPerSecond ?? 100,
    maxSubscriptions: options.maxSubscriptionsPerClient ?? 100,
    defaultPolicy: options.defaultPolicy ?? 'drop-oldest',
    buffer: options.buffer,
    fanOut,
    follows: createFollows({ pubsub, topics, frameOf }),
    presenceEvents: new PresenceGroups(pubsub, reporter.report),
    frameOf,
    telemetry,
    onGone(session, limit) {
      sessions.delete(session);
      counts.framesDroppedGone += session.stats().droppedTotal;
      if (limit) counts.clientsClosedForLimits += 1;
    },
  };

  const onUpgrade = (request: IncomingMessage, socket: Duplex, head: Buffer): void => {
    try {
      const verdict = judgeUpgrade(request, { path: options.path ?? '/pubsub', allowedOrigins: options.allowedOrigins });
      if (verdict.kind === 'elsewhere') return; // another upgrade listener's business
      const full = sessions.size + counts.handshakes >= maxConnections;
      if (verdict.kind === 'refuse' || full || life.closing.aborted) {
        counts.upgradesRefused += 1;
        const status = verdict.kind === 'refuse' ? verdict.status : 503;
        const reason = verdict.kind === 'refuse' ? verdict.reason : full ? `${maxConnections} clients connected (maxConnections)` : 'gateway closing';
        reporter.report('upgrade', new Error(`refused a websocket upgrade with ${status}: ${reason}`), { detail: { address: request.socket.remoteAddress } });
        refuseUpgrade(socket, status);
        return;
      }
      counts.handshakes += 1;
      wss.handleUpgrade(request, socket, head, (ws) => {
        counts.handshakes -= 1;
        accept(ws, request, socket);
      });
      // A handshake that fails (bad key, reset) never calls back: count it out when the socket goes.
      socket.once('close', () => {
        if (!accepted.has(socket)) counts.handshakes = Math.max(0, counts.handshakes - 1);
      });
    } catch (err) {
      reporter.report('listener', err, { detail: { listener: 'upgrade' } });
      refuseUpgrade(socket, 400);
    }
  };
  const accepted = new WeakSet<Duplex>();

  function accept(ws: WebSocket, request: IncomingMessage, socket: Duplex): void {
    accepted.add(socket);
    if (life.closing.aborted) {
      ws.terminate();
      return;
    }
    sessions.add(createClientSession(host, { id: nextId++, ws, socket, request }));
  }

  // A ping is a system call per client, like a fan-out: sliced the same way.
  const pingsPerTurn = options.fanOut?.maxClientsPerTurn ?? 500;
  const heartbeat = setInterval(() => {
    void forEachSliced(sessions, pingsPerTurn, (session) => {
      if (sessions.has(session)) session.heartbeat();
    });
  }, options.heartbeatMs ?? 30_000);
  heartbeat.unref();

  const offResubscribed = pubsub.on('resubscribed', (e) => {
    const frame = JSON.stringify({ type: 'resubscribed', downAt: e.downAt.toISOString(), upAt: e.upAt.toISOString() } satisfies ServerFrame);
    for (const session of sessions) if (session.subscriptions > 0) session.control(frame);
  });

  // One envelope goes to many clients, one after the other within one dispatch: its frame is built
  // once per subscription topic, as a whole websocket frame that every client's socket shares
  // (wire-frame.ts). Only the envelope being dispatched is kept.
  let current: Envelope | undefined;
  const frames = new Map<string, Buffer>();
  const traced = pubsub.tracing !== 'off';
  function frameOf(envelope: Envelope, topic: string, position?: FramePosition): Buffer {
    if (envelope !== current) {
      current = envelope;
      frames.clear();
    }
    let frame = frames.get(topic);
    if (frame === undefined) {
      const message: ServerFrame = { type: 'message', topic, channel: envelope.name, id: envelope.id, occurredAt: envelope.occurredAt, data: envelope.payload };
      if (position) Object.assign(message, { offset: position.offset, epoch: position.epoch });
      // A PubSub that does not trace (`off`) sends no trace context to the browser either.
      if (traced) addTraceContext(message, envelope.headers);
      frames.set(topic, (frame = framed(JSON.stringify(message))));
    }
    return frame;
  }

  async function shutdown(closeOptions: CloseOptions): Promise<void> {
    clearInterval(heartbeat);
    offResubscribed();
    telemetry.stop();
    options.server.off('upgrade', onUpgrade);
    const closing = [...wss.clients].filter((ws) => ws.readyState !== ws.CLOSED).map((ws) => new Promise<void>((resolve) => ws.once('close', () => resolve())));
    for (const session of [...sessions]) session.close(CLOSE_CODES.GOING_AWAY, 'gateway closing');
    const timeoutMs = closeOptions.force ? 0 : (closeOptions.timeoutMs ?? closeTimeoutMs);
    const all = Promise.all(closing);
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<void>((resolve) => (timer = setTimeout(resolve, timeoutMs)));
    await Promise.race([all, deadline]);
    clearTimeout(timer);
    // Past the deadline: cut whatever has not finished its close handshake.
    for (const ws of wss.clients) ws.terminate();
    await all;
    await new Promise<void>((resolve) => wss.close(() => resolve()));
  }

  const life = createLifecycle({ what: 'websocket gateway', open: () => Promise.resolve(), shutdown });
  options.server.on('upgrade', onUpgrade);
  // Attached at once (as before the lifecycle existed): start() and ready() just confirm it.
  void life.start();

  return {
    start: () => life.start(),
    ready: () => life.start(),
    close: (closeOptions) => life.close(closeOptions),
    clients: () => [...sessions].map((s) => s.stats()),
    health() {
      let subscriptions = 0;
      let pendingFrames = 0;
      let framesDropped = counts.framesDroppedGone;
      for (const s of sessions) {
        const stats = s.stats();
        subscriptions += stats.topics.length;
        pendingFrames += stats.pendingFrames;
        framesDropped += stats.droppedTotal;
      }
      const lastError = reporter.lastError;
      return {
        phase: life.phase,
        connected: life.phase === 'ready',
        ...(lastError ? { lastError } : {}),
        counts: {
          clients: sessions.size,
          subscriptions,
          pendingFrames,
          framesDropped,
          upgradesRefused: counts.upgradesRefused,
          clientsClosedForLimits: counts.clientsClosedForLimits,
          ...publishCounts,
          fanOutWaiting: fanOut.stats().waiting,
          fanOutSlices: fanOut.stats().slices,
          topicSubscriptions: topics.stats().topics,
        },
      };
    },
  };
}
