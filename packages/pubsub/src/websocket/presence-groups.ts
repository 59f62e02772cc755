/**
 * One `onPresence` subscription per channel per gateway, shared by the client subscriptions made
 * with `presenceEvents` (ref-counted: shared-subscriptions.ts): a join or leave is decoded and
 * framed once, then queued for each of those clients as a message of its subscription (its buffer
 * policy applies), however many follow the channel.
 */
import type { ErrorReporter } from '@events/core';
import type { PresenceEvent, PubSub, Subscription } from '../types.js';
import type { ServerFrame } from './protocol.js';
import { type SharedMember, SharedSubscriptions } from './shared-subscriptions.js';

export interface PresenceFollower extends SharedMember {
  /** Queues a `join` / `leave` frame for this client. */
  push(frame: string): void;
}

export class PresenceGroups extends SharedSubscriptions<PresenceFollower> {
  constructor(
    private readonly pubsub: PubSub,
    report: ErrorReporter['report'],
  ) {
    super(report);
  }

  protected subscribe(topic: string, members: ReadonlySet<PresenceFollower>): Promise<Subscription> {
    return this.pubsub.onPresence(topic, (event) => {
      if (members.size === 0) return;
      const frame = presenceFrame(topic, event);
      this.each(members, topic, (member) => member.push(frame));
    });
  }
}

export function presenceFrame(topic: string, event: PresenceEvent): string {
  return JSON.stringify({ type: event.type, topic, channel: topic, member: event.member, ...(event.reason ? { reason: event.reason } : {}) } satisfies ServerFrame);
}
