import { createPubSub } from '../src/index.js';
import { describe, expect, it } from 'vitest';
import { ClosedError, type Envelope, jsonSerializer, type Serializer, type StandardSchemaV1, ValidationError } from '@events/core';
import { randomId } from '@events/testing';
import { pubsubConformance } from './conformance.js';
import { memoryContext } from './memory-context.js';
import { pubsubSafetyConformance } from './conformance-safety.js';

pubsubConformance('memory', memoryContext());
pubsubSafetyConformance('memory', memoryContext());

describe('memory pubsub: the send path', () => {
  /** Core's JSON serializer, counting how often each side runs. */
  function counting(): { serializer: Serializer; encoded: number; decoded: number } {
    const counts = {
      encoded: 0,
      decoded: 0,
      serializer: {
        contentType: jsonSerializer.contentType,
        encode: (envelope: Envelope) => ((counts.encoded += 1), jsonSerializer.encode(envelope)),
        decode: (raw: Buffer | string) => ((counts.decoded += 1), jsonSerializer.decode(raw)),
      },
    };
    return counts;
  }

  it('decodes nothing when no local handler matches, and once per message for any number of them', async () => {
    const counts = counting();
    const pubsub = createPubSub({ serializer: counts.serializer });
    const ch = `${randomId('m')}:room`;
    expect(await pubsub.broadcast(ch, { n: 1 })).toBe(0);
    expect(counts).toMatchObject({ encoded: 1, decoded: 0 });
    const got: unknown[] = [];
    await pubsub.subscribe(ch, (m) => void got.push(m));
    await pubsub.subscribe(ch, (m) => void got.push(m));
    await pubsub.subscribe(`${ch.split(':')[0]}:*`, (m) => void got.push(m));
    expect(await pubsub.broadcast(ch, { n: 2 })).toBe(3);
    expect(counts).toMatchObject({ encoded: 2, decoded: 1 });
    expect(got).toEqual([{ n: 2 }, { n: 2 }, { n: 2 }]);
    await pubsub.close();
  });

  it('validates against a channel schema (asynchronous path) and delivers its output', async () => {
    const ch = `${randomId('m')}:price`;
    const schema: StandardSchemaV1<unknown, { price: number }> = {
      '~standard': {
        version: 1,
        vendor: 'test',
        validate: async (value) => {
          const price = Number((value as { price?: unknown }).price);
          return Number.isFinite(price) ? { value: { price } } : { issues: [{ message: 'not a number', path: ['price'] }] };
        },
      },
    };
    const pubsub = createPubSub<Record<string, unknown>>({ schemas: { [ch]: schema } });
    const got: unknown[] = [];
    await pubsub.subscribe(ch, (m) => void got.push(m));
    expect(await pubsub.broadcast(ch, { price: '12.5' })).toBe(1);
    await expect(pubsub.broadcast(ch, { price: 'x' })).rejects.toBeInstanceOf(ValidationError);
    expect(got).toEqual([{ price: 12.5 }]);
    await pubsub.close();
  });

  it('refuses bad input with a rejected promise, never a synchronous throw', async () => {
    const pubsub = createPubSub();
    await pubsub.start();
    const calls = [() => pubsub.broadcast('has space', 1), () => pubsub.broadcast(`${randomId('m')}:x`, { n: 1n })];
    for (const call of calls) {
      let promise: Promise<number> | undefined;
      expect(() => (promise = call())).not.toThrow();
      await expect(promise).rejects.toThrow();
    }
    await pubsub.close();
    await expect(pubsub.localBroadcast('x', 1)).rejects.toBeInstanceOf(ClosedError);
  });
});
