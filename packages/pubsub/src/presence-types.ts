/**
 * Public types of presence: who is on a channel across every node (see presence.ts).
 */

/** How a member describes itself; the websocket gateway takes it from `authorize`'s answer. */
export interface PresenceInfo {
  /** The application's id of the client (a session, a device). Default: the member id. */
  clientId?: string;
  /** The user behind the client. Default: none. */
  user?: string;
  /** Any JSON value (a display name, an avatar URL); a BigInt, cycle, function or symbol is refused with SerializationError. Default: none. */
  info?: unknown;
}

export interface PresenceMember {
  /** Unique per join, across every node (a UUIDv7). */
  readonly id: string;
  readonly clientId: string;
  readonly user?: string;
  readonly info?: unknown;
  /** Id of the node (PubSub instance) that holds the member. */
  readonly node: string;
  /** ISO time of the join. */
  readonly joinedAt: string;
}

/** One `presence()` answer. `members` holds at most the limit asked for; `total` counts all. */
export interface PresenceSnapshot {
  readonly channel: string;
  readonly members: readonly PresenceMember[];
  readonly total: number;
  /** True when `total` is larger than `members.length`. */
  readonly truncated: boolean;
}

/**
 * A member came or went. `reason` of a leave: `left` (its node removed it: it unsubscribed,
 * disconnected, or the node closed) or `expired` (its node stopped refreshing it: killed, cut off).
 */
export interface PresenceEvent {
  readonly type: 'join' | 'leave';
  readonly channel: string;
  readonly member: PresenceMember;
  readonly reason?: 'left' | 'expired';
}

export interface PresenceHandle {
  readonly channel: string;
  readonly member: PresenceMember;
  /** False once `leave()` was called. */
  readonly active: boolean;
  /** Removes the member (a `leave` event follows). Idempotent: every call returns the same promise. */
  leave(): Promise<void>;
}

export interface PresenceListOptions {
  /** Members to return at most. Default: 100; larger values are cut to `maxMembersPerCall`. */
  limit?: number;
}

export interface PresenceOptions {
  /**
   * How long a member stays listed after its node last refreshed it. A killed node's members
   * leave `presence()` within this time and their `leave` events follow within `ttlMs +
   * heartbeatMs`. Default: 15 000 ms.
   */
  ttlMs?: number;
  /** How often a node refreshes its members and sweeps expired ones of the channels it follows. Default: 5000 ms (must be below `ttlMs`). */
  heartbeatMs?: number;
  /** Largest encoded member (JSON of id, clientId, user, info, node, joinedAt), in bytes; a bigger `join` is refused. Default: 1024. */
  maxInfoBytes?: number;
  /** Largest `limit` of one `presence()` call. Default: 1000. */
  maxMembersPerCall?: number;
  /** Members this node holds at once; one more `join` is refused with BackpressureError. Default: 100 000. */
  maxLocalMembers?: number;
}
