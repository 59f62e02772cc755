import { DecodeError } from '@events/core';
import { describe, expect, it } from 'vitest';
import { decodeJobData, parseStored } from './job-format.js';

const job = { id: 'j1', name: 'resize', enqueuedAt: Date.UTC(2026, 0, 1) };

describe('job data decoding', () => {
  it('reads an envelope', () => {
    const env = { id: 'j1', name: 'resize', payload: { w: 1 }, occurredAt: '2026-01-01T00:00:00.000Z', headers: { replayOf: 'j0' } };
    expect(decodeJobData({ ok: true, value: env }, job)).toEqual(env);
  });

  it('takes any other data as the payload (plain BullMQ producers)', () => {
    expect(decodeJobData({ ok: true, value: [1, 2] }, job)).toEqual({ id: 'j1', name: 'resize', payload: [1, 2], occurredAt: '2026-01-01T00:00:00.000Z', headers: {} });
    expect(decodeJobData({ ok: true, value: { w: 1 } }, job).payload).toEqual({ w: 1 });
  });

  it('refuses text that is not JSON and malformed envelopes with DecodeError', () => {
    expect(() => decodeJobData(parseStored('{oops'), job)).toThrow(DecodeError);
    // Core's foreign-producer rule, the same as the bus's: an envelope naming another job, or with
    // headers that are not strings, is refused; an object without a string id is a bare payload.
    expect(() => decodeJobData({ ok: true, value: { id: 'e1', name: 'other', payload: 1, occurredAt: 'x' } }, job)).toThrow(/differs from the transport's "resize"/);
    expect(() => decodeJobData({ ok: true, value: { id: 'e1', name: 'resize', payload: 1, headers: { n: 1 } } }, job)).toThrow(/header "n" is not a string/);
    expect(decodeJobData({ ok: true, value: { id: 1, name: 'x', payload: 1 } }, job).payload).toEqual({ id: 1, name: 'x', payload: 1 });
  });

  it('gives the DecodeError of a malformed envelope its message and the envelope JSON as raw bytes', () => {
    const value = { id: 'j1', name: 'x', payload: 1, occurredAt: 'x', headers: 'nope' };
    let caught: unknown;
    try {
      decodeJobData({ ok: true, value }, job);
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(DecodeError);
    expect((caught as DecodeError).message).toBe('cannot decode message: "headers" is not an object');
    expect((caught as DecodeError).raw.toString('utf8')).toBe(JSON.stringify(value));
  });
});
