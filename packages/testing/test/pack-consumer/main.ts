/**
 * An application outside the monorepo, as a user writes it: pack-install.test.ts copies this file
 * into a fresh temp dir, installs the packed tarballs there, typechecks it with that dir's own tsc
 * (strict, nodenext) and runs the output with plain node. One scenario per run:
 *
 *   node main.js memory                 every tier in memory
 *   node main.js brokers <namespace>    pubsub on Redis, bus on RabbitMQ, queue on BullMQ
 *   node main.js postgres <namespace>   the queue on PostgreSQL (schema <namespace>, migrated at start)
 *
 * Broker URLs come from REDIS_URL, AMQP_URL and DATABASE_URL. The last line printed is
 * `RESULT {json}`; any failure exits non-zero with the error on stderr.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { EventsError } from '@events/core';
import { createDashboard, createTokenAuth } from '@events/dashboard';
import { createPlatform, type Platform, type PlatformConfig } from '@events/platform';
import { DoNotRetryError } from '@events/queue';

type Maps = {
  channels: { [K in `user:${string}:notifications`]: { text: string } };
  events: { UserSignedUp: { userId: string; email: string } };
  jobs: { sendWelcomeEmail: { userId: string; email: string } };
};

interface Result {
  scenario: string;
  describe: string;
  notified: string[];
  deadLetters: number;
  replayable: number;
  dashboard: number;
}

const [scenario = 'memory', namespace = ''] = process.argv.slice(2);
const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const AMQP_URL = process.env.AMQP_URL ?? 'amqp://guest:guest@127.0.0.1:5672';
const DATABASE_URL = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';

function configFor(name: string): PlatformConfig {
  if (name === 'memory') return {};
  if (!/^[a-z][a-z0-9_]{0,49}$/.test(namespace)) throw new Error(`namespace ${JSON.stringify(namespace)}: give [a-z][a-z0-9_]* as the second argument`);
  if (name === 'brokers') {
    return { namespace, pubsub: { adapter: 'redis', url: REDIS_URL }, bus: { adapter: 'rabbitmq', url: AMQP_URL }, queue: { adapter: 'bullmq', url: REDIS_URL } };
  }
  if (name === 'postgres') return { namespace, queue: { adapter: 'postgres', url: DATABASE_URL, migrate: true } };
  throw new Error(`unknown scenario ${JSON.stringify(name)}: memory, brokers or postgres`);
}

/** Resolves when `ready()` says so, rejects after `ms`. */
function within<T>(ms: number, what: string, ready: (done: (value: T) => void) => void): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${what}: nothing within ${ms} ms`)), ms);
    ready((value) => {
      clearTimeout(timer);
      resolve(value);
    });
  });
}

/** The signup story: bus event -> queue job -> pubsub notification; a poisoned job is dead-lettered. */
async function story(platform: Platform<Maps>): Promise<Omit<Result, 'scenario' | 'describe' | 'dashboard'>> {
  const notified: string[] = [];
  const sent = within<void>(20_000, 'the welcome notification', (done) => {
    void platform.pubsub.subscribe('user:*:notifications', (message) => {
      notified.push(message.text);
      done();
    });
  });
  const deadLettered = within<void>(20_000, 'the poisoned job as a dead letter', (done) => {
    platform.queue.on('failed', (event) => {
      if (event.final) done();
    });
  });
  await platform.queue.process('sendWelcomeEmail', async (job) => {
    if (job.email.startsWith('poison')) throw new DoNotRetryError(`no mailbox for ${job.email}`);
    await platform.pubsub.broadcast(`user:${job.userId}:notifications`, { text: `welcome ${job.email}` });
  });
  await platform.bus.on('UserSignedUp', async ({ payload }) => void (await platform.queue.enqueue('sendWelcomeEmail', payload)), { group: 'notifications' });
  await platform.bus.emit('UserSignedUp', { userId: '42', email: 'ada@example.com' });
  await platform.bus.emit('UserSignedUp', { userId: '43', email: 'poison@example.com' });
  await Promise.all([sent, deadLettered]);
  const deadLetters = await platform.queue.deadLetters.count({ name: 'sendWelcomeEmail' });
  const dryRun = await platform.queue.deadLetters.replay({ name: 'sendWelcomeEmail', dryRun: true });
  return { notified, deadLetters, replayable: dryRun.replayed.length };
}

/** Mounts the dashboard on a loopback port and asks for its page with the bearer token. */
async function dashboardStatus(platform: Platform<Maps>): Promise<number> {
  const auth = createTokenAuth();
  const dashboard = createDashboard({ platform, authorize: auth.authorize, jobNames: ['sendWelcomeEmail'], busGroup: false, channelPattern: false });
  const server = createServer((req, res) => {
    if (!dashboard.handle(req, res)) res.writeHead(404).end();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  try {
    const { port } = server.address() as AddressInfo;
    const page = await fetch(`http://127.0.0.1:${port}/dashboard/`, { headers: { authorization: `Bearer ${auth.token}` } });
    const html = await page.text();
    if (!html.includes('<html')) throw new Error(`the dashboard page is not HTML: ${html.slice(0, 200)}`);
    const anonymous = await fetch(`http://127.0.0.1:${port}/dashboard/`);
    await anonymous.body?.cancel();
    if (anonymous.status !== 401) throw new Error(`the dashboard answered ${anonymous.status} without the token, 401 expected`);
    return page.status;
  } finally {
    await dashboard.close();
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}

const platform = await createPlatform<Maps>(configFor(scenario));
try {
  const outcome = await story(platform);
  const dashboard = await dashboardStatus(platform);
  const result: Result = { scenario, describe: platform.describe(), ...outcome, dashboard };
  console.log(`RESULT ${JSON.stringify(result)}`);
} catch (error) {
  console.error(error instanceof EventsError ? `${error.code}: ${error.message}` : error);
  process.exitCode = 1;
} finally {
  await platform.close({ timeoutMs: 10_000 });
}
