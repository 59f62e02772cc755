/**
 * Presence for one websocket client: membership and join/leave events per subscription (opt-in
 * with `presence` / `presenceEvents` on a subscribe frame), and `presence` request frames.
 *
 * Authorization: a client sees the presence of a channel only when it holds a subscription to
 * exactly that channel (authorized when it was made) or `authorize` allows the channel now. A
 * member describes itself with what `authorize` answered for its subscription
 * (`{ allow: true, presence: { clientId, user, info } }`), never with anything the client sent.
 */
import type { ErrorReporter } from '@events/core';
import { isChannelPattern } from '@events/core';
import type { PresenceHandle, PresenceInfo, PubSub } from '../types.js';
import type { PresenceFollower, PresenceGroups } from './presence-groups.js';
import type { ErrorCode, ServerFrame } from './protocol.js';
import { clientMessage, validateClientChannel } from './reserved.js';

/** What `authorize` may answer: `true`, `false`, or an object; only `allow: true` allows. */
export interface AuthorizeVerdict {
  readonly allow: boolean;
  /** How this client appears in the presence of the channel (when it subscribes with `presence`). Default: a member with only ids. */
  readonly presence?: PresenceInfo;
}

export type AuthorizeResult = boolean | AuthorizeVerdict;

/** Reads an `authorize` answer; anything but `true` or `{ allow: true }` denies. */
export function readVerdict(value: unknown): AuthorizeVerdict {
  if (value === true) return { allow: true };
  if (typeof value !== 'object' || value === null || (value as { allow?: unknown }).allow !== true) return { allow: false };
  const presence = (value as { presence?: unknown }).presence;
  return typeof presence === 'object' && presence !== null ? { allow: true, presence: presence as PresenceInfo } : { allow: true };
}

/** The presence part of one client subscription; detach it when the subscription goes. */
export interface SubscriptionPresence {
  member?: PresenceHandle;
  /** Leaves the gateway's shared `onPresence` subscription of the channel (presence-groups.ts). */
  events?: () => void;
}

export interface PresenceRequestFrame {
  type: 'presence';
  id: string | number;
  channel: string;
  limit?: number;
}

export interface SessionPresenceHost {
  readonly pubsub: PubSub;
  readonly report: ErrorReporter['report'];
  readonly client: number;
  /** The gateway's one `onPresence` subscription per channel, shared by its clients. */
  readonly events: Pick<PresenceGroups, 'join' | 'leave'>;
  /** The client holds a live subscription to exactly this topic. */
  subscribed(channel: string): boolean;
  authorized(channel: string, signal: AbortSignal): Promise<AuthorizeVerdict>;
  /** Queues a join/leave frame as a message of the subscription `topic` (its buffer policy applies). */
  push(topic: string, frame: string): void;
}

type Failure = { code: ErrorCode; message: string };

/**
 * Members one `presence` request frame gets at most (its `limit` is cut to it): an answer is at
 * most this many members of `maxInfoBytes` each, and a client that does not read holds at most
 * `buffer.maxControlMessages` answers before it is closed.
 */
export const MAX_MEMBERS_PER_REQUEST = 100;

/** Subscribe-frame check, before anything is subscribed: presence needs a channel, not a glob. */
export function presenceOptionError(topic: string, options: { presence?: boolean; presenceEvents?: boolean }): Failure | undefined {
  if ((options.presence === true || options.presenceEvents === true) && isChannelPattern(topic)) {
    return { code: 'BAD_REQUEST', message: `presence needs a channel, not the glob "${topic}"` };
  }
  return undefined;
}

export function createSessionPresence(host: SessionPresenceHost) {
  return {
    /** Joins and/or follows events for a subscription just made; a failure is the subscribe's error. */
    async attach(topic: string, options: { presence?: boolean; presenceEvents?: boolean }, identity: PresenceInfo | undefined): Promise<SubscriptionPresence | Failure> {
      const part: SubscriptionPresence = {};
      try {
        if (options.presenceEvents === true) {
          const follower: PresenceFollower = { topic, push: (frame) => host.push(topic, frame) };
          await host.events.join(follower);
          part.events = () => void host.events.leave(follower);
        }
        if (options.presence === true) part.member = await host.pubsub.join(topic, identity ?? {});
        return part;
      } catch (err) {
        detach(part);
        host.report('listener', err, { name: topic, detail: { client: host.client, presence: true } });
        return { code: 'UNAVAILABLE', message: `presence on "${topic}" failed: ${clientMessage(err)}` };
      }
    },
    detach,
    /** Answers a `presence` request frame with a `presence` frame or an error frame. */
    async request(request: PresenceRequestFrame, signal: AbortSignal): Promise<ServerFrame> {
      const { id, channel } = request;
      const fail = (code: ErrorCode, message: string): ServerFrame => ({ type: 'error', id, channel, code, message });
      try {
        validateClientChannel(channel);
      } catch (err) {
        return fail('INVALID_NAME', (err as Error).message);
      }
      if (!host.subscribed(channel) && !(await host.authorized(channel, signal)).allow) {
        return fail('UNAUTHORIZED', `not authorized to see the presence of "${channel}"`);
      }
      try {
        const snapshot = await host.pubsub.presence(channel, { limit: Math.min(request.limit ?? MAX_MEMBERS_PER_REQUEST, MAX_MEMBERS_PER_REQUEST) });
        return { type: 'presence', id, channel, members: snapshot.members, total: snapshot.total, truncated: snapshot.truncated };
      } catch (err) {
        host.report('listener', err, { name: channel, detail: { client: host.client, presence: true } });
        return fail('UNAVAILABLE', clientMessage(err));
      }
    },
  };
}

/** Leaves the presence of a subscription and stops its events. */
export function detach(part: SubscriptionPresence): void {
  // Leaving is announced by the member's node; a failure leaves it to expire after ttlMs.
  void part.member?.leave().catch(() => undefined);
  part.events?.();
}

/** Reads a `presence` request frame (see protocol.ts); throws on a malformed one. */
export function parsePresenceRequest(id: string | number, frame: Record<string, unknown>): PresenceRequestFrame {
  const { channel, limit } = frame;
  if (typeof channel !== 'string') throw new Error('"channel" must be a string');
  if (limit !== undefined && (!Number.isInteger(limit) || (limit as number) < 0 || (limit as number) > 1_000_000)) throw new Error('"limit" must be a whole number from 0');
  return { type: 'presence', id, channel, ...(limit !== undefined ? { limit: limit as number } : {}) };
}

/** Reads the presence flags of a subscribe frame. */
export function parsePresenceFlags(frame: Record<string, unknown>): { presence?: boolean; presenceEvents?: boolean } {
  const { presence, presenceEvents } = frame;
  if (presence !== undefined && typeof presence !== 'boolean') throw new Error('"presence" must be a boolean');
  if (presenceEvents !== undefined && typeof presenceEvents !== 'boolean') throw new Error('"presenceEvents" must be a boolean');
  return { ...(presence !== undefined ? { presence } : {}), ...(presenceEvents !== undefined ? { presenceEvents } : {}) };
}
