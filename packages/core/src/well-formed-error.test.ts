import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { wellFormedError } from './errors.js';

const hostile = fc.oneof(
  fc.anything({ withNullPrototype: true, withBigInt: true }),
  fc.constant(Object.create(null) as unknown),
  fc.constant({ toString: () => { throw new Error('no text'); } } as unknown),
  fc.string().map((message) => Object.defineProperty(new Error(message), 'name', { get: () => { throw new Error('no name'); } }) as unknown),
  fc.string().map((message) => Object.defineProperty(new Error(message), 'message', { get: () => { throw new Error('no message'); } }) as unknown),
);

describe('wellFormedError', () => {
  it('never throws, and what it returns reads as an Error with string name, message and stack', () => {
    fc.assert(
      fc.property(hostile, (caught) => {
        const error = wellFormedError(caught);
        expect(error).toBeInstanceOf(Error);
        expect(typeof error.name).toBe('string');
        expect(typeof error.message).toBe('string');
        expect(typeof error.stack).toBe('string');
      }),
    );
  });

  it('keeps a well-formed Error as it is, its class included', () => {
    class FinalError extends Error {}
    const error = new FinalError('stop');
    expect(wellFormedError(error)).toBe(error);
  });
});
