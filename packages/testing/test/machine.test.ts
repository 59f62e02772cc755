import { describe, expect, it } from 'vitest';
import { checkMachine, describeProblems } from '../src/machine.js';
import { closedPort } from '../src/ports.js';

describe('the machine check before npm test', () => {
  it('finds nothing missing on this machine', async () => {
    expect(await checkMachine()).toEqual([]);
  });

  it('names every missing broker and Chromium within its deadline', async () => {
    const started = Date.now();
    const problems = await checkMachine(3_000, {
      redisUrl: `redis://127.0.0.1:${await closedPort()}`,
      amqpUrl: `amqp://guest:secret@127.0.0.1:${await closedPort()}`,
      databaseUrl: `postgres://postgres@127.0.0.1:${await closedPort()}/postgres`,
      chromiumPath: '/nonexistent/chromium',
    });
    expect(Date.now() - started).toBeLessThan(5_000);
    const text = describeProblems(problems);
    expect(problems.map((p) => p.what.split(' ')[0])).toEqual(['Redis', 'RabbitMQ', 'PostgreSQL', 'Chromium']);
    expect(text).toContain('ECONNREFUSED');
    expect(text).not.toContain('secret');
  });
});
