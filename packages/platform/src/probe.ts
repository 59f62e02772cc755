/**
 * Reachability probe: a TCP connect plus the first bytes of the broker's protocol (Redis `PING`,
 * the AMQP 0-9-1 header), with one deadline, done before any client library is loaded. Client
 * libraries retry a dead broker forever by design (ioredis, BullMQ) or fail with a bare
 * ECONNREFUSED (amqplib); the probe turns both, and a port that opens but never speaks, into one
 * clear ConfigError naming the broker, the URL and what to do. Any reply counts as an answer: the
 * probe does not check credentials (a tier that then fails to start is reported by createPlatform
 * with the tier's own error).
 */
import { connect } from 'node:net';
import { ConfigError } from '@events/core';
import { redactUrl } from './config.js';

export interface BrokerProbe {
  /** Human name of the broker, for the message: `Redis`, `RabbitMQ`, `PostgreSQL`. */
  broker: string;
  /** The broker URL (its password is never printed). */
  url: string;
  /** The setting that holds the URL (`REDIS_URL`, `config.bus.url`), named in the message. */
  source: string;
  /** Which tiers need it (`pubsub, queue`), named in the message. */
  usedBy: string;
  /** Settings that switch those tiers back to memory, suggested in the message (`EVENTS_BUS=memory`). */
  fallback: string;
}

// What to send so the broker answers at once: Redis replies to PING (+PONG, or -NOAUTH: still an
// answer); RabbitMQ replies to the protocol header with Connection.Start; PostgreSQL replies to an
// SSLRequest with one byte, S or N.
const GREETINGS: Record<string, Buffer> = {
  'redis:': Buffer.from('PING\r\n'),
  'rediss:': Buffer.alloc(0),
  'amqp:': Buffer.from('AMQP\x00\x00\x09\x01', 'latin1'),
  'amqps:': Buffer.alloc(0),
  'postgres:': Buffer.from([0, 0, 0, 8, 0x04, 0xd2, 0x16, 0x2f]),
  'postgresql:': Buffer.from([0, 0, 0, 8, 0x04, 0xd2, 0x16, 0x2f]),
};

const DEFAULT_PORTS: Record<string, number> = { 'redis:': 6379, 'rediss:': 6380, 'amqp:': 5672, 'amqps:': 5671, 'postgres:': 5432, 'postgresql:': 5432 };

/** Resolves when a TCP connection to the URL's host and port opens within `timeoutMs`; else throws ConfigError. */
export async function probeBroker(probe: BrokerProbe, timeoutMs: number): Promise<void> {
  const url = new URL(probe.url);
  const host = url.hostname.replace(/^\[(.*)\]$/, '$1');
  const port = url.port ? Number(url.port) : (DEFAULT_PORTS[url.protocol] ?? 0);
  const failure = await tcpConnect({ host, port, timeoutMs, greeting: GREETINGS[url.protocol] });
  if (failure === undefined) return;
  throw new ConfigError(
    `${probe.broker} did not answer at ${redactUrl(probe.url)} (${probe.source}, used by ${probe.usedBy}) within ${timeoutMs} ms: ${failure}. ` +
      `Start it (on a laptop: \`docker compose up -d --wait\` starts Redis, RabbitMQ and PostgreSQL), point ${probe.source} at a running ${probe.broker}, ` +
      `or run on memory adapters with ${probe.fallback}.`,
  );
}

export interface TcpProbeOptions {
  host: string;
  port: number;
  /** Deadline for the connect and the first reply together. */
  timeoutMs: number;
  /** Bytes to send once connected; when non-empty, success needs the first byte of a reply. Default: none (connect is enough; used for TLS URLs). */
  greeting?: Buffer;
}

/** Resolves undefined on success, or a short reason (`ECONNREFUSED`, `connected but no reply`). Never rejects. */
export function tcpConnect(options: TcpProbeOptions): Promise<string | undefined> {
  const { host, port, timeoutMs, greeting } = options;
  return new Promise((resolve) => {
    const socket = connect({ host, port });
    let connected = false;
    const timer = setTimeout(() => finish(connected ? 'connected, but no reply to the protocol greeting (another service on this port?)' : 'no answer'), timeoutMs);
    function finish(reason: string | undefined): void {
      clearTimeout(timer);
      socket.removeAllListeners();
      socket.on('error', () => undefined);
      socket.destroy();
      resolve(reason);
    }
    socket.once('connect', () => {
      connected = true;
      if (!greeting || greeting.length === 0) finish(undefined);
      else socket.write(greeting);
    });
    socket.once('data', () => finish(undefined));
    socket.once('end', () => finish('closed the connection without a reply'));
    socket.once('error', (error: NodeJS.ErrnoException) => finish(error.code ?? error.message));
  });
}
