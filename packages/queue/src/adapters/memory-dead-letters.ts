/**
 * The memory adapter's dead-letter store: a map by job id and a list kept in (failedAt, id) order,
 * so a page (`limit`/`offset`) is a slice, not a sort of every record per query.
 */
import type { DeadLetterRange, DeadLetterRecord, DeadLetterStore } from '@events/core';

function inRange(r: DeadLetterRecord, q: DeadLetterRange, ids: Set<string> | undefined): boolean {
  return (
    (q.name === undefined || r.name === q.name) &&
    (q.from === undefined || r.failedAt >= q.from) &&
    (q.to === undefined || r.failedAt <= q.to) &&
    (ids === undefined || ids.has(r.id))
  );
}

function before(a: DeadLetterRecord, b: DeadLetterRecord): boolean {
  return a.failedAt < b.failedAt || (a.failedAt === b.failedAt && a.id < b.id);
}

export function createMemoryDeadLetterStore(): DeadLetterStore {
  const records = new Map<string, DeadLetterRecord>();
  let ordered: DeadLetterRecord[] = [];

  function insert(record: DeadLetterRecord): void {
    // Failures arrive almost in time order: search from the end.
    let i = ordered.length;
    while (i > 0 && before(record, ordered[i - 1]!)) i -= 1;
    ordered.splice(i, 0, record);
  }

  return {
    async put(record) {
      const old = records.get(record.id);
      if (old) ordered = ordered.filter((r) => r !== old);
      records.set(record.id, record);
      insert(record);
    },
    async query(range) {
      const ids = range.ids ? new Set(range.ids) : undefined;
      const offset = range.offset ?? 0;
      const limit = range.limit ?? Infinity;
      const out: DeadLetterRecord[] = [];
      let skipped = 0;
      for (const r of ordered) {
        if (out.length >= limit) break;
        if (!inRange(r, range, ids)) continue;
        if (skipped < offset) {
          skipped += 1;
          continue;
        }
        out.push(r);
      }
      return out;
    },
    async count(range) {
      const ids = range.ids ? new Set(range.ids) : undefined;
      let n = 0;
      for (const r of ordered) if (inRange(r, range, ids)) n += 1;
      return n;
    },
    async remove(ids) {
      const gone = new Set<DeadLetterRecord>();
      for (const id of ids) {
        const r = records.get(id);
        if (r && records.delete(id)) gone.add(r);
      }
      if (gone.size > 0) ordered = ordered.filter((r) => !gone.has(r));
      return gone.size;
    },
  };
}
