import { InvalidOptionError, type QueueAdapter } from '@events/core';
import { describe, expect, expectTypeOf, it } from 'vitest';
import { nextRunAfter } from '../src/adapters/postgres-schedules.js';
import { postgresQueue, type PostgresQueueAdapter } from '../src/adapters/postgres.js';

describe('postgres schedules: next run time', () => {
  const t = new Date(2026, 0, 5, 10, 7, 12, 345).getTime(); // local time, as the cron matcher

  it('every N ms counts from the previous due time', () => {
    expect(nextRunAfter({ every: 250 }, t)).toBe(t + 250);
  });

  it('six fields step by seconds, five by whole minutes', () => {
    expect(new Date(nextRunAfter({ cron: '* * * * * *' }, t))).toEqual(new Date(2026, 0, 5, 10, 7, 13));
    expect(new Date(nextRunAfter({ cron: '*/5 * * * *' }, t))).toEqual(new Date(2026, 0, 5, 10, 10, 0));
    expect(new Date(nextRunAfter({ cron: '0 9 * * 1' }, t))).toEqual(new Date(2026, 0, 12, 9, 0, 0));
  });

  it('refuses a pattern that never matches', () => {
    expect(() => nextRunAfter({ cron: '0 0 30 2 *' }, t)).toThrow(InvalidOptionError);
  });
});

describe('postgresQueue options', () => {
  it('is a transactional QueueAdapter and refuses bad options at once', () => {
    expectTypeOf(postgresQueue()).toMatchTypeOf<QueueAdapter>();
    expectTypeOf<PostgresQueueAdapter['transactional']>().toEqualTypeOf<true>();
    expect(() => postgresQueue({ schema: 'Bad-Name' })).toThrow(InvalidOptionError);
    expect(() => postgresQueue({ leaseMs: 5 })).toThrow(/leaseMs: must be an integer >= 100/);
    expect(postgresQueue({ schema: 'app_jobs' })).toMatchObject({ kind: 'postgres', transactional: true, schema: 'app_jobs' });
  });
});
