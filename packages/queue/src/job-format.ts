/**
 * The job format on the wire. A job is an ordinary BullMQ job: `name` = the job name, `id` = the
 * envelope id (a UUIDv7, or the caller's `jobId`), `data` = the envelope as a JSON object:
 *
 *   { "id": "...", "name": "sendWelcomeEmail", "payload": { ... }, "occurredAt": "ISO-8601",
 *     "headers": { "replayOf"?: "<original job id>" }, "correlationId"?: "...", "causationId"?: "..." }
 *
 * A worker in another language reads `job.data.payload`. Going the other way, a job from a foreign
 * producer is read by core's one rule for every tier (`envelopeFromTransport`): data that is a JSON
 * object with a string `id`, the job's name and a `payload` is an envelope; any other JSON value is
 * the payload itself (wrapped, occurredAt = the job's timestamp), so a plain BullMQ producer can
 * feed our handlers. An envelope whose `name` differs from the job's, whose headers are not all
 * strings, or that is otherwise malformed, and data that is not JSON at all, is a DecodeError: the
 * job goes to the dead-letter store (with the raw data) without retries.
 */
import { DecodeError, envelopeFromTransport, type Envelope, type StoredJobData } from '@events/core';

const EMPTY = Buffer.alloc(0);

/** Decodes stored job data into an envelope; throws DecodeError. */
export function decodeJobData(data: StoredJobData, fallback: { id: string; name: string; enqueuedAt: number }): Envelope {
  if (!data.ok) throw new DecodeError(data.reason, Buffer.from(data.raw, 'utf8'));
  let envelope: Envelope;
  try {
    // The raw bytes only matter in the error: encoding them up front cost a stringify per job.
    envelope = envelopeFromTransport(data.value, EMPTY, { name: fallback.name, id: fallback.id });
  } catch (err) {
    if (!(err instanceof DecodeError)) throw err;
    throw new DecodeError(err.message.replace(/^cannot decode message: /, ''), Buffer.from(JSON.stringify(data.value) ?? 'undefined', 'utf8'), { cause: err.cause });
  }
  // A bare payload (wrapped as is): it happened when the job was stored, not now.
  if (envelope.payload === data.value && envelope.id === fallback.id) return { ...envelope, occurredAt: new Date(fallback.enqueuedAt).toISOString() };
  return envelope;
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
