import { describe, expect, it } from 'vitest';
import type { Envelope } from '@events/core';
import { createPubSub, memoryPubSub } from '../index.js';
import type { PubSub } from '../types.js';
import { type MemberSink, type SharedDelivery, TopicGroups, type TopicMember } from './topic-groups.js';

interface Member extends TopicMember {
  readonly name: string;
}

function setup(pubsub: PubSub = createPubSub({ adapter: memoryPubSub() })) {
  const got: Array<[string, number]> = [];
  const reports: unknown[] = [];
  let framesBuilt = 0;
  const sink: MemberSink<Member> = {
    message(member, delivery: SharedDelivery) {
      if (member.name === 'throws') throw new Error('member broke');
      got.push([member.name, (delivery.envelope.payload as { n: number }).n]);
    },
    notify: () => undefined,
  };
  const groups = new TopicGroups({
    pubsub,
    report: (_kind, err) => void reports.push(err),
    frameOf: (envelope: Envelope) => ((framesBuilt += 1), Buffer.from(JSON.stringify(envelope.payload))),
  });
  const member = (name: string, topic = 'room'): Member => ({ name, topic, sink });
  return { pubsub, groups, got, reports, member, framesBuilt: () => framesBuilt };
}

describe('topic groups', () => {
  it('one subscription for every member, a frame built once per message; a throwing member costs only itself', async () => {
    const { pubsub, groups, got, reports, member, framesBuilt } = setup();
    const members = [member('a'), member('throws'), member('b')];
    // Joined at once, before the subscription is confirmed: all wait for the same one.
    await Promise.all(members.map((m) => groups.join(m)));
    expect(pubsub.subscriptions().get('room')).toBe(1);
    expect(await pubsub.broadcast('room', { n: 1 })).toBe(1);
    expect(got).toEqual([
      ['a', 1],
      ['b', 1],
    ]);
    expect(framesBuilt()).toBe(1);
    expect(reports).toHaveLength(1);
    expect(groups.stats()).toEqual({ topics: 1, members: 3 });
    await pubsub.close();
  });

  it('the last member out closes the subscription, also one that left before it was confirmed', async () => {
    const { pubsub, groups, member } = setup();
    const [a, b] = [member('a'), member('b')];
    const joining = groups.join(a);
    // `a` leaves while the subscription is being made: it is never added, and the subscription closes.
    void groups.leave(a);
    await joining;
    await new Promise((resolve) => setImmediate(resolve));
    expect(pubsub.subscriptions().get('room')).toBeUndefined();
    await groups.join(a);
    await groups.join(b);
    void groups.leave(a);
    expect(pubsub.subscriptions().get('room')).toBe(1);
    await groups.leave(b);
    expect(pubsub.subscriptions().get('room')).toBeUndefined();
    expect(groups.stats()).toEqual({ topics: 0, members: 0 });
    // Leaving twice, or a group one never joined, changes nothing.
    expect(groups.leave(b)).toBeUndefined();
    await pubsub.close();
  });

  it('a failed subscribe rejects every waiting join; the next join tries again', async () => {
    const pubsub = createPubSub({ adapter: memoryPubSub() });
    const { groups, member } = setup(pubsub);
    await pubsub.close();
    await expect(Promise.all([groups.join(member('a')), groups.join(member('b'))])).rejects.toThrow();
    expect(groups.stats()).toEqual({ topics: 0, members: 0 });
    await expect(groups.join(member('c'))).rejects.toThrow();
  });
});
