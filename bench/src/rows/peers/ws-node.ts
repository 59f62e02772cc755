/**
 * One websocket server node of the two-node rows, in the bench process (node A, which also
 * broadcasts) or in a child process (node B, see ws-node-child.ts): our gateway over the Redis
 * pubsub, or Socket.IO 4 with @socket.io/redis-adapter, both on the local Redis.
 */
import { createServer, type Server } from 'node:http';
import { Redis } from 'ioredis';
import { Server as SocketIoServer } from 'socket.io';
import { createAdapter } from '@socket.io/redis-adapter';
import { createPubSub } from '@events/pubsub';
import { redisPubSub } from '@events/pubsub/redis';
import { createWebSocketGateway } from '@events/pubsub/websocket';
import { withTimeout } from '@events/core';
import { REDIS_URL } from '../../resources.js';
import { closeServer, listen } from '../pubsub-ws.js';

export type WsNodeKind = 'ours' | 'socket.io';
export const ROOM = 'room:bench';

export interface WsNode {
  /** Where clients connect: ws://.../pubsub for ours, http://... for Socket.IO. */
  readonly url: string;
  /** Sends one message to every client subscribed on every node. */
  broadcast(payload: object): void;
  close(): Promise<void>;
}

async function oursNode(server: Server, namespace: string, onError: (error: Error) => void): Promise<WsNode> {
  const pubsub = createPubSub({ adapter: redisPubSub({ url: REDIS_URL }), namespace, onError: (event) => onError(event.error) });
  await withTimeout(pubsub.start(), 10_000, 'pubsub start');
  // The farm's clients subscribe to one public room: no authorization to measure here.
  const gateway = createWebSocketGateway({ pubsub, server, path: '/pubsub', insecure: true, onError: (event) => onError(event.error) });
  const base = await listen(server);
  return {
    url: `${base}/pubsub`,
    broadcast: (payload) => void pubsub.broadcast(ROOM, payload).catch(onError),
    async close() {
      await gateway.close();
      await pubsub.close({ force: true });
      await closeServer(server);
    },
  };
}

async function socketIoNode(server: Server, namespace: string): Promise<WsNode> {
  const pub = new Redis(REDIS_URL, { lazyConnect: true });
  const sub = pub.duplicate();
  await withTimeout(Promise.all([pub.connect(), sub.connect()]), 10_000, 'redis connect');
  const io = new SocketIoServer(server, { adapter: createAdapter(pub, sub, { key: namespace }), transports: ['websocket'], perMessageDeflate: false });
  io.on('connection', (socket) => void socket.join(ROOM));
  const base = await listen(server);
  return {
    url: base.replace('ws://', 'http://'),
    broadcast: (payload) => void io.to(ROOM).emit('msg', payload),
    async close() {
      io.disconnectSockets(true);
      await new Promise<void>((resolve) => void io.close(() => resolve()));
      pub.disconnect();
      sub.disconnect();
      await closeServer(server).catch(() => undefined);
    },
  };
}

export function startWsNode(kind: WsNodeKind, namespace: string, onError: (error: Error) => void): Promise<WsNode> {
  const server = createServer();
  return kind === 'ours' ? oursNode(server, namespace, onError) : socketIoNode(server, namespace);
}
