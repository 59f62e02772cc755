import { describe, expect, it } from 'vitest';
import { createEnvelope } from './envelope.js';
import { DecodeError, SerializationError } from './errors.js';
import { assertSerializable, jsonSerializer } from './serializer.js';

function refusal(payload: unknown): SerializationError {
  try {
    jsonSerializer.encode(createEnvelope('Thing', payload));
  } catch (err) {
    expect(err).toBeInstanceOf(SerializationError);
    return err as SerializationError;
  }
  throw new Error('expected encode to refuse the payload');
}

describe('jsonSerializer.encode', () => {
  it('round-trips an envelope', () => {
    const env = createEnvelope('UserSignedUp', { userId: 'u1', at: new Date(0), tags: ['a'] }, { correlationId: 'c1', headers: { tenant: 't' } });
    const back = jsonSerializer.decode(jsonSerializer.encode(env));
    expect(back).toEqual({ ...env, payload: { userId: 'u1', at: '1970-01-01T00:00:00.000Z', tags: ['a'] } });
  });

  it.each([
    ['BigInt', { user: { balance: 10n } }, 'payload.user.balance', 'payload.user.balance: BigInt cannot be serialized'],
    ['function', { cb: () => 1 }, 'payload.cb', 'payload.cb: function cannot be serialized'],
    ['symbol', { s: Symbol('x') }, 'payload.s', 'payload.s: symbol cannot be serialized'],
    ['undefined at the top', undefined, 'payload', 'payload: undefined cannot be serialized'],
    ['undefined in an array', [1, undefined], 'payload[1]', 'payload[1]: undefined cannot be serialized'],
    ['NaN', { n: Number.NaN }, 'payload.n', 'payload.n: NaN cannot be serialized'],
    ['Infinity', { n: [Infinity] }, 'payload.n[0]', 'payload.n[0]: Infinity cannot be serialized'],
    ['Map', { m: new Map() }, 'payload.m', 'payload.m: Map cannot be serialized'],
    ['Set', { s: new Set([1]) }, 'payload.s', 'payload.s: Set cannot be serialized'],
    ['Invalid Date', { d: new Date('nope') }, 'payload.d', 'payload.d: Invalid Date cannot be serialized'],
    ['a key needing quotes', { 'a b': 1n }, 'payload["a b"]', 'payload["a b"]: BigInt cannot be serialized'],
  ])('refuses %s and names the path', (_label, payload, path, message) => {
    const err = refusal(payload);
    expect(err.code).toBe('SERIALIZATION');
    expect(err.path).toBe(path);
    expect(err.message).toBe(message);
  });

  it('refuses a cycle and names where it closes', () => {
    const a: Record<string, unknown> = { b: { c: {} } };
    (a.b as Record<string, unknown>).c = a;
    const err = refusal(a);
    expect(err.path).toBe('payload.b.c');
    expect(err.message).toBe('payload.b.c: circular reference cannot be serialized');
  });

  it('accepts shared (non-circular) references and drops undefined properties as JSON does', () => {
    const shared = { x: 1 };
    expect(() => assertSerializable({ a: shared, b: shared, c: undefined })).not.toThrow();
  });

  it('refuses a non-string header', () => {
    const env = createEnvelope('X', {}, { headers: { n: 1 as unknown as string } });
    expect(() => jsonSerializer.encode(env)).toThrow(new SerializationError('headers.n', 'number'));
  });
});

describe('jsonSerializer.decode', () => {
  it.each([
    ['not JSON', 'hello', /^cannot decode message: not JSON/],
    ['a JSON array', '[1,2]', /^cannot decode message: not a JSON object$/],
    ['no id', '{"name":"x","payload":1,"occurredAt":"t"}', /^cannot decode message: missing "id"$/],
    ['no name', '{"id":"i","payload":1,"occurredAt":"t"}', /^cannot decode message: missing "name"$/],
    ['no payload', '{"id":"i","name":"x","occurredAt":"t"}', /^cannot decode message: missing "payload"$/],
    ['no occurredAt', '{"id":"i","name":"x","payload":1}', /^cannot decode message: missing "occurredAt"$/],
    ['bad headers', '{"id":"i","name":"x","payload":1,"occurredAt":"t","headers":[]}', /^cannot decode message: "headers" is not an object$/],
    ['bad correlationId', '{"id":"i","name":"x","payload":1,"occurredAt":"t","correlationId":5}', /"correlationId" is not a string/],
  ])('rejects %s with a DecodeError that keeps the raw bytes', (_label, text, message) => {
    const raw = Buffer.from(text);
    let caught: unknown;
    try {
      jsonSerializer.decode(raw);
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(DecodeError);
    expect((caught as DecodeError).code).toBe('DECODE');
    expect((caught as DecodeError).message).toMatch(message);
    expect((caught as DecodeError).raw.equals(raw)).toBe(true);
  });

  it('accepts a string and defaults missing headers', () => {
    const env = jsonSerializer.decode('{"id":"i","name":"x","payload":null,"occurredAt":"t"}');
    expect(env).toEqual({ id: 'i', name: 'x', payload: null, occurredAt: 't', headers: {} });
  });
});
