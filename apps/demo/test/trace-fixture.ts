/**
 * What the demo's tracing tests on the real brokers (journey-trace.int.test.ts in this process,
 * otlp-process.int.test.ts as processes) share: a signup over HTTP, and the removal of every name
 * a run left on RabbitMQ and Redis under its namespace.
 */
import { deleteRabbitMqBusTopology } from '@events/bus/rabbitmq';
import { AMQP_URL, REDIS_URL } from '@events/testing';
import { Redis } from 'ioredis';
import { expect } from 'vitest';

/** POST /api/signup on the demo at `baseUrl` (a demo's `url`, typed as possibly absent); expects 201 and returns the new user's id. */
export async function signUp(baseUrl: string | undefined, email: string, tenant: string, headers: Record<string, string> = {}): Promise<string> {
  const response = await fetch(`${baseUrl}/api/signup`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify({ email, tenant }) });
  expect(response.status).toBe(201);
  return ((await response.json()) as { userId: string }).userId;
}

/** Deletes the bus topology of namespace `run` (its exchange, both groups' queues) and its Redis keys. */
export async function removeDemoNames(run: string): Promise<void> {
  await deleteRabbitMqBusTopology({
    url: AMQP_URL,
    exchange: run,
    subscriptions: [
      { group: 'audit', pattern: 'UserSignedUp' },
      { group: 'notifications', pattern: 'UserSignedUp' },
    ],
  });
  const redis = new Redis(REDIS_URL);
  try {
    // The tiers' keys (`<run>:...`) and the journey index's (`{<run>:journey}:...`, hash-tagged).
    for (const pattern of [`${run}:*`, `{${run}:*`]) {
      let cursor = '0';
      do {
        const [next, keys] = await redis.scan(cursor, 'MATCH', pattern, 'COUNT', 1000);
        cursor = next;
        if (keys.length > 0) await redis.unlink(...keys);
      } while (cursor !== '0');
    }
  } finally {
    await redis.quit();
  }
}
