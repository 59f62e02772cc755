import { describe, expect, it } from 'vitest';
import { compileCron, nextCronTime } from './cron.js';

const at = (s: string): Date => new Date(s);

describe('compileCron', () => {
  it('matches 5-field patterns at second 0 only', () => {
    const every5 = compileCron('*/5 * * * *');
    expect(every5(at('2026-01-01T10:05:00'))).toBe(true);
    expect(every5(at('2026-01-01T10:05:01'))).toBe(false);
    expect(every5(at('2026-01-01T10:06:00'))).toBe(false);
  });

  it('matches 6-field patterns with seconds, lists and ranges', () => {
    const m = compileCron('0,30 15-16 9 * * 1-5');
    expect(m(at('2026-11-27T09:15:30'))).toBe(true); // a Friday
    expect(m(at('2026-11-28T09:15:30'))).toBe(false); // Saturday
    expect(m(at('2026-11-27T09:17:00'))).toBe(false);
  });

  it('treats day-of-month and day-of-week as either-or when both are set, and 7 as Sunday', () => {
    const m = compileCron('0 0 1 * 7');
    expect(m(at('2026-11-01T00:00:00'))).toBe(true);
    expect(m(at('2026-11-29T00:00:00'))).toBe(true); // a Sunday
    expect(m(at('2026-11-27T00:00:00'))).toBe(false);
  });

  it('refuses what it cannot read', () => {
    expect(() => compileCron('* * *')).toThrow(/5 or 6 fields/);
    expect(() => compileCron('61 * * * *')).toThrow(/out of range/);
    expect(() => compileCron('* * * * MON')).toThrow(/cannot read "MON"/);
  });
});

describe('nextCronTime', () => {
  it('finds the next matching second without scanning every second', () => {
    const t = (s: string): number => new Date(s).getTime();
    expect(nextCronTime('* * * * * *', t('2026-01-01T10:00:00.300'))).toBe(t('2026-01-01T10:00:01'));
    expect(nextCronTime('*/5 * * * *', t('2026-01-01T10:03:10'))).toBe(t('2026-01-01T10:05:00'));
    expect(nextCronTime('0 9 * * 1', t('2026-11-27T12:00:00'))).toBe(t('2026-11-30T09:00:00')); // next Monday
    expect(nextCronTime('0 0 1 1 *', t('2026-06-01T00:00:00'))).toBe(t('2027-01-01T00:00:00'));
    expect(nextCronTime('0 0 30 2 *', t('2026-06-01T00:00:00'))).toBeUndefined();
  });
});
