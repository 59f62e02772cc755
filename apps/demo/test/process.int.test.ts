/**
 * The demo as its users run it: `src/main.ts` as a child process. SIGTERM must drain and exit 0, on
 * memory adapters with every context inline, and on Redis + RabbitMQ + BullMQ with the bus consumer
 * and the queue worker in processes of their own.
 */
import type { ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { deleteRabbitMqBusTopology } from '@events/bus/rabbitmq';
import { randomId, spawnTs } from '@events/testing';
import { Redis } from 'ioredis';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';

const DEMO_DIR = fileURLToPath(new URL('..', import.meta.url));
const run = randomId('demo-it');

interface Running {
  child: ChildProcess;
  url: string;
  output: () => string;
  exited: Promise<number | null>;
}

async function startMain(env: Record<string, string>): Promise<Running> {
  const spawned = spawnTs('src/main.ts', [], {
    cwd: DEMO_DIR,
    env: { PORT: '0', HOST: '127.0.0.1', DEMO_RETRY_DELAY_MS: '50', DEMO_SEND_MS: '10', DEMO_FAILURE_RATE: '1', DEMO_EMAIL_ATTEMPTS: '3', ...env },
    // Its own process group, so a failed test can kill the web process and its workers together.
    detached: true,
  });
  const { child, output } = spawned;
  started.push(child);
  const exited = spawned.exited.then(({ code }) => code);
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setInterval(() => {
      const match = /open (http:\/\/[^/\s]+)\//.exec(output());
      if (match) {
        clearInterval(timer);
        resolve(match[1]!);
      }
    }, 50);
    void exited.then(() => {
      clearInterval(timer);
      reject(new Error(`the demo exited before listening:\n${output()}`));
    });
  });
  return { child, url, output, exited };
}

/** Signs a user up and collects the steps broadcast to the tenant's page until the email is sent. */
async function signupStory(url: string): Promise<{ steps: string[]; email: string; tenant: string }> {
  const tenant = randomId('t');
  const ws = new WebSocket(`${url.replace('http', 'ws')}/pubsub?tenant=${tenant}`);
  const steps: string[] = [];
  const sent = new Promise<void>((resolve) => {
    ws.on('message', (data: Buffer) => {
      const frame = JSON.parse(data.toString()) as { type: string; data?: { step: string } };
      if (frame.type === 'message') steps.push(frame.data!.step);
      if (frame.data?.step === 'email-sent') resolve();
    });
  });
  await new Promise<void>((resolve) => {
    ws.once('open', () => ws.send(JSON.stringify({ type: 'subscribe', id: 1, topic: `tenant:${tenant}:user:*:notifications` })));
    ws.on('message', (data: Buffer) => (JSON.parse(data.toString()) as { type: string }).type === 'subscribed' && resolve());
  });
  const email = `${tenant}@example.com`;
  const response = await fetch(`${url}/api/signup`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ email, tenant }) });
  expect(response.status).toBe(201);
  await sent;
  ws.close();
  return { steps, email, tenant };
}

const started: ChildProcess[] = [];

afterEach((context) => {
  for (const child of started.splice(0)) {
    if (child.exitCode === null && child.signalCode === null) {
      // Only reached when a test failed before its own SIGTERM: leave no process behind.
      process.kill(-child.pid!, 'SIGKILL');
    }
  }
  void context;
});

afterAll(async () => {
  await deleteRabbitMqBusTopology({
    exchange: run,
    subscriptions: [
      { group: 'audit', pattern: 'UserSignedUp' },
      { group: 'notifications', pattern: 'UserSignedUp' },
    ],
  });
  const redis = new Redis('redis://127.0.0.1:6379');
  const keys = await redis.keys(`${run}:*`);
  if (keys.length > 0) await redis.del(...keys);
  await redis.quit();
});

describe('npm run demo, as a process', () => {
  it('runs the story on memory adapters and drains on SIGTERM, exiting 0', async () => {
    const demo = await startMain({ DEMO_WORKERS: 'inline' });
    const { steps } = await signupStory(demo.url);
    expect(steps.filter((s) => s === 'email-failed')).toHaveLength(2);
    demo.child.kill('SIGTERM');
    expect(await demo.exited).toBe(0);
    expect(demo.output()).toContain('SIGTERM: draining');
    expect(demo.output()).toMatch(/\[demo\] closed/);
  });

  it('drains on Ctrl-C although npm and tsx forward the SIGINT a second time a moment later', async () => {
    const demo = await startMain({ DEMO_WORKERS: 'inline' });
    // What a terminal's Ctrl-C amounts to for the node process: the group's SIGINT, then the echo.
    demo.child.kill('SIGINT');
    demo.child.kill('SIGINT');
    expect(await demo.exited).toBe(0);
    expect(demo.output()).toContain('SIGINT: draining');
    expect(demo.output()).not.toContain('exiting now');
    expect(demo.output()).toMatch(/\[demo\] closed/);
  });

  it('refuses DEMO_WORKERS=separate on memory adapters, saying what to set', async () => {
    const { stdout, exited } = spawnTs('src/main.ts', [], {
      cwd: DEMO_DIR,
      env: { PORT: '0', DEMO_WORKERS: 'separate', EVENTS_PUBSUB: '', EVENTS_BUS: '', EVENTS_QUEUE: '' },
    });
    const { code } = await exited;
    expect(code).toBe(1);
    expect(stdout()).toContain('cannot start: DEMO_WORKERS=separate needs brokers shared by the processes, but pubsub, bus, queue are on memory');
    expect(stdout()).toContain('EVENTS_PUBSUB=redis EVENTS_BUS=rabbitmq EVENTS_QUEUE=bullmq');
  });

  // Three processes start one after the other (each compiles the sources with tsx): allow time.
  it('behaves the same on Redis, RabbitMQ and BullMQ with the workers in separate processes', { timeout: 90_000 }, async () => {
    const demo = await startMain({
      DEMO_WORKERS: 'separate',
      EVENTS_PUBSUB: 'redis',
      EVENTS_BUS: 'rabbitmq',
      EVENTS_QUEUE: 'bullmq',
      EVENTS_BUS_EXCHANGE: run,
      EVENTS_QUEUE_PREFIX: run,
    });
    const { steps, email, tenant } = await signupStory(demo.url).catch((error: unknown) => {
      throw new Error(`${String(error)}\n--- demo output ---\n${demo.output()}`);
    });
    expect(new Set(steps)).toEqual(new Set(['signed-up', 'audit-recorded', 'email-queued', 'email-attempt', 'email-failed', 'email-sent']));
    const audit = (await (await fetch(`${demo.url}/api/audit?tenant=${tenant}`)).json()) as { records: Array<{ email: string }> };
    expect(audit.records.map((r) => r.email)).toEqual([email]);
    const out = demo.output();
    // Each role logged from its own process.
    expect(out).toMatch(/ web \[users\] signup /);
    expect(out).toMatch(/ consumer \[audit\] recorded UserSignedUp/);
    expect(out).toMatch(/ consumer \[notifications\] enqueued sendWelcomeEmail/);
    expect(out).toMatch(/ worker \[email\] job .* attempt 1\/3 .* FAILED/);
    expect(out).toMatch(/ worker \[email\] job .* attempt 3\/3: welcome email sent/);
    demo.child.kill('SIGTERM');
    expect(await demo.exited).toBe(0);
    expect(demo.output()).toMatch(/bus consumer process \d+ exited \(code 0\)/);
    expect(demo.output()).toMatch(/queue worker process \d+ exited \(code 0\)/);
  });
});
