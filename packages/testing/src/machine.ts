/**
 * What the test suite needs from the machine, checked in seconds before any test runs: Redis (with
 * maxmemory-policy noeviction, which the BullMQ adapter requires), RabbitMQ, PostgreSQL and a
 * Chromium for the browser tests. Each check speaks the first bytes of the broker's protocol with
 * one deadline, so a missing broker fails the run at once with its name, never after a pile of
 * 30 s test timeouts.
 */
import { access, constants } from 'node:fs/promises';
import { connect } from 'node:net';
import { CHROMIUM } from './chromium.js';
import { AMQP_URL, DATABASE_URL, REDIS_URL } from './brokers.js';

export interface MachineProblem {
  readonly what: string;
  readonly problem: string;
  readonly fix: string;
}

interface Exchange {
  readonly url: string;
  readonly defaultPort: number;
  readonly send: Buffer;
  /** True once `reply` holds a whole answer. */
  complete(reply: string): boolean;
}

/** Sends `send` and collects the reply until `complete`; resolves the reply or a short failure reason. */
function talk(exchange: Exchange, timeoutMs: number): Promise<{ reply: string } | { failure: string }> {
  const url = new URL(exchange.url);
  const host = url.hostname.replace(/^\[(.*)\]$/, '$1');
  const port = url.port ? Number(url.port) : exchange.defaultPort;
  return new Promise((resolve) => {
    const socket = connect({ host, port });
    let reply = '';
    const timer = setTimeout(() => finish({ failure: reply ? 'an incomplete reply' : 'no answer' }), timeoutMs);
    function finish(result: { reply: string } | { failure: string }): void {
      clearTimeout(timer);
      socket.removeAllListeners();
      socket.on('error', () => undefined);
      socket.destroy();
      resolve(result);
    }
    socket.once('connect', () => socket.write(exchange.send));
    socket.on('data', (chunk: Buffer) => {
      reply += chunk.toString('latin1');
      if (exchange.complete(reply)) finish({ reply });
    });
    socket.once('end', () => finish(reply ? { reply } : { failure: 'closed without a reply' }));
    socket.once('error', (error: NodeJS.ErrnoException) => finish({ failure: error.code ?? error.message }));
  });
}

function redact(url: string): string {
  return url.replace(/\/\/([^:/@]*):[^@/]*@/, '//$1:***@');
}

async function checkRedis(redisUrl: string, timeoutMs: number): Promise<MachineProblem | undefined> {
  const send = Buffer.from('*3\r\n$6\r\nCONFIG\r\n$3\r\nGET\r\n$16\r\nmaxmemory-policy\r\n');
  const result = await talk({ url: redisUrl, defaultPort: 6379, send, complete: (r) => (r.startsWith('-') ? r.endsWith('\r\n') : r === '*0\r\n' || /^\*2\r\n\$\d+\r\n[^\r]*\r\n\$\d+\r\n[^\r]*\r\n$/.test(r)) }, timeoutMs);
  const what = `Redis at ${redact(redisUrl)} (REDIS_URL)`;
  if ('failure' in result) return { what, problem: result.failure, fix: 'start it: redis-server --daemonize yes --port 6379 --maxmemory-policy noeviction (or docker compose up -d --wait)' };
  if (result.reply.startsWith('-')) return undefined; // AUTH or a renamed CONFIG: it answers; the queue adapter checks the policy itself
  if (!result.reply.includes('noeviction')) return { what, problem: 'maxmemory-policy is not noeviction (BullMQ loses jobs under eviction)', fix: 'redis-cli config set maxmemory-policy noeviction, on a Redis of your own' };
  return undefined;
}

async function checkRabbit(amqpUrl: string, timeoutMs: number): Promise<MachineProblem | undefined> {
  const result = await talk({ url: amqpUrl, defaultPort: 5672, send: Buffer.from('AMQP\x00\x00\x09\x01', 'latin1'), complete: (r) => r.length > 0 }, timeoutMs);
  if ('reply' in result) return undefined;
  return { what: `RabbitMQ at ${redact(amqpUrl)} (AMQP_URL)`, problem: result.failure, fix: 'start it: rabbitmq-server -detached (or docker compose up -d --wait)' };
}

async function checkPostgres(databaseUrl: string, timeoutMs: number): Promise<MachineProblem | undefined> {
  const sslRequest = Buffer.from([0, 0, 0, 8, 0x04, 0xd2, 0x16, 0x2f]);
  const result = await talk({ url: databaseUrl, defaultPort: 5432, send: sslRequest, complete: (r) => r.length > 0 }, timeoutMs);
  if ('reply' in result) return undefined;
  return { what: `PostgreSQL at ${redact(databaseUrl)} (DATABASE_URL)`, problem: result.failure, fix: 'start it: pg_ctlcluster <version> main start (or docker compose up -d --wait)' };
}

async function checkChromium(executablePath: string): Promise<MachineProblem | undefined> {
  try {
    await access(executablePath, constants.X_OK);
    return undefined;
  } catch {
    return { what: `Chromium at ${executablePath} (CHROMIUM_PATH)`, problem: 'not found', fix: 'apt-get install chromium, or point CHROMIUM_PATH at a Chromium or Chrome' };
  }
}

export interface MachineTargets {
  redisUrl: string;
  amqpUrl: string;
  databaseUrl: string;
  chromiumPath: string;
}

const DEFAULT_TARGETS: MachineTargets = { redisUrl: REDIS_URL, amqpUrl: AMQP_URL, databaseUrl: DATABASE_URL, chromiumPath: CHROMIUM.executablePath };

/** Every problem found, empty when the machine can run the suite. Takes at most `timeoutMs`. */
export async function checkMachine(timeoutMs = 3_000, targets: MachineTargets = DEFAULT_TARGETS): Promise<MachineProblem[]> {
  const found = await Promise.all([
    checkRedis(targets.redisUrl, timeoutMs),
    checkRabbit(targets.amqpUrl, timeoutMs),
    checkPostgres(targets.databaseUrl, timeoutMs),
    checkChromium(targets.chromiumPath),
  ]);
  return found.filter((p): p is MachineProblem => p !== undefined);
}

export function describeProblems(problems: readonly MachineProblem[]): string {
  return [
    `The test suite needs ${problems.length === 1 ? 'one more thing' : `${problems.length} more things`} on this machine:`,
    ...problems.map((p) => `  - ${p.what}: ${p.problem}. Fix: ${p.fix}.`),
  ].join('\n');
}
