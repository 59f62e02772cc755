import { createServer, type Server } from 'node:net';
import { ConfigError } from '@events/core';
import { afterEach, describe, expect, it } from 'vitest';
import { probeBroker, tcpConnect } from './probe.js';
import { closedPort } from '@events/testing';

describe('probeBroker', () => {
  let server: Server | undefined;
  afterEach(async () => {
    await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
    server = undefined;
  });

  it('resolves when the port answers the greeting', async () => {
    server = createServer((socket) => socket.once('data', () => socket.end('+PONG\r\n')));
    await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as { port: number };
    await expect(
      probeBroker({ broker: 'Redis', url: `redis://127.0.0.1:${port}`, source: 'REDIS_URL', usedBy: 'pubsub', fallback: 'EVENTS_PUBSUB=memory' }, 1000),
    ).resolves.toBeUndefined();
  });

  it('says which broker, which URL and what to do when nothing listens', async () => {
    const port = await closedPort();
    const error = await probeBroker(
      { broker: 'RabbitMQ', url: `amqp://guest:secret@127.0.0.1:${port}`, source: 'AMQP_URL', usedBy: 'bus', fallback: 'EVENTS_BUS=memory' },
      1000,
    ).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConfigError);
    const message = (error as ConfigError).message;
    expect(message).toContain(`RabbitMQ did not answer at amqp://guest:***@127.0.0.1:${port} (AMQP_URL, used by bus) within 1000 ms: ECONNREFUSED`);
    expect(message).toContain('docker compose up -d');
    expect(message).toContain('EVENTS_BUS=memory');
    expect(message).not.toContain('secret');
  });

  it('gives up at the deadline on a port that accepts but never speaks', async () => {
    // resume(): read (and ignore) the greeting, so the socket sees the probe hang up and closes.
    server = createServer((socket) => socket.resume());
    await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as { port: number };
    const error = await probeBroker(
      { broker: 'Redis', url: `redis://127.0.0.1:${port}`, source: 'REDIS_URL', usedBy: 'pubsub, queue', fallback: 'EVENTS_PUBSUB=memory EVENTS_QUEUE=memory' },
      300,
    ).catch((e: unknown) => e);
    expect((error as ConfigError).message).toContain(`Redis did not answer at redis://127.0.0.1:${port} (REDIS_URL, used by pubsub, queue) within 300 ms: connected, but no reply to the protocol greeting (another service on this port?)`);
  });

  it('reports a peer that hangs up without replying', async () => {
    server = createServer((socket) => socket.resume().end());
    await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as { port: number };
    expect(await tcpConnect({ host: '127.0.0.1', port, timeoutMs: 1000, greeting: Buffer.from('PING\r\n') })).toBe('closed the connection without a reply');
  });

  it('reaches the real local Redis and RabbitMQ', async () => {
    await probeBroker({ broker: 'Redis', url: 'redis://127.0.0.1:6379', source: 'REDIS_URL', usedBy: 'pubsub', fallback: '' }, 2000);
    await probeBroker({ broker: 'RabbitMQ', url: 'amqp://guest:guest@127.0.0.1:5672', source: 'AMQP_URL', usedBy: 'bus', fallback: '' }, 2000);
  });
});
