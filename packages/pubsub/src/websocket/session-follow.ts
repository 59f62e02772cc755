/**
 * A client session's subscriptions (topics it follows): each is a member of the gateway's one
 * PubSub subscription of its topic (topic-groups.ts). A subscription resuming with `since` first
 * takes its messages from a PubSub subscription of its own, which replays what the client missed,
 * and moves to the shared stream once it has handed over as far as that: offsets decide the seam,
 * so nothing is missed and nothing comes twice.
 *
 * Not promised at the seam: a message without a position on a channel with history (a
 * `localBroadcast`) that one of the two streams held back while reading history may come twice or
 * not at all for a client that is moving over at that moment.
 */
import type { Envelope } from '@events/core';
import { resumeOptions } from '../history-gateway.js';
import { type InternalSubscribeOptions, SHARE_ENVELOPE } from '../internal.js';
import type { MessageMeta, PubSub, RecoveryEvent, StreamPosition, Subscription } from '../types.js';
import type { FramePosition, ServerFrame } from './protocol.js';
import { isReserved } from './reserved.js';
import type { QueueOwner } from './send-queue.js';
import type { SubscriptionPresence } from './session-presence.js';
import type { MemberSink, TopicGroups, TopicMember } from './topic-groups.js';

export interface ClientSub extends QueueOwner, TopicMember {
  readonly key: string | undefined;
  /** Subscribed (answered or about to be): presence requests and recovery frames may follow. */
  live: boolean;
  /**
   * Resuming with `since`: its messages come from a subscription of its own (`own`, once made)
   * until that has handed over as far as the shared stream; then it moves to the shared one.
   */
  catching: boolean;
  own?: Subscription;
  /** Position of the last message its own subscription handed over. */
  ownLast?: StreamPosition;
  /** Just moved to the shared stream: its messages up to here were sent by the own one. */
  through?: StreamPosition;
  presence?: SubscriptionPresence;
  /** The client session the subscription belongs to. */
  readonly session: FollowSession;
}

/** What the subscriptions share: one per gateway. */
export interface FollowHost {
  readonly pubsub: PubSub;
  readonly topics: Pick<TopicGroups, 'join' | 'leave' | 'position'>;
  frameOf(envelope: Envelope, topic: string, position?: FramePosition): Buffer;
}

/** What the subscriptions need of their session (its own functions: no closure per subscription). */
export interface FollowSession {
  closed(): boolean;
  /** Queues a message frame under the subscription's policy. */
  push(sub: ClientSub, frame: Buffer, envelope: Envelope): void;
  send(frame: ServerFrame): void;
  control(frame: string): void;
  detach(part: SubscriptionPresence): void;
}

/** The subscription logic, made once per gateway; each subscription names its session. */
export function createFollows(host: FollowHost) {
  /**
   * A `since` subscription: its own PubSub subscription replays what the client missed and carries
   * it until it has handed over as far as the shared stream (caughtUp), then closes. Resolves to
   * the outcome of `since`. Both subscriptions get every live message in the same dispatch, and
   * offsets decide the seam: nothing missed, nothing twice.
   */
  async function resume(sub: ClientSub, frame: { since?: StreamPosition }): Promise<RecoveryEvent | undefined> {
    const options: InternalSubscribeOptions = {
      onGap: (gap) => {
        if (sub.catching) sub.session.send({ type: 'gap', topic: sub.topic, channel: gap.channel, missing: gap.missing });
      },
      ...resumeOptions(frame, sub.topic, {
        send: (f) => {
          if (sub.catching) sub.session.send(f);
        },
        answered: () => sub.live,
      }),
      [SHARE_ENVELOPE]: true,
    };
    const own = await host.pubsub.subscribe(sub.topic, (_payload: unknown, meta: MessageMeta) => fromOwn(sub, meta), options);
    // Moved to the shared stream already (or gone): the own subscription has done its part.
    if (!sub.catching || sub.session.closed()) {
      void own.close({ drain: false });
      return own.recovery;
    }
    sub.own = own;
    sub.ownLast = own.position;
    caughtUp(sub);
    return own.recovery;
  }

  function fromOwn(sub: ClientSub, meta: MessageMeta): void {
    if (!sub.catching || sub.session.closed() || isReserved(meta.envelope.name)) return;
    sub.session.push(sub, host.frameOf(meta.envelope, sub.topic, meta.position), meta.envelope);
    if (meta.position === undefined) return;
    sub.ownLast = meta.position;
    caughtUp(sub);
  }

  /**
   * Moves a resuming subscription to the shared stream once its own one has handed over at least
   * as far (same epoch); the shared stream's messages up to there are then skipped (`through`).
   * Without history on either side, once the own subscription is confirmed: from then on both
   * got the same messages.
   */
  function caughtUp(sub: ClientSub): boolean {
    const shared = host.topics.position(sub.topic);
    const own = sub.ownLast;
    if (shared === undefined || own === undefined) {
      if (shared !== undefined || own !== undefined || sub.own === undefined) return false;
    } else if (shared.epoch !== own.epoch || shared.offset > own.offset) return false;
    sub.catching = false;
    sub.through = own;
    const handle = sub.own;
    sub.own = undefined;
    void handle?.close({ drain: false });
    return true;
  }

  /** Where the client now is, for its `subscribed` answer. */
  function positionOf(sub: ClientSub): StreamPosition | undefined {
    if (sub.catching) return sub.own?.position ?? sub.ownLast;
    const shared = host.topics.position(sub.topic);
    const through = sub.through;
    if (through && shared && shared.epoch === through.epoch && shared.offset < through.offset) return through;
    return shared;
  }

  /** Ends one subscription of the client: presence, own subscription, place in the shared one. */
  function release(sub: ClientSub): Promise<void> | undefined {
    if (sub.presence) sub.session.detach(sub.presence);
    sub.catching = false;
    const own = sub.own;
    sub.own = undefined;
    void own?.close({ drain: false });
    return host.topics.leave(sub);
  }

  const sink: MemberSink<ClientSub> = {
    message(sub, { frame, envelope, position }) {
      if (sub.session.closed() || (sub.catching && !caughtUp(sub))) return;
      const through = sub.through;
      if (through !== undefined && position !== undefined) {
        if (position.epoch === through.epoch && position.offset <= through.offset) return;
        sub.through = undefined;
      }
      sub.session.push(sub, frame, envelope);
    },
    notify(sub, frame) {
      if (!sub.session.closed() && sub.live && !sub.catching) sub.session.control(frame);
    },
  };


  return {
    sink,
    /** Joins the shared subscription (and resumes first, given `since`); resolves to the outcome of `since`. */
    async follow(sub: ClientSub, since: StreamPosition | undefined): Promise<RecoveryEvent | undefined> {
      await host.topics.join(sub);
      return since !== undefined && sub.catching && !sub.session.closed() ? resume(sub, { since }) : undefined;
    },
    positionOf,
    release,
  };
}
