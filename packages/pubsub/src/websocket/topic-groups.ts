/**
 * One PubSub subscription per topic per gateway, shared by every client session that follows the
 * topic (ref-counted: shared-subscriptions.ts). A broadcast to a topic with 10,000 clients is one handler call in the PubSub (not 10,000
 * in one event-loop turn): its frame is built once and staged in each member's send queue, whose
 * socket writes the fan-out spreads over turns (fan-out.ts).
 * The subscription is made when the first session joins (a join resolves once it is confirmed, as
 * a client's own subscription did), closed when the last one leaves.
 * Per-client rules (authorization, send buffers and policies, resume with `since`, presence) stay
 * with the session; a group only carries messages and the shared stream's gap / recovery news.
 */
import type { Envelope, ErrorReporter } from '@events/core';
import { resumeOptions } from '../history-gateway.js';
import { type InternalSubscribeOptions, SHARE_ENVELOPE } from '../internal.js';
import type { MessageMeta, PubSub, StreamPosition, Subscription } from '../types.js';
import type { FramePosition, ServerFrame } from './protocol.js';
import { isReserved } from './reserved.js';
import { SharedSubscriptions } from './shared-subscriptions.js';

/** Where a member's messages go: one object per gateway, called with the member (no closure per subscription). */
export interface MemberSink<T extends TopicMember> {
  /** A message of the member's topic; the delivery (its `frame` built once) is shared by every member. */
  message(member: T, delivery: SharedDelivery): void;
  /** A `gap` or `recovery` frame of the shared stream. */
  notify(member: T, frame: string): void;
}

export interface SharedDelivery {
  readonly frame: Buffer;
  readonly envelope: Envelope;
  readonly position: FramePosition | undefined;
}

export interface TopicMember {
  readonly topic: string;
  readonly sink: MemberSink<this>;
}

export interface TopicGroupsHost {
  readonly pubsub: PubSub;
  readonly report: ErrorReporter['report'];
  frameOf(envelope: Envelope, topic: string, position?: FramePosition): Buffer;
}

export class TopicGroups extends SharedSubscriptions<TopicMember> {
  constructor(private readonly host: TopicGroupsHost) {
    super(host.report);
  }

  /** The shared stream's position on a channel with history (the last message it handed over). */
  position(topic: string): StreamPosition | undefined {
    return this.handleOf(topic)?.position;
  }

  protected subscribe(topic: string, members: ReadonlySet<TopicMember>): Promise<Subscription> {
    const notify = (frame: ServerFrame): void => {
      const text = JSON.stringify(frame);
      this.each(members, topic, (member) => member.sink.notify(member, text));
    };
    const options: InternalSubscribeOptions = {
      onGap: (gap) => notify({ type: 'gap', topic, channel: gap.channel, missing: gap.missing }),
      // No `since`: later catch-ups after an outage, when they lost something, go to every member.
      ...resumeOptions({}, topic, { send: notify, answered: () => true }),
      // deliver() only serializes the envelope into a frame at once, so it may share the sender's.
      [SHARE_ENVELOPE]: true,
    };
    return this.host.pubsub.subscribe(topic, (_payload: unknown, meta: MessageMeta) => this.deliver(topic, members, meta), options);
  }

  private deliver(topic: string, members: ReadonlySet<TopicMember>, meta: MessageMeta): void {
    const envelope = meta.envelope;
    // A glob such as `*` also matches the platform's own channels: those never reach a client.
    if (members.size === 0 || isReserved(envelope.name)) return;
    const delivery: SharedDelivery = { frame: this.host.frameOf(envelope, topic, meta.position), envelope, position: meta.position };
    // The hot loop of a fan-out: no closure per member (see each() for the same rule).
    for (const member of members) {
      try {
        member.sink.message(member, delivery);
      } catch (err) {
        this.report('listener', err, { name: topic, detail: { listener: 'shared subscription member' } });
      }
    }
  }
}
