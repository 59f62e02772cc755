/** The proxy against a local echo server: it relays, cut drops live connections, refuse drops new ones until resume. */
import net from 'node:net';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { startTcpProxy, type TcpProxy } from '../src/index.js';

let echo: net.Server;
let proxy: TcpProxy;

beforeEach(async () => {
  echo = net.createServer((socket) => socket.pipe(socket));
  await new Promise<void>((resolve) => echo.listen(0, '127.0.0.1', resolve));
  proxy = await startTcpProxy(`tcp://127.0.0.1:${(echo.address() as net.AddressInfo).port}`);
});

afterEach(async () => {
  await proxy.close();
  await new Promise<void>((resolve) => echo.close(() => resolve()));
});

/** A connection through the proxy; `send` resolves with the echo of what it wrote, or 'closed'. */
function open(): { socket: net.Socket; send(text: string): Promise<string> } {
  const socket = net.connect(proxy.port, '127.0.0.1');
  socket.on('error', () => undefined);
  const send = (text: string): Promise<string> =>
    new Promise((resolve) => {
      socket.once('data', (d: Buffer) => resolve(d.toString()));
      socket.once('close', () => resolve('closed'));
      socket.write(text);
    });
  return { socket, send };
}

it('relays both ways and counts accepted connections', async () => {
  const c = open();
  expect(await c.send('ping')).toBe('ping');
  expect(proxy.accepted).toBe(1);
  expect(proxy.url).toBe(`tcp://127.0.0.1:${proxy.port}`);
  c.socket.destroy();
});

it('cut() drops live connections and still accepts new ones', async () => {
  const c = open();
  expect(await c.send('before')).toBe('before');
  const closed = new Promise((resolve) => c.socket.once('close', resolve));
  proxy.cut();
  await closed;
  const d = open();
  expect(await d.send('after')).toBe('after');
  expect(proxy.accepted).toBe(2);
  d.socket.destroy();
});

it('refuse() drops new connections until resume(), leaving live ones alone', async () => {
  const live = open();
  expect(await live.send('a')).toBe('a');
  proxy.refuse();
  expect(await open().send('refused')).toBe('closed');
  expect(await live.send('b')).toBe('b');
  expect(proxy.accepted).toBe(1);
  proxy.resume();
  const again = open();
  expect(await again.send('back')).toBe('back');
  expect(proxy.accepted).toBe(2);
  live.socket.destroy();
  again.socket.destroy();
});

it('keeps the scheme, credentials and path of the target URL', async () => {
  const amqp = await startTcpProxy('amqp://guest:guest@127.0.0.1:5672');
  const redis = await startTcpProxy('redis://user:secret@localhost/2');
  try {
    expect(amqp.url).toBe(`amqp://guest:guest@127.0.0.1:${amqp.port}`);
    expect(redis.url).toBe(`redis://user:secret@127.0.0.1:${redis.port}/2`);
  } finally {
    await Promise.all([amqp.close(), redis.close()]);
  }
});

it('close() stops listening', async () => {
  await proxy.close();
  const refused = await new Promise<string>((resolve) => net.connect(proxy.port, '127.0.0.1').once('error', (e: NodeJS.ErrnoException) => resolve(e.code ?? '')));
  expect(refused).toBe('ECONNREFUSED');
});
