/**
 * The job format on the wire. A job is an ordinary BullMQ job: `name` = the job name, `id` = the
 * envelope id (a UUIDv7, or the caller's `jobId`), `data` = the envelope as a JSON object:
 *
 *   { "id": "...", "name": "sendWelcomeEmail", "payload": { ... }, "occurredAt": "ISO-8601",
 *     "headers": { "replayOf"?: "<original job id>" }, "correlationId"?: "...", "causationId"?: "..." }
 *
 * A worker in another language reads `job.data.payload`. Going the other way, data that is not an
 * envelope (an object without `payload` and `occurredAt`) is taken as the payload itself, so a
 * plain BullMQ producer can feed our handlers. Data that claims to be an envelope but is malformed,
 * or is not JSON at all, is a DecodeError: the job goes to the dead-letter store without retries.
 */
import { DecodeError, toEnvelope, type Envelope, type StoredJobData } from '@events/core';

const EMPTY = Buffer.alloc(0);

function looksLikeEnvelope(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && 'payload' in value && 'occurredAt' in value;
}

/** Decodes stored job data into an envelope; throws DecodeError. */
export function decodeJobData(data: StoredJobData, fallback: { id: string; name: string; enqueuedAt: number }): Envelope {
  if (!data.ok) throw new DecodeError(data.reason, Buffer.from(data.raw, 'utf8'));
  if (looksLikeEnvelope(data.value)) {
    try {
      // The raw bytes only matter in the error: encoding them up front cost a stringify per job.
      return toEnvelope(data.value, EMPTY);
    } catch (err) {
      if (!(err instanceof DecodeError)) throw err;
      throw new DecodeError(err.message.replace(/^cannot decode message: /, ''), Buffer.from(JSON.stringify(data.value), 'utf8'), { cause: err.cause });
    }
  }
  return {
    id: fallback.id,
    name: fallback.name,
    payload: data.value,
    occurredAt: new Date(fallback.enqueuedAt).toISOString(),
    headers: {},
  };
}

/** Parses stored JSON text without throwing. */
export function parseStored(raw: string | undefined): StoredJobData {
  if (raw === undefined) return { ok: true, value: undefined };
  try {
    return { ok: true, value: JSON.parse(raw) as unknown };
  } catch (err) {
    return { ok: false, raw, reason: `not JSON (${(err as Error).message})` };
  }
}
