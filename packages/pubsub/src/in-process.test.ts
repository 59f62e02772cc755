import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { assertSerializable, createEnvelope, jsonSerializer } from '@events/core';
import { deepFreeze, jsonCopy } from './in-process.js';

/** What a broker would hand over: the JSON serializer's encode then decode. */
const roundTrip = (envelope: Parameters<typeof jsonCopy>[0]) => jsonSerializer.decode(jsonSerializer.encode(envelope));

describe('jsonCopy: the in-process copy of the default mode', () => {
  it('equals the JSON serializer round trip for any payload it accepts and any string headers', () => {
    fc.assert(
      fc.property(fc.anything({ withDate: true, withNullPrototype: true, withObjectString: true }), fc.dictionary(fc.string(), fc.string()), fc.option(fc.string({ minLength: 1 }), { nil: undefined }), (payload, headers, correlationId) => {
        try {
          assertSerializable(payload);
        } catch {
          return; // refused at broadcast in both paths
        }
        const envelope = createEnvelope('room:1', payload, correlationId === undefined ? { headers } : { headers, correlationId });
        const copy = jsonCopy(envelope);
        expect(copy).toStrictEqual(roundTrip(envelope));
        expect(Object.keys(copy.headers)).toEqual(Object.keys(roundTrip(envelope).headers));
        if (payload !== null && typeof payload === 'object') expect(copy.payload).not.toBe(payload);
      }),
      { numRuns: 300 },
    );
  });

  it('keeps a "__proto__" header as data, as JSON.parse does', () => {
    const headers = JSON.parse('{"__proto__":"x","a":"b"}') as Record<string, string>;
    const copy = jsonCopy(createEnvelope('c', 1, { headers }));
    expect(Object.keys(copy.headers)).toEqual(['__proto__', 'a']);
    expect(Object.getPrototypeOf(copy.headers)).toBe(Object.prototype);
  });
});

describe('deepFreeze', () => {
  it('freezes every object reachable, survives cycles, leaves typed arrays as they are', () => {
    const cyclic: Record<string, unknown> = { list: [{ n: 1 }], bytes: new Uint8Array(2) };
    cyclic.self = cyclic;
    deepFreeze(cyclic);
    expect(Object.isFrozen(cyclic)).toBe(true);
    expect(Object.isFrozen(cyclic.list)).toBe(true);
    expect(Object.isFrozen((cyclic.list as object[])[0])).toBe(true);
    expect(Object.isFrozen(cyclic.bytes)).toBe(false);
  });
});
