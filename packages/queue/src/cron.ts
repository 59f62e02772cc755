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

/** Compiles a cron pattern to a predicate on a Date (local time). */
export function compileCron(pattern: string): (date: Date) => boolean {
  const fields = pattern.trim().split(/\s+/);
  if (fields.length !== 5 && fields.length !== 6) throw new InvalidOptionError('cron', `needs 5 or 6 fields, got ${JSON.stringify(pattern)}`);
  const all = fields.length === 5 ? ['0', ...fields] : fields;
  const [sec, min, hour, dom, mon, dow] = all.map((f, i) => parseField(f, RANGES[i]!, pattern));
  if (dow!.has(7)) dow!.add(0);
  const domAny = all[3] === '*';
  const dowAny = all[5] === '*';
  return (d) => {
    if (!sec!.has(d.getSeconds()) || !min!.has(d.getMinutes()) || !hour!.has(d.getHours()) || !mon!.has(d.getMonth() + 1)) return false;
    // Classic cron: when both day fields are restricted, either may match.
    const domHit = dom!.has(d.getDate());
    const dowHit = dow!.has(d.getDay());
    if (domAny && dowAny) return true;
    if (domAny) return dowHit;
    if (dowAny) return domHit;
    return domHit || dowHit;
  };
}
