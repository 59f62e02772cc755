/**
 * Dead letters in `<schema>.dead_letters`: the range and the limit go into the SQL (an index on
 * failed_at), so a query never loads more rows than it returns.
 */
import type { DeadLetterRange, DeadLetterRecord, DeadLetterStore, StoredJobData } from '@events/core';
import type pg from 'pg';
import { parseStored } from '../job-format.js';

interface Row {
  id: string;
  name: string;
  data: string;
  error_name: string;
  error_message: string;
  error_stack: string | null;
  attempts_made: number;
  enqueued_at: Date;
  failed_at: Date;
}

/** The stored text of job data: the raw text kept verbatim when it was never JSON. */
export function storedText(data: StoredJobData): string {
  return data.ok ? (JSON.stringify(data.value) ?? 'null') : data.raw;
}

function where(range: DeadLetterRange): { sql: string; values: unknown[] } {
  const parts: string[] = [];
  const values: unknown[] = [];
  if (range.name !== undefined) parts.push(`name = $${values.push(range.name)}`);
  if (range.from !== undefined) parts.push(`failed_at >= to_timestamp($${values.push(range.from / 1000)})`);
  if (range.to !== undefined) parts.push(`failed_at <= to_timestamp($${values.push(range.to / 1000)})`);
  if (range.ids !== undefined) parts.push(`id = ANY($${values.push(range.ids)}::text[])`);
  return { sql: parts.length > 0 ? `WHERE ${parts.join(' AND ')}` : '', values };
}

export function createPostgresDeadLetterStore(pool: () => pg.Pool, schema: string): DeadLetterStore {
  const table = `${schema}.dead_letters`;
  return {
    async put(record: DeadLetterRecord) {
      await pool().query(
        `INSERT INTO ${table} (id, queue, name, data, error_name, error_message, error_stack, attempts_made, enqueued_at, failed_at)
         VALUES ($1, $2, $2, $3, $4, $5, $6, $7, to_timestamp($8 / 1000.0), to_timestamp($9 / 1000.0))
         ON CONFLICT (id) DO UPDATE SET name = EXCLUDED.name, data = EXCLUDED.data, error_name = EXCLUDED.error_name, error_message = EXCLUDED.error_message,
           error_stack = EXCLUDED.error_stack, attempts_made = EXCLUDED.attempts_made, enqueued_at = EXCLUDED.enqueued_at, failed_at = EXCLUDED.failed_at`,
        [record.id, record.name, storedText(record.data), record.error.name, record.error.message, record.error.stack ?? null, record.attemptsMade, record.enqueuedAt, record.failedAt],
      );
    },
    async query(range) {
      const w = where(range);
      const limitSql = range.limit === undefined ? '' : ` LIMIT $${w.values.push(range.limit)}`;
      const offsetSql = range.offset ? ` OFFSET $${w.values.push(range.offset)}` : '';
      const { rows } = await pool().query<Row>(`SELECT * FROM ${table} ${w.sql} ORDER BY failed_at, id${limitSql}${offsetSql}`, w.values);
      return rows.map((r) => ({
        id: r.id,
        name: r.name,
        data: parseStored(r.data),
        error: { name: r.error_name, message: r.error_message, ...(r.error_stack === null ? {} : { stack: r.error_stack }) },
        attemptsMade: r.attempts_made,
        enqueuedAt: r.enqueued_at.getTime(),
        failedAt: r.failed_at.getTime(),
      }));
    },
    async count(range) {
      const w = where(range);
      const { rows } = await pool().query<{ n: number }>(`SELECT count(*)::int AS n FROM ${table} ${w.sql}`, w.values);
      return rows[0]?.n ?? 0;
    },
    async remove(ids) {
      if (ids.length === 0) return 0;
      const result = await pool().query(`DELETE FROM ${table} WHERE id = ANY($1::text[])`, [ids]);
      return result.rowCount ?? 0;
    },
  };
}
