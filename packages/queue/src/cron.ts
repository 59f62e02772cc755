/**
 * A small cron matcher for the memory adapter's schedules (BullMQ uses its own parser). Fields:
 * `[second] minute hour day-of-month month day-of-week`, each `*`, `n`, `a-b`, `a,b`, `x/step`.
 * Names (`MON`, `JAN`) and `L`/`W`/`#` are not supported here and are refused.
 */
import { InvalidOptionError } from '@events/core';

const RANGES: Array<[number, number]> = [
  [0, 59],
  [0, 59],
  [0, 23],
  [1, 31],
  [1, 12],
  [0, 7],
];

function parseField(field: string, [min, max]: [number, number], pattern: string): Set<number> {
  const out = new Set<number>();
  for (const part of field.split(',')) {
    const m = /^(\*|\d+(?:-\d+)?)(?:\/(\d+))?$/.exec(part);
    if (!m) throw new InvalidOptionError('cron', `cannot read "${part}" in ${JSON.stringify(pattern)}`);
    const step = m[2] ? Number(m[2]) : 1;
    let [lo, hi] = [min, max];
    if (m[1] !== '*') {
      const [a, b] = m[1]!.split('-').map(Number);
      lo = a!;
      hi = b ?? (m[2] ? max : a!);
    }
    if (lo < min || hi > max || lo > hi || step < 1) throw new InvalidOptionError('cron', `"${part}" is out of range in ${JSON.stringify(pattern)}`);
    for (let v = lo; v <= hi; v += step) out.add(v);
  }
  return out;
}

interface Compiled {
  sec: Set<number>;
  min: Set<number>;
  hour: Set<number>;
  mon: Set<number>;
  day(d: Date): boolean;
}

function compile(pattern: string): Compiled {
  const fields = pattern.trim().split(/\s+/);
  if (fields.length !== 5 && fields.length !== 6) throw new InvalidOptionError('cron', `needs 5 or 6 fields, got ${JSON.stringify(pattern)}`);
  const all = fields.length === 5 ? ['0', ...fields] : fields;
  const [sec, min, hour, dom, mon, dow] = all.map((f, i) => parseField(f, RANGES[i]!, pattern)) as [Set<number>, Set<number>, Set<number>, Set<number>, Set<number>, Set<number>];
  if (dow.has(7)) dow.add(0);
  const domAny = all[3] === '*';
  const dowAny = all[5] === '*';
  return {
    sec,
    min,
    hour,
    mon,
    day(d) {
      // Classic cron: when both day fields are restricted, either may match.
      const domHit = dom.has(d.getDate());
      const dowHit = dow.has(d.getDay());
      if (domAny && dowAny) return true;
      if (domAny) return dowHit;
      if (dowAny) return domHit;
      return domHit || dowHit;
    },
  };
}

/** Compiles a cron pattern to a predicate on a Date (local time). */
export function compileCron(pattern: string): (date: Date) => boolean {
  const c = compile(pattern);
  return (d) => c.sec.has(d.getSeconds()) && c.min.has(d.getMinutes()) && c.hour.has(d.getHours()) && c.mon.has(d.getMonth() + 1) && c.day(d);
}

/**
 * The first second after `after` (epoch ms) that matches, or undefined when none comes within
 * about five years (a pattern such as Feb 30). Skips whole months, days, hours and minutes that
 * cannot match, so a sparse pattern costs a few hundred steps, not a scan of every second.
 */
export function nextCronTime(pattern: string, after: number): number | undefined {
  const c = compile(pattern);
  const d = new Date(Math.floor(after / 1000) * 1000 + 1000);
  const limit = after + 5 * 366 * 86_400_000;
  while (d.getTime() <= limit) {
    if (!c.mon.has(d.getMonth() + 1)) {
      d.setMonth(d.getMonth() + 1, 1);
      d.setHours(0, 0, 0);
    } else if (!c.day(d)) {
      d.setDate(d.getDate() + 1);
      d.setHours(0, 0, 0);
    } else if (!c.hour.has(d.getHours())) {
      d.setHours(d.getHours() + 1, 0, 0);
    } else if (!c.min.has(d.getMinutes())) {
      d.setMinutes(d.getMinutes() + 1, 0);
    } else if (!c.sec.has(d.getSeconds())) {
      d.setSeconds(d.getSeconds() + 1);
    } else {
      return d.getTime();
    }
  }
  return undefined;
}
