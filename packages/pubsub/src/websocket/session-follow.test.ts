/**
 * The seam of a resume: a client resuming with `since` takes messages from its own subscription
 * (replay, then live) until that has handed over as far as the shared stream, then from the shared
 * one. Driven here by hand: both streams deliver the channel's offsets in order, interleaved in any
 * way (the shared one ahead, the own one ahead with history the shared one has not had live yet),
 * the own subscription confirmed at any point. The client must get every offset after `since`
 * exactly once, in order.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Envelope } from '@events/core';
import type { MessageMeta, PubSub, StreamPosition, Subscription } from '../types.js';
import { type ClientSub, createFollows, type FollowSession } from './session-follow.js';

const EPOCH = 'e1';
const envelopeOf = (n: number): Envelope => ({ id: `m${n}`, name: 'feed:1', payload: { n }, occurredAt: '', headers: {} }) as unknown as Envelope;

function harness(sharedFloor: number) {
  const got: number[] = [];
  let shared: StreamPosition = { offset: sharedFloor, epoch: EPOCH };
  let ownHandler: ((payload: unknown, meta: MessageMeta) => void) | undefined;
  let ownFloor = 0;
  let confirm: ((handle: Subscription) => void) | undefined;
  let ownClosed = false;
  const pubsub = {
    subscribe: (_topic: string, handler: (payload: unknown, meta: MessageMeta) => void) => {
      ownHandler = handler;
      return new Promise<Subscription>((resolve) => (confirm = resolve));
    },
  } as unknown as PubSub;
  const follows = createFollows({ pubsub, topics: { join: () => Promise.resolve(), leave: () => undefined, position: () => shared }, frameOf: () => Buffer.alloc(0) });
  const session: FollowSession = {
    closed: () => false,
    push: (_sub, _frame, envelope) => void got.push((envelope.payload as { n: number }).n),
    send: () => undefined,
    control: () => undefined,
    detach: () => undefined,
  };
  const sub: ClientSub = { topic: 'feed:1', sink: follows.sink, session, key: undefined, policy: 'drop-oldest', dropped: 0, live: false, catching: true, notice: () => '' };
  return {
    got,
    sub,
    follows,
    ownClosed: () => ownClosed,
    subscribed: () => ownHandler !== undefined,
    /** The shared stream hands over offset n (its position moves first, as HistoryStream's does). */
    sharedDelivers(n: number) {
      shared = { offset: n, epoch: EPOCH };
      follows.sink.message(sub, { frame: Buffer.alloc(0), envelope: envelopeOf(n), position: shared });
    },
    ownDelivers(n: number) {
      ownFloor = n;
      ownHandler!({ n }, { channel: 'feed:1', envelope: envelopeOf(n), position: { offset: n, epoch: EPOCH } });
    },
    confirmOwn(since: number) {
      confirm!({
        id: 'own',
        topic: 'feed:1',
        topics: ['feed:1'],
        active: true,
        get position() {
          return { offset: Math.max(ownFloor, since), epoch: EPOCH };
        },
        close: () => {
          ownClosed = true;
          return Promise.resolve();
        },
      } as unknown as Subscription);
    },
  };
}

const settle = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

describe('resume seam (session-follow)', () => {
  it('property: every offset after since, once, in order, however the two streams interleave', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.nat(20),
        fc.nat(20),
        fc.integer({ min: 0, max: 30 }),
        fc.array(fc.boolean(), { maxLength: 120 }),
        fc.nat(60),
        async (since, sharedFloor, extra, picks, confirmAt) => {
          const top = Math.max(since, sharedFloor) + extra;
          const h = harness(sharedFloor);
          const following = h.follows.follow(h.sub, { offset: since, epoch: EPOCH });
          await settle();
          expect(h.subscribed()).toBe(true);
          // Each stream hands over its offsets in order; `picks` interleaves them.
          let own = since;
          let shared = sharedFloor;
          let confirmed = false;
          let step = 0;
          const next = (pickOwn: boolean): void => {
            if (!confirmed && step++ >= confirmAt) {
              h.confirmOwn(since);
              confirmed = true;
            }
            const ownNext = own < top && (pickOwn || shared >= top);
            if (ownNext) h.ownDelivers(++own);
            else if (shared < top) h.sharedDelivers(++shared);
          };
          for (const pick of picks) next(pick);
          while (own < top || shared < top) next(own < top);
          if (!confirmed) h.confirmOwn(since);
          await following;
          expect(h.got).toEqual(Array.from({ length: top - since }, (_, i) => since + 1 + i));
          // Once the shared stream reached the client, the client is on it, the own one closed.
          expect(h.sub.catching).toBe(false);
          expect(h.ownClosed()).toBe(true);
        },
      ),
      { numRuns: 500 },
    );
  });
});
