/**
 * One websocket client of the gateway: its frames (through a bounded Inbox), its subscriptions,
 * its bounded send buffer. Every `ws` listener here catches what it calls: a hostile or broken
 * client costs at most its own connection, never the process.
 */
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import type { WebSocket } from 'ws';
import { compileChannelPattern, type Envelope, type ErrorReporter, isChannelPattern } from '@events/core';
import { clientMessage, isReserved, reservedError, UNAVAILABLE_MESSAGE, validateClientChannel } from './reserved.js';
import type { PubSub, RecoveryEvent } from '../types.js';
import { Inbox } from './inbox.js';
import { type BufferPolicy, CLOSE_CODES, type ClientFrame, type ErrorCode, type FramePosition, type ServerFrame } from './protocol.js';
import { subscribedFields } from '../history-gateway.js';
import { type Frame, SendQueue, type SendQueueLimits, type SendQueueStats } from './send-queue.js';
import { parseFrame, SocketSink } from './session-io.js';
import type { ClientSub, createFollows, FollowSession } from './session-follow.js';
import type { PresenceGroups } from './presence-groups.js';
import type { AuthorizeContext } from './gateway.js';
import {
  type AuthorizeResult,
  type AuthorizeVerdict,
  createSessionPresence,
  detach as detachPresence,
  presenceOptionError,
  readVerdict,
} from './session-presence.js';
import { answerWithin } from './hook-deadline.js';
import type { FanOutScheduler } from './fan-out.js';
import { createPublisher, type PublishHost } from './publish.js';
import type { GatewayTelemetry } from './telemetry.js';

/** What the gateway shares with every session. */
export interface SessionHost extends PublishHost {
  readonly pubsub: PubSub;
  readonly report: ErrorReporter['report'];
  readonly authorize: ((request: IncomingMessage, topic: string, context: AuthorizeContext) => AuthorizeResult | Promise<AuthorizeResult>) | undefined;
  readonly insecure: boolean;
  readonly authorizeTimeoutMs: number;
  readonly maxPendingFrames: number;
  readonly maxFramesPerSecond: number;
  readonly maxSubscriptions: number;
  readonly defaultPolicy: BufferPolicy;
  readonly buffer: SendQueueLimits | undefined;
  /** Writes staged frames a slice of clients per event-loop turn (fan-out.ts). */
  readonly fanOut: Pick<FanOutScheduler, 'schedule' | 'cancel'>;
  /** Subscriptions as members of the one PubSub subscription per topic (session-follow.ts, topic-groups.ts). */
  readonly follows: ReturnType<typeof createFollows>;
  /** The one `onPresence` subscription per channel that the clients asking for presence events share. */
  readonly presenceEvents: PresenceGroups;
  frameOf(envelope: Envelope, topic: string, position?: FramePosition): Buffer;
  /** The session is gone; `limit` when it was closed for exceeding a bound. */
  onGone(session: ClientSession, limit: boolean): void;
  /** Drops and conflations for the metrics (see telemetry.ts). Default: none. */
  readonly telemetry?: GatewayTelemetry;
}

export interface ClientSession {
  readonly subscriptions: number;
  heartbeat(): void;
  /** Queues a control frame in the room kept for them; closes the client when even that is full. */
  control(frame: string): void;
  close(code: number, reason: string): void;
  stats(): SendQueueStats & { id: number; topics: string[]; pendingFrames: number };
}

interface Connection {
  readonly id: number;
  readonly ws: WebSocket;
  /** The upgraded TCP (or TLS) socket under `ws`, corked while a client's staged frames are written. */
  readonly socket: Duplex;
  readonly request: IncomingMessage;
}

export function createClientSession(host: SessionHost, conn: Connection): ClientSession {
  const { ws, socket, request } = conn;
  const subs = new Map<string, ClientSub>();
  let alive = true;
  let closed = false;
  // Staged frames are written by the gateway's fan-out, a slice of clients per event-loop turn,
  // all of one client's in one corked write (the corked bytes count in ws' bufferedAmount).
  const queue: SendQueue = new SendQueue(new SocketSink(ws, socket), host.buffer, () => host.fanOut.schedule(queue));
  const inbox = new Inbox<ClientFrame>({ maxPending: host.maxPendingFrames, perSecond: host.maxFramesPerSecond }, (frame, signal) =>
    handle(frame, signal).catch((err: unknown) => host.report('listener', err, { name: 'channel' in frame ? frame.channel : frame.topic, detail: { client: conn.id } })),
  );
  // Made on a client's first publish / presence frame: most clients never send one (memory per client).
  let publisher: ReturnType<typeof createPublisher> | undefined;
  let presenceHelper: ReturnType<typeof createSessionPresence> | undefined;
  const presence = (): ReturnType<typeof createSessionPresence> =>
    (presenceHelper ??= createSessionPresence({
      pubsub: host.pubsub,
      report: host.report,
      client: conn.id,
      events: host.presenceEvents,
      subscribed: (channel) => subs.get(channel)?.live === true,
      authorized: (channel, signal) => authorized(channel, signal),
      push: (topic, frame) => {
        const sub = subs.get(topic);
        if (!closed && sub && !queue.push(frame, sub)) close(CLOSE_CODES.SLOW_CONSUMER, 'slow consumer: send buffer full');
      },
    }));

  /** Forgets the client at once: pending frames dropped, authorize aborted, subscriptions closed, buffer released. */
  function drop(limit = false): void {
    if (closed) return;
    closed = true;
    inbox.close();
    host.telemetry?.sessionGone(queue.stats());
    queue.clear();
    host.fanOut.cancel(queue);
    for (const sub of subs.values()) void host.follows.release(sub);
    subs.clear();
    host.onGone(session, limit);
  }

  function close(code: number, reason: string, limit = false): void {
    // Going away: what a broadcast staged just before still leaves ahead of the close frame.
    if (code === CLOSE_CODES.GOING_AWAY && !closed) queue.flush();
    drop(limit);
    try {
      // Close reasons are limited to 123 bytes; ws' closeTimeout cuts a peer that never answers.
      ws.close(code, reason.slice(0, 120));
    } catch {
      ws.terminate();
    }
  }

  function guarded(listener: string, fn: () => void): void {
    try {
      fn();
    } catch (err) {
      host.report('listener', err, { detail: { listener, client: conn.id } });
      drop();
      ws.terminate();
    }
  }

  function control(frame: string): void {
    if (closed) return;
    if (!queue.pushControl(frame)) close(CLOSE_CODES.SLOW_CONSUMER, 'slow consumer: no room for control replies', true);
  }

  const send = (frame: ServerFrame): void => control(JSON.stringify(frame));
  const follow: FollowSession = { closed: () => closed, push, send, control, detach: detachPresence };
  const fail = (error: { id: string | number; topic: string; code: ErrorCode; message: string }): void => send({ type: 'error', ...error });

  function onMessage(data: WebSocket.RawData, isBinary: boolean): void {
    if (closed) return;
    if (!inbox.admit()) {
      host.report('limit', new Error(`client sent more than ${host.maxFramesPerSecond} frames per second`), { detail: { client: conn.id } });
      return close(CLOSE_CODES.POLICY_VIOLATION, 'too many frames per second', true);
    }
    if (isBinary) return protocolError(CLOSE_CODES.UNSUPPORTED_DATA, 'binary frames are not supported');
    let frame: ClientFrame;
    try {
      frame = parseFrame(Array.isArray(data) ? Buffer.concat(data).toString('utf8') : Buffer.from(data as ArrayBuffer).toString('utf8'));
    } catch (err) {
      return protocolError(CLOSE_CODES.PROTOCOL_ERROR, (err as Error).message);
    }
    if (inbox.push(frame) === 'pending') {
      host.report('limit', new Error(`client has ${host.maxPendingFrames} frames waiting to be handled`), { detail: { client: conn.id } });
      close(CLOSE_CODES.POLICY_VIOLATION, 'too many frames waiting', true);
    }
  }

  function protocolError(code: number, reason: string): void {
    host.report('protocol', new Error(`closed a client: ${reason}`), { detail: { client: conn.id, code } });
    close(code, `protocol error: ${reason}`);
  }

  async function authorized(topic: string, clientGone: AbortSignal): Promise<AuthorizeVerdict> {
    const authorize = host.authorize;
    if (!authorize) return { allow: host.insecure };
    try {
      return readVerdict(await answerWithin((signal) => authorize(request, topic, { signal }), clientGone, host.authorizeTimeoutMs));
    } catch (err) {
      if (!clientGone.aborted) host.report('authorize', err, { name: topic, detail: { client: conn.id } });
      return { allow: false };
    }
  }

  async function handle(frame: ClientFrame, signal: AbortSignal): Promise<void> {
    if (frame.type === 'publish') return send(await (publisher ??= createPublisher(host, { request, client: conn.id }))(frame, signal));
    if (frame.type === 'presence') return send(await presence().request(frame, signal));
    const { id, topic } = frame;
    if (frame.type === 'unsubscribe') {
      const sub = subs.get(topic);
      subs.delete(topic);
      if (sub) await host.follows.release(sub);
      return send({ type: 'unsubscribed', id, topic });
    }
    if (subs.has(topic)) return send({ type: 'subscribed', id, topic });
    if (subs.size >= host.maxSubscriptions) return fail({ id, topic, code: 'LIMIT', message: `at most ${host.maxSubscriptions} subscriptions per connection` });
    try {
      if (isChannelPattern(topic)) compileChannelPattern(topic);
      else validateClientChannel(topic);
      if (isReserved(topic)) throw reservedError(topic);
    } catch (err) {
      return fail({ id, topic, code: isChannelPattern(topic) ? 'INVALID_PATTERN' : 'INVALID_NAME', message: (err as Error).message });
    }
    const presenceError = presenceOptionError(topic, frame);
    if (presenceError) return fail({ id, topic, ...presenceError });
    const verdict = await authorized(topic, signal);
    if (!verdict.allow) {
      if (closed) return;
      return fail({ id, topic, code: 'UNAUTHORIZED', message: `not authorized to subscribe to "${topic}"` });
    }
    if (closed || subs.has(topic)) return;
    const sub: ClientSub = {
      topic,
      sink: host.follows.sink,
      session: follow,
      policy: frame.policy ?? host.defaultPolicy,
      key: frame.key,
      dropped: 0,
      live: false,
      catching: frame.since !== undefined,
      notice: () => JSON.stringify({ type: 'dropped', topic, count: sub.dropped } satisfies ServerFrame),
      // Counted as it happens, not when the client is told: a client that never reads again
      // still shows in the metric while it stays connected.
      onDrop: () => host.telemetry?.dropped(sub.policy, 1),
    };
    subs.set(topic, sub);
    let recovery: RecoveryEvent | undefined;
    try {
      recovery = await host.follows.follow(sub, frame.since);
    } catch (err) {
      if (subs.get(topic) === sub) {
        subs.delete(topic);
        void host.follows.release(sub);
      }
      const message = clientMessage(err);
      if (message === UNAVAILABLE_MESSAGE) host.report('subscribe', err, { name: topic, detail: { client: conn.id } });
      return fail({ id, topic, code: 'UNAVAILABLE', message });
    }
    // The client left (or unsubscribed) while we waited for the transport: released already.
    if (closed || subs.get(topic) !== sub) return;
    sub.live = true;
    if (frame.presence === true || frame.presenceEvents === true) {
      const part = await presence().attach(topic, frame, verdict.presence);
      if ('code' in part) {
        if (subs.get(topic) === sub) {
          subs.delete(topic);
          await host.follows.release(sub);
        }
        return fail({ id, topic, ...part });
      }
      if (closed || subs.get(topic) !== sub) return detachPresence(part);
      sub.presence = part;
    }
    send({ type: 'subscribed', id, topic, ...subscribedFields({ position: host.follows.positionOf(sub), recovery }) });
  }

  function push(sub: ClientSub, frame: Frame, envelope: Envelope): void {
    if (!queue.push(frame, sub, sub.policy === 'conflate' ? conflationKey(sub, envelope) : undefined)) {
      host.telemetry?.dropped(sub.policy, 1);
      close(CLOSE_CODES.SLOW_CONSUMER, 'slow consumer: send buffer full');
    }
  }

  const session: ClientSession = {
    get subscriptions() {
      return subs.size;
    },
    heartbeat() {
      guarded('heartbeat', () => {
        if (!alive) {
          drop();
          ws.terminate();
          return;
        }
        alive = false;
        ws.ping();
      });
    },
    control,
    close: (code, reason) => close(code, reason),
    stats: () => ({ id: conn.id, topics: [...subs.keys()], pendingFrames: inbox.pending, ...queue.stats() }),
  };

  ws.on('pong', () => (alive = true));
  ws.on('close', () => guarded('close', () => drop()));
  // E.g. an oversized frame: ws closes it with 1009 itself.
  ws.on('error', (err) => guarded('error', () => {
    host.report('protocol', err, { detail: { client: conn.id } });
    drop();
  }));
  ws.on('message', (data, isBinary) => guarded('message', () => onMessage(data, isBinary)));
  return session;
}

function conflationKey(sub: ClientSub, envelope: Envelope): string | undefined {
  if (sub.key === undefined) return envelope.name;
  const payload = envelope.payload;
  const value = typeof payload === 'object' && payload !== null ? (payload as Record<string, unknown>)[sub.key] : undefined;
  return `${envelope.name}\u0000${JSON.stringify(value ?? null)}`;
}
