/**
 * What `authorize` may answer (fast-check): only `true` or an object with `allow: true` allows;
 * anything else a hook might return (truthy strings, numbers, `{ allow: 'yes' }`, arrays) denies.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { readVerdict } from '../src/websocket/session-presence.js';

describe('authorize verdicts', () => {
  it('allows only true and { allow: true }, and keeps presence only from an object', () => {
    expect(readVerdict(true)).toEqual({ allow: true });
    expect(readVerdict({ allow: true })).toEqual({ allow: true });
    expect(readVerdict({ allow: true, presence: { user: 'ada' } })).toEqual({ allow: true, presence: { user: 'ada' } });
    expect(readVerdict({ allow: true, presence: 'ada' })).toEqual({ allow: true });
    for (const denied of [false, undefined, null, 1, 'true', 'yes', {}, { allow: 'true' }, { allow: 1 }, [true], { presence: { user: 'x' } }]) {
      expect(readVerdict(denied)).toEqual({ allow: false });
    }
  });

  it('denies every value that is not true and has no allow: true (fast-check)', () => {
    fc.assert(
      fc.property(fc.anything(), (value) => {
        const allowed = value === true || (typeof value === 'object' && value !== null && (value as { allow?: unknown }).allow === true);
        expect(readVerdict(value).allow).toBe(allowed);
      }),
      { numRuns: 2000 },
    );
  });
});
