/**
 * The demo on the PostgreSQL queue: the users context writes the user row and the welcome email
 * job in one transaction; the notifications context's enqueue of the same job is then a no-op.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DATABASE_URL, dropSchema, randomSchema, sql, waitFor } from '@events/testing';
import { startDemo, type Demo } from '../src/app.js';

const schema = randomSchema('demo_pg');

let demo: Demo;
beforeAll(async () => {
  // No migrate flag: the demo opts in by itself.
  demo = await startDemo({
    platform: { queue: { adapter: 'postgres', url: DATABASE_URL, schema } },
    port: 0,
    failureRate: 0,
    sendMs: 0,
    log: { write: () => undefined },
  });
});
afterAll(async () => {
  await demo.close({ timeoutMs: 5000 });
  await dropSchema(schema);
});

describe('the demo on the PostgreSQL queue', () => {
  it('commits the user row and its welcome email job together, and sends the email once', async () => {
    expect(demo.platform.queue.kind).toBe('postgres');
    const response = await fetch(`${demo.url}/api/signup`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ email: 'ada@example.com', tenant: 'acme' }) });
    expect(response.status).toBe(201);
    const { userId } = (await response.json()) as { userId: string };
    expect(await sql(`SELECT id, email FROM "${schema}".demo_users`)).toEqual([{ id: userId, email: 'ada@example.com' }]);
    await waitFor(async () => (await demo.platform.queue.getJob('sendWelcomeEmail', `welcome-${userId}`))?.state === 'completed', 10_000, 'the welcome email');
    // The notifications context enqueued the same job id after the event: still one job, one run.
    await demo.platform.queue.waitUntilIdle();
    expect(await sql(`SELECT id, attempt FROM "${schema}".jobs`)).toEqual([{ id: `welcome-${userId}`, attempt: 1 }]);
  });
});
