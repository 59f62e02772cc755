/**
 * close() settles within its timeout whatever clients leave open: an upgrade to a path nobody
 * serves, a request whose body never comes. (A hostile run on Node 24 once left close() pending.)
 */
import { connect, type Socket } from 'node:net';
import { waitFor } from '@events/testing';
import { expect, it } from 'vitest';
import { startDemo } from '../src/app.js';

function hold(url: string, bytes: string): Promise<Socket> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const socket = connect(Number(port), hostname, () => {
      socket.write(bytes);
      resolve(socket);
    });
    socket.on('error', () => undefined);
    socket.once('error', reject);
  });
}

it('close() settles within its timeout with an unserved upgrade and a half-sent request held open', async () => {
  const demo = await startDemo({ platform: {}, port: 0, failureRate: 0, sendMs: 0, log: { write: () => undefined }, onError: () => undefined });
  const url = demo.url!;
  const held = [
    await hold(url, 'GET /not-the-gateway HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n'),
    await hold(url, 'POST /api/signup HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{'),
    await hold(url, 'GET /pubsub HTTP/1.1\r\nHost: 127.0.0.1\r\n'),
  ];
  const started = Date.now();
  await demo.close({ timeoutMs: 1000 });
  expect(Date.now() - started).toBeLessThan(4000);
  await waitFor(() => held.every((s) => s.destroyed || s.readableEnded), 5000, 'the server to end the held sockets');
  for (const s of held) s.destroy();
});
