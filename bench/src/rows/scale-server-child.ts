/**
 * The websocket server of a scale row, in a process of its own (started with --expose-gc and a
 * raised fd limit): our gateway over a memory PubSub (`ours`), over the Redis PubSub (`ours-redis`,
 * one of several gateway processes), or Socket.IO 4 (`socket.io`, its default in-memory adapter).
 * It broadcasts itself at a fixed offered rate, each message stamped with the time it was due (so
 * a blocked event loop shows up as latency, not as a lower offered rate), and reports its event
 * loop delay, CPU, heap after GC and RSS.
 */
import { createServer } from 'node:http';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { Server as SocketIoServer } from 'socket.io';
import { createPubSub, type PubSub } from '@events/pubsub';
import { redisPubSub } from '@events/pubsub/redis';
import { createWebSocketGateway, type WebSocketGateway } from '@events/pubsub/websocket';
import { withTimeout } from '@events/core';
import { now } from '../clock.js';
import { makePayload } from '../payload.js';
import { REDIS_URL } from '../resources.js';
import { closeServer, listen } from './pubsub-ws.js';

export type ScaleServerKind = 'ours' | 'ours-redis' | 'socket.io';
export const SCALE_ROOM = 'room:scale';

export type ScaleServerRequest =
  | { type: 'usage' }
  /** Broadcast `rate` messages per second of `size` bytes for `durationMs` (0: none from this process). */
  | { type: 'broadcast'; rate: number; durationMs: number; size: number }
  | { type: 'close' };

export interface ScaleUsage {
  cpuUs: number;
  heapMB: number;
  rssMB: number;
}

export type ScaleServerReply =
  | { type: 'ready'; url: string }
  | ({ type: 'usage' } & ScaleUsage)
  | { type: 'broadcast-done'; sent: number; loopDelayMs: { p50: number; p99: number; max: number } }
  | { type: 'error'; message: string };

const [kind, namespace] = process.argv.slice(2) as [ScaleServerKind, string];
// The coordinator may be gone (a killed row): a reply then goes nowhere, never to an 'error' event.
const send = (reply: ScaleServerReply): void => {
  if (process.connected) process.send?.(reply, undefined, {}, () => undefined);
};
const gc = (globalThis as { gc?: () => void }).gc;

interface Node {
  url: string;
  broadcast(payload: object): void;
  close(): Promise<void>;
}

async function start(): Promise<Node> {
  const server = createServer();
  const onError = (error: Error): void => send({ type: 'error', message: error.message });
  if (kind === 'socket.io') {
    const io = new SocketIoServer(server, { transports: ['websocket'], perMessageDeflate: false });
    io.on('connection', (socket) => void socket.join(SCALE_ROOM));
    const base = await listen(server);
    return {
      url: base.replace('ws://', 'http://'),
      broadcast: (payload) => void io.to(SCALE_ROOM).emit('msg', payload),
      close: async () => {
        io.disconnectSockets(true);
        await new Promise<void>((resolve) => void io.close(() => resolve()));
      },
    };
  }
  const pubsub: PubSub = createPubSub({
    ...(kind === 'ours-redis' ? { adapter: redisPubSub({ url: REDIS_URL }), namespace } : {}),
    onError: (event) => onError(event.error),
  });
  await withTimeout(pubsub.start(), 10_000, 'pubsub start');
  const gateway: WebSocketGateway = createWebSocketGateway({ pubsub, server, path: '/pubsub', insecure: true, maxConnections: 20_000, onError: (event) => onError(event.error) });
  const base = await listen(server);
  return {
    url: `${base}/pubsub`,
    broadcast: (payload) => void pubsub.broadcast(SCALE_ROOM, payload).catch(onError),
    async close() {
      await gateway.close({ timeoutMs: 2_000 });
      await pubsub.close({ force: true });
      await closeServer(server);
    },
  };
}

/** CPU first (the collection below is the measurement's, not the row's), then heap after a full GC. */
function usage(): ScaleUsage {
  const { user, system } = process.cpuUsage();
  gc?.();
  gc?.();
  return { cpuUs: user + system, heapMB: process.memoryUsage().heapUsed / 2 ** 20, rssMB: process.memoryUsage.rss() / 2 ** 20 };
}

/** Sends what is due at each wake-up, stamped with when it was due (catching up after a stall). */
function broadcastAtRate(node: Node, rate: number, durationMs: number, size: number): void {
  const delay = monitorEventLoopDelay({ resolution: 5 });
  delay.enable();
  const startedAt = now();
  const total = Math.floor((rate * durationMs) / 1000);
  let sent = 0;
  const finish = (): void => {
    delay.disable();
    const ms = (ns: number): number => ns / 1e6;
    send({ type: 'broadcast-done', sent, loopDelayMs: { p50: ms(delay.percentile(50)), p99: ms(delay.percentile(99)), max: ms(delay.max) } });
  };
  const tick = (): void => {
    const due = Math.min(total, Math.floor(((now() - startedAt) * rate) / 1000) + 1);
    for (; sent < due; sent += 1) node.broadcast(makePayload(size, startedAt + (sent * 1000) / rate, sent));
    if (sent < total) setTimeout(tick, Math.max(0, startedAt + (sent * 1000) / rate - now()));
    else finish();
  };
  // A process that only delivers (another gateway broadcasts) still measures its loop meanwhile.
  if (total === 0) setTimeout(finish, durationMs);
  else tick();
}

start().then(
  (node) => {
    send({ type: 'ready', url: node.url });
    process.on('message', (message: ScaleServerRequest) => {
      if (message.type === 'usage') send({ type: 'usage', ...usage() });
      else if (message.type === 'broadcast') broadcastAtRate(node, message.rate, message.durationMs, message.size);
      else void node.close().finally(() => process.exit(0));
    });
  },
  (error: unknown) => {
    send({ type: 'error', message: error instanceof Error ? error.message : String(error) });
    process.exit(1);
  },
);
process.on('disconnect', () => process.exit(0));
