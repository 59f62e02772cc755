/**
 * One PubSub subscription per topic per gateway, shared by every client session that follows the
 * topic. A broadcast to a topic with 10,000 clients is one handler call in the PubSub (not 10,000
 * in one event-loop turn): its frame is built once and staged in each member's send queue, whose
 * socket writes the fan-out spreads over turns (fan-out.ts).
 *
 * Ref-counted: the subscription is made when the first session joins (a join resolves once it is
 * confirmed, as a client's own subscription did), closed when the last one leaves. Members are the
 * sessions' subscriptions, so a group holds at most `maxConnections * maxSubscriptionsPerClient`.
 * Per-client rules (authorization, send buffers and policies, resume with `since`, presence) stay
 * with the session; a group only carries messages and the shared stream's gap / recovery news.
 */
import type { Envelope, ErrorReporter } from '@events/core';
import { resumeOptions } from '../history-gateway.js';
import { type InternalSubscribeOptions, SHARE_ENVELOPE } from '../internal.js';
import type { MessageMeta, PubSub, StreamPosition, Subscription } from '../types.js';
import type { FramePosition, ServerFrame } from './protocol.js';
import { isReserved } from './reserved.js';

/** Where a member's messages go: one object per session, called with the member (no closure per subscription). */
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

interface Group {
  readonly topic: string;
  /** Sessions waiting for the subscription to be confirmed: members once it is. */
  readonly pending: Set<TopicMember>;
  readonly members: Set<TopicMember>;
  readonly opening: Promise<Subscription>;
  handle: Subscription | undefined;
  gone: boolean;
}

export class TopicGroups {
  private readonly groups = new Map<string, Group>();

  constructor(private readonly host: TopicGroupsHost) {}

  /**
   * Adds `member` to its topic's group once the shared subscription is confirmed (at once when it
   * is). Rejects with the subscribe error (the member is then not in the group). A member that
   * `leave`s before it resolves is never added.
   */
  async join(member: TopicMember): Promise<void> {
    const group = this.groups.get(member.topic) ?? this.open(member.topic);
    if (group.handle !== undefined) {
      group.members.add(member);
      return;
    }
    group.pending.add(member);
    await group.opening;
  }

  /** The member leaves; the last one out closes the subscription (the promise settles once it is closed). */
  leave(member: TopicMember): Promise<void> | undefined {
    const group = this.groups.get(member.topic);
    // Not a member (its join failed, the group is another one now): nothing to release.
    if (!group || (!group.members.delete(member) && !group.pending.delete(member))) return undefined;
    if (group.members.size > 0 || group.pending.size > 0) return undefined;
    group.gone = true;
    this.groups.delete(group.topic);
    // Still opening: closed once it is confirmed (see open).
    return group.handle?.close({ drain: false }).catch((err: unknown) => this.host.report('listener', err, { name: group.topic }));
  }

  /** The shared stream's position on a channel with history (the last message it handed over). */
  position(topic: string): StreamPosition | undefined {
    return this.groups.get(topic)?.handle?.position;
  }

  stats(): { topics: number; members: number } {
    let members = 0;
    for (const group of this.groups.values()) members += group.members.size + group.pending.size;
    return { topics: this.groups.size, members };
  }

  private open(topic: string): Group {
    const notify = (frame: ServerFrame): void => {
      const text = JSON.stringify(frame);
      for (const member of group.members) {
        try {
          member.sink.notify(member, text);
        } catch (err) {
          this.failed(err, topic);
        }
      }
    };
    const options: InternalSubscribeOptions = {
      onGap: (gap) => notify({ type: 'gap', topic, channel: gap.channel, missing: gap.missing }),
      // No `since`: later catch-ups after an outage, when they lost something, go to every member.
      ...resumeOptions({}, topic, { send: notify, answered: () => true }),
      // deliver() only serializes the envelope into a frame at once, so it may share the sender's.
      [SHARE_ENVELOPE]: true,
    };
    const opening = this.host.pubsub.subscribe(topic, (_payload: unknown, meta: MessageMeta) => this.deliver(group, meta), options);
    const group: Group = { topic, pending: new Set(), members: new Set(), opening, handle: undefined, gone: false };
    this.groups.set(topic, group);
    opening.then(
      (handle) => {
        group.handle = handle;
        if (group.gone) return void handle.close({ drain: false }).catch(() => undefined);
        for (const member of group.pending) group.members.add(member);
        group.pending.clear();
      },
      () => {
        // Every waiting join rejects with the error; the next one tries again.
        if (this.groups.get(topic) === group) this.groups.delete(topic);
        group.gone = true;
      },
    );
    return group;
  }

  private deliver(group: Group, meta: MessageMeta): void {
    const envelope = meta.envelope;
    // A glob such as `*` also matches the platform's own channels: those never reach a client.
    if (group.gone || isReserved(envelope.name)) return;
    const delivery: SharedDelivery = { frame: this.host.frameOf(envelope, group.topic, meta.position), envelope, position: meta.position };
    // A member closed in the loop (its buffer full under `disconnect`) leaves the Set: skipped.
    // One member's failure is reported and costs only that member, never the others.
    for (const member of group.members) {
      try {
        member.sink.message(member, delivery);
      } catch (err) {
        this.failed(err, group.topic);
      }
    }
  }

  private failed(err: unknown, topic: string): void {
    this.host.report('listener', err, { name: topic, detail: { listener: 'topic member' } });
  }
}
