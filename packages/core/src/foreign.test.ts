import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { DecodeError } from './errors.js';
import { envelopeFromTransport } from './foreign.js';

const raw = Buffer.from('x');

describe('envelopeFromTransport (the foreign-producer rule)', () => {
  it('reads an envelope as one', () => {
    const e = envelopeFromTransport({ id: 'a', name: 'X', payload: 1, occurredAt: '2026-01-01T00:00:00.000Z', headers: { h: 'v' } }, raw, { name: 'X' });
    expect(e).toMatchObject({ id: 'a', name: 'X', payload: 1, headers: { h: 'v' } });
  });

  it('wraps a bare payload, taking the transport id when there is one', () => {
    expect(envelopeFromTransport({ userId: '1' }, raw, { name: 'X', id: 'm1' })).toMatchObject({ id: 'm1', name: 'X', payload: { userId: '1' } });
    expect(envelopeFromTransport(42, raw, { name: 'X' }).payload).toBe(42);
  });

  it('refuses an envelope whose name differs from the transport name', () => {
    expect(() => envelopeFromTransport({ id: 'a', name: 'Other', payload: 1 }, raw, { name: 'X' })).toThrow(DecodeError);
  });

  it('refuses headers that are not strings', () => {
    expect(() => envelopeFromTransport({ id: 'a', name: 'X', payload: 1, headers: { n: 1 } }, raw, { name: 'X' })).toThrow(/header "n"/);
  });

  it('never throws anything but a DecodeError, and a result always carries the transport name', () => {
    fc.assert(
      fc.property(fc.jsonValue(), (value) => {
        try {
          expect(envelopeFromTransport(value, raw, { name: 'X' }).name).toBe('X');
        } catch (err) {
          expect(err).toBeInstanceOf(DecodeError);
        }
      }),
      { numRuns: 500 },
    );
  });
});
