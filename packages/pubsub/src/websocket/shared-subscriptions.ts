/**
 * Ref-counted PubSub subscriptions shared by the members that follow one topic: made when the first
 * member joins (a join resolves once it is confirmed), closed when the last one leaves. The subclass
 * says how to subscribe and what a delivery does for its members (topic-groups.ts: messages;
 * presence-groups.ts: join/leave events). Members are client sessions' subscriptions, so a group
 * holds at most `maxConnections * maxSubscriptionsPerClient`.
 */
import type { ErrorReporter } from '@events/core';
import type { Subscription } from '../types.js';

export interface SharedMember {
  readonly topic: string;
}

interface Group<T> {
  readonly topic: string;
  /** Members waiting for the subscription to be confirmed: members once it is. */
  readonly pending: Set<T>;
  readonly members: Set<T>;
  readonly opening: Promise<Subscription>;
  handle: Subscription | undefined;
  gone: boolean;
}

export abstract class SharedSubscriptions<T extends SharedMember> {
  private readonly groups = new Map<string, Group<T>>();

  constructor(protected readonly report: ErrorReporter['report']) {}

  /** Subscribes for a new group; its handler delivers to `members` (the live set: whoever is in it then). */
  protected abstract subscribe(topic: string, members: ReadonlySet<T>): Promise<Subscription>;

  /**
   * Adds `member` to its topic's group once the shared subscription is confirmed (at once when it
   * is). Rejects with the subscribe error (the member is then not in the group). A member that
   * `leave`s before it resolves is never added.
   */
  async join(member: T): Promise<void> {
    const group = this.groups.get(member.topic) ?? this.open(member.topic);
    if (group.handle !== undefined) {
      group.members.add(member);
      return;
    }
    group.pending.add(member);
    await group.opening;
  }

  /** The member leaves; the last one out closes the subscription (the promise settles once it is closed). */
  leave(member: T): Promise<void> | undefined {
    const group = this.groups.get(member.topic);
    // Not a member (its join failed, the group is another one now): nothing to release.
    if (!group || (!group.members.delete(member) && !group.pending.delete(member))) return undefined;
    if (group.members.size > 0 || group.pending.size > 0) return undefined;
    group.gone = true;
    this.groups.delete(group.topic);
    // Still opening: closed once it is confirmed (see open).
    return group.handle?.close({ drain: false }).catch((err: unknown) => this.report('listener', err, { name: group.topic }));
  }

  stats(): { topics: number; members: number } {
    let members = 0;
    for (const group of this.groups.values()) members += group.members.size + group.pending.size;
    return { topics: this.groups.size, members };
  }

  /** The confirmed shared subscription of `topic`, if there is one. */
  protected handleOf(topic: string): Subscription | undefined {
    return this.groups.get(topic)?.handle;
  }

  /** Calls `fn` for each member; one member's failure is reported and costs only that member. */
  protected each(members: ReadonlySet<T>, topic: string, fn: (member: T) => void): void {
    // A member closed in the loop (its buffer full under `disconnect`) leaves the Set: skipped.
    for (const member of members) {
      try {
        fn(member);
      } catch (err) {
        this.report('listener', err, { name: topic, detail: { listener: 'shared subscription member' } });
      }
    }
  }

  private open(topic: string): Group<T> {
    const members = new Set<T>();
    const opening = this.subscribe(topic, members);
    const group: Group<T> = { topic, pending: new Set(), members, opening, handle: undefined, gone: false };
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
}
