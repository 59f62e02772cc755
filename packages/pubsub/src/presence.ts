/**
 * Presence above the adapter seam, written once for every adapter: who is on a channel across
 * every node, and join/leave events.
 *
 * Promise: a member is listed by `presence()` on every node from the moment `join` resolved until
 * its `leave`, or, when its node stops (killed, cut off from the transport), until `ttlMs` after
 * that node's last heartbeat. A `join` / `leave` event is sent by the one node whose store call
 * changed the member (the store is atomic per channel), so each change is announced once. Events
 * are messages like any other: at-most-once, a subscriber that was down misses them, and a
 * foreign publisher on the same transport can forge them; `presence()` is the truth to reload from.
 */
import {
  assertSerializable,
  BackpressureError,
  ClosedError,
  createId,
  InvalidNameError,
  InvalidOptionError,
  type PubSubPresenceRecord,
  type PubSubPresenceStore,
  validateChannelName,
} from '@events/core';
import type { Report } from './dispatch.js';
import { decodeMember, MAX_PRESENCE_CHANNEL_LENGTH, presenceEventChannel, PRESENCE_CHANNEL_PREFIX, readEvent } from './presence-codec.js';
import type { PresenceEvent, PresenceHandle, PresenceInfo, PresenceListOptions, PresenceMember, PresenceOptions, PresenceSnapshot } from './presence-types.js';
import type { Subscription } from './types.js';

export interface PresenceHost {
  readonly nodeId: string;
  readonly kind: string;
  readonly store: PubSubPresenceStore | undefined;
  readonly report: Report;
  /** Transport name of a channel (`<namespace>:<channel>`): the store key. */
  wire(channel: string): string;
  /** Sends an event to every node, this one included; never rejects (failures are reported). */
  publish(channel: string, payload: unknown): Promise<unknown>;
  subscribe(channel: string, handler: (payload: unknown, channel: string) => void): Promise<Subscription>;
  /** Topics with local subscribers (the event channels among them are swept). */
  topics(): Iterable<string>;
  /** Starts the PubSub (and its adapter) if needed. */
  ready(): Promise<void>;
}

interface Local {
  readonly member: PresenceMember;
  readonly record: PubSubPresenceRecord;
}

/** Expired members removed per store call: a long-dead channel is cleaned over several sweeps. */
const MAX_SWEEP = 1000;
const DEFAULT_LIMIT = 100;
/** Channels swept at once by a heartbeat (their commands share the connection's pipeline). */
const TICK_CONCURRENCY = 32;
/** Channels refreshed at once by a heartbeat. */
const REFRESH_CONCURRENCY = 128;

export function resolvePresenceOptions(options: PresenceOptions = {}): Required<PresenceOptions> {
  const resolved = {
    ttlMs: options.ttlMs ?? 15_000,
    heartbeatMs: options.heartbeatMs ?? 5000,
    maxInfoBytes: options.maxInfoBytes ?? 1024,
    maxMembersPerCall: options.maxMembersPerCall ?? 1000,
    maxLocalMembers: options.maxLocalMembers ?? 100_000,
  };
  for (const [name, value] of Object.entries(resolved)) {
    if (!Number.isInteger(value) || value < 1) throw new InvalidOptionError(`presence.${name}`, `must be a positive integer, got ${String(value)}`);
  }
  if (resolved.heartbeatMs >= resolved.ttlMs) throw new InvalidOptionError('presence.heartbeatMs', `must be below ttlMs (${resolved.ttlMs}), got ${resolved.heartbeatMs}`);
  return resolved;
}

export class Presence {
  /** This node's members, by channel. */
  private readonly local = new Map<string, Map<string, Local>>();
  private count = 0;
  private timer: NodeJS.Timeout | undefined;
  private ticking = false;
  private closed = false;
  /** Channels still to sweep in this round (a round may span several heartbeats). */
  private sweepQueue: string[] = [];

  constructor(
    private readonly host: PresenceHost,
    readonly options: Required<PresenceOptions>,
  ) {}

  get size(): number {
    return this.count;
  }

  async join(channel: string, info: PresenceInfo = {}): Promise<PresenceHandle> {
    const store = this.check(channel);
    const id = createId();
    const described: PresenceMember = {
      id,
      clientId: info.clientId ?? id,
      ...(info.user !== undefined ? { user: info.user } : {}),
      ...(info.info !== undefined ? { info: info.info } : {}),
      node: this.host.nodeId,
      joinedAt: new Date().toISOString(),
    };
    if (typeof described.clientId !== 'string' || (described.user !== undefined && typeof described.user !== 'string')) {
      throw new InvalidOptionError('presence member', 'clientId and user must be strings');
    }
    // A BigInt, a cycle, a function or a symbol is refused with SerializationError before anything is stored.
    assertSerializable(described, 'member');
    let data: string;
    try {
      data = JSON.stringify(described);
    } catch (err) {
      throw new InvalidOptionError('presence info', `cannot be written as JSON: ${(err as Error).message}`);
    }
    // The member as every node reads it back (a Date as its ISO string), here too.
    const member = JSON.parse(data) as PresenceMember;
    const bytes = Buffer.byteLength(data);
    if (bytes > this.options.maxInfoBytes) throw new InvalidOptionError('presence info', `the member is ${bytes} bytes as JSON; the limit is ${this.options.maxInfoBytes} (maxInfoBytes)`);
    if (this.count >= this.options.maxLocalMembers) throw new BackpressureError(`presence join on "${channel}": ${this.options.maxLocalMembers} members held (maxLocalMembers)`);
    await this.host.ready();
    const entry: Local = { member, record: { id, data } };
    let members = this.local.get(channel);
    if (!members) this.local.set(channel, (members = new Map()));
    members.set(id, entry);
    this.count += 1;
    this.arm();
    try {
      const added = await store.upsert(this.host.wire(channel), [entry.record], this.options.ttlMs);
      // close() began while this join was on its way: take the member out again, unannounced.
      if (this.closed) {
        await store.remove(this.host.wire(channel), [id]);
        throw new ClosedError('pubsub');
      }
      if (added.includes(id)) void this.host.publish(presenceEventChannel(channel), { type: 'join', member });
    } catch (err) {
      this.forget(channel, id);
      throw err;
    }
    return this.handle(channel, entry);
  }

  async list(channel: string, options: PresenceListOptions = {}): Promise<PresenceSnapshot> {
    const store = this.check(channel);
    const asked = options.limit ?? DEFAULT_LIMIT;
    if (!Number.isInteger(asked) || asked < 0) throw new InvalidOptionError('limit', `must be a whole number from 0, got ${String(asked)}`);
    const limit = Math.min(asked, this.options.maxMembersPerCall);
    await this.host.ready();
    const { members, total, expired } = await store.list(this.host.wire(channel), limit, MAX_SWEEP);
    this.announceExpired(channel, expired);
    const decoded: PresenceMember[] = [];
    for (const record of members) {
      const member = decodeMember(record.data);
      if (member) decoded.push(member);
      else this.host.report('decode', new Error(`presence of "${channel}": stored member ${record.id.slice(0, 64)} is not a member; left out`), { name: channel });
    }
    return { channel, members: decoded, total, truncated: total > decoded.length };
  }

  /** Join and leave events of `channel`; the listener never sees a malformed (foreign) event. */
  events(channel: string, listener: (event: PresenceEvent) => void): Promise<Subscription> {
    this.check(channel);
    this.arm();
    return this.host.subscribe(presenceEventChannel(channel), (payload) => {
      const event = readEvent(channel, payload);
      if (!event) return this.host.report('decode', new Error(`a presence event on "${channel}" is not one; dropped`), { name: presenceEventChannel(channel) });
      listener(event);
    });
  }

  /** Stops the heartbeat and forgets this node's members without a word: they expire after `ttlMs`. */
  stop(): [string, Map<string, Local>][] {
    this.closed = true;
    clearInterval(this.timer);
    const channels = [...this.local];
    this.local.clear();
    this.count = 0;
    return channels;
  }

  /** Removes every member of this node (their `leave` events go out), stops the heartbeat. */
  async close(): Promise<void> {
    const channels = this.stop();
    const store = this.host.store;
    if (!store) return;
    await Promise.all(
      channels.map(async ([channel, members]) => {
        try {
          const removed = await store.remove(this.host.wire(channel), [...members.keys()]);
          for (const { id } of removed) {
            const member = members.get(id)?.member;
            if (member) await this.host.publish(presenceEventChannel(channel), { type: 'leave', member, reason: 'left' });
          }
        } catch (err) {
          this.host.report('presence', err, { name: channel });
        }
      }),
    );
  }

  /**
   * One heartbeat. First every channel with members of this node is refreshed: that is what keeps
   * them listed, so it never waits behind anything else. Then expired members are swept from the
   * channels this node follows, round robin, for at most half a heartbeat: with many channels a
   * sweep round spans several heartbeats (`leave` with `expired` comes later), but a refresh is
   * never late because of sweeping.
   */
  async tick(): Promise<void> {
    const store = this.host.store;
    if (this.ticking || this.closed || !store) return;
    this.ticking = true;
    try {
      await this.inBatches([...this.local.keys()], REFRESH_CONCURRENCY, (channel) => this.refresh(store, channel));
      if (this.sweepQueue.length === 0) this.sweepQueue = this.followed();
      const until = Date.now() + this.options.heartbeatMs / 2;
      while (this.sweepQueue.length > 0 && !this.closed && Date.now() < until) {
        const batch = this.sweepQueue.splice(0, TICK_CONCURRENCY);
        await this.inBatches(batch, TICK_CONCURRENCY, async (channel) => {
          const { expired } = await store.list(this.host.wire(channel), 0, MAX_SWEEP);
          this.announceExpired(channel, expired);
        });
      }
    } finally {
      this.ticking = false;
    }
  }

  /** Channels whose expired members this node sweeps: those it has members on or follows events of. */
  private followed(): string[] {
    const followed = new Set(this.local.keys());
    for (const topic of this.host.topics()) if (topic.startsWith(PRESENCE_CHANNEL_PREFIX)) followed.add(topic.slice(PRESENCE_CHANNEL_PREFIX.length));
    return [...followed];
  }

  /** Runs `work` per channel, `concurrency` at a time; a failure is reported per channel. */
  private async inBatches(channels: readonly string[], concurrency: number, work: (channel: string) => Promise<void>): Promise<void> {
    for (let i = 0; i < channels.length && !this.closed; i += concurrency) {
      await Promise.all(
        channels.slice(i, i + concurrency).map(async (channel) => {
          try {
            await work(channel);
          } catch (err) {
            this.host.report('presence', err, { name: channel });
          }
        }),
      );
    }
  }

  private async refresh(store: PubSubPresenceStore, channel: string): Promise<void> {
    const members = this.local.get(channel);
    if (!members || members.size === 0) return;
    const snapshot = [...members.values()];
    const added = await store.upsert(this.host.wire(channel), snapshot.map((m) => m.record), this.options.ttlMs);
    if (added.length === 0) return;
    const now = this.local.get(channel);
    // A member that left while this refresh was on its way was written back: take it out again.
    const gone = added.filter((id) => !now?.has(id));
    if (gone.length > 0) await store.remove(this.host.wire(channel), gone);
    // The others had expired and were swept (their node was cut off longer than ttlMs): announce them again.
    for (const id of added) {
      const entry = now?.get(id);
      if (entry) void this.host.publish(presenceEventChannel(channel), { type: 'join', member: entry.member });
    }
  }

  private announceExpired(channel: string, expired: readonly PubSubPresenceRecord[]): void {
    for (const record of expired) {
      const member = decodeMember(record.data);
      if (member) void this.host.publish(presenceEventChannel(channel), { type: 'leave', member, reason: 'expired' });
    }
  }

  private handle(channel: string, entry: Local): PresenceHandle {
    let leaving: Promise<void> | undefined;
    return {
      channel,
      member: entry.member,
      get active() {
        return leaving === undefined;
      },
      leave: () => (leaving ??= this.leave(channel, entry)),
    };
  }

  private async leave(channel: string, entry: Local): Promise<void> {
    if (!this.forget(channel, entry.member.id) || this.closed) return;
    const store = this.host.store!;
    const removed = await store.remove(this.host.wire(channel), [entry.member.id]);
    if (removed.length > 0) await this.host.publish(presenceEventChannel(channel), { type: 'leave', member: entry.member, reason: 'left' });
  }

  private forget(channel: string, id: string): boolean {
    const members = this.local.get(channel);
    if (!members?.delete(id)) return false;
    this.count -= 1;
    if (members.size === 0) this.local.delete(channel);
    return true;
  }

  private check(channel: string): PubSubPresenceStore {
    validateChannelName(channel);
    if (channel.length > MAX_PRESENCE_CHANNEL_LENGTH) {
      throw new InvalidNameError('channel name', channel, `is ${channel.length} characters long; presence works on channels of at most ${MAX_PRESENCE_CHANNEL_LENGTH}`);
    }
    if (!this.host.store) throw new InvalidOptionError('adapter', `the ${this.host.kind} adapter keeps no presence`);
    return this.host.store;
  }

  /** The heartbeat runs while this node holds members or follows events; unref'd, it never keeps a process alive. */
  private arm(): void {
    if (this.timer || this.closed) return;
    this.timer = setInterval(() => void this.tick(), this.options.heartbeatMs);
    this.timer.unref();
  }
}
