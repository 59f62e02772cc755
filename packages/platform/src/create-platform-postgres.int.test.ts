import { createRequire } from 'node:module';
import type pg from 'pg';
import { describe, expect, it } from 'vitest';
import { DATABASE_URL, randomId } from '@events/testing';
import { configFromEnv } from './config-env.js';
import { createPlatform } from './create-platform.js';

const { Client } = createRequire(import.meta.url)('pg') as typeof pg;

describe('createPlatform with EVENTS_QUEUE=postgres', () => {
  it('builds the queue on PostgreSQL (migrations opted in) and runs a job', async () => {
    const schema = randomId('evq_platform').toLowerCase().replace(/[^a-z0-9_]/g, '_').slice(0, 50);
    const platform = await createPlatform<{ channels: Record<string, never>; events: Record<string, never>; jobs: { ping: { n: number } } }>(
      configFromEnv({ EVENTS_QUEUE: 'postgres', DATABASE_URL, EVENTS_QUEUE_MIGRATE: 'true', EVENTS_QUEUE_PREFIX: schema }),
    );
    try {
      expect(platform.queue.kind).toBe('postgres');
      const seen: number[] = [];
      await platform.queue.process('ping', (p) => void seen.push(p.n));
      await platform.queue.enqueue('ping', { n: 1 });
      await platform.queue.waitUntilIdle();
      expect(seen).toEqual([1]);
    } finally {
      await platform.close();
      const client = new Client({ connectionString: DATABASE_URL });
      await client.connect();
      await client.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
      await client.end();
    }
  });
});
