import fc from 'fast-check';
import type { Channel } from 'amqplib';
import { describe, expect, it } from 'vitest';
import { InvalidOptionError } from '@events/core';
import { createTopology, declareSubscription, type Topology } from './rabbitmq-topology.js';

/** Records the queue declarations the topology makes. */
function recordDeclares(t: Topology): Promise<Record<string, Record<string, unknown>>> {
  const declared: Record<string, Record<string, unknown>> = {};
  const ch = {
    assertQueue: (name: string, options: { arguments: Record<string, unknown> }) => {
      declared[name] = options.arguments;
      return Promise.resolve({ queue: name, messageCount: 0, consumerCount: 0 });
    },
    bindQueue: () => Promise.resolve({}),
  } as unknown as Channel;
  return declareSubscription(ch, t, { queue: 'ev.g.p', pattern: 'p' }).then(() => declared);
}

describe('quorum replicas (quorumInitialGroupSize)', () => {
  it('asks for that many replicas of the subscription queue and of its dead letters', async () => {
    const declared = await recordDeclares(createTopology({ exchange: 'ev', quorumInitialGroupSize: 3 }));
    expect(declared['ev.g.p']).toMatchObject({ 'x-queue-type': 'quorum', 'x-quorum-initial-group-size': 3 });
    expect(declared['ev.g.p.dead-letters']).toMatchObject({ 'x-queue-type': 'quorum', 'x-quorum-initial-group-size': 3 });
  });

  it('leaves the argument out by default (the broker puts a replica on every running node) and for classic queues', async () => {
    for (const t of [createTopology({ exchange: 'ev' }), createTopology({ exchange: 'ev', queueType: 'classic', quorumInitialGroupSize: 3 })]) {
      const declared = await recordDeclares(t);
      for (const args of Object.values(declared)) expect(args).not.toHaveProperty('x-quorum-initial-group-size');
    }
  });

  it('refuses anything but a whole number >= 1, naming the option', () => {
    fc.assert(
      fc.property(fc.oneof(fc.integer({ max: 0 }), fc.double().filter((d) => !Number.isInteger(d)), fc.constantFrom(Number.NaN, Infinity, -Infinity)), (size) => {
        expect(() => createTopology({ quorumInitialGroupSize: size })).toThrow(InvalidOptionError);
        expect(() => createTopology({ quorumInitialGroupSize: size })).toThrow(/rabbitmq\.quorumInitialGroupSize/);
      }),
    );
    fc.assert(fc.property(fc.integer({ min: 1, max: 1000 }), (size) => createTopology({ quorumInitialGroupSize: size }).quorumInitialGroupSize === size));
  });
});
