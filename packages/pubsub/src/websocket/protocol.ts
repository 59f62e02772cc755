/**
 * The websocket protocol between the gateway and its clients: JSON text frames, one object each,
 * with a `type`. Shared by the gateway and the browser client (so this file imports nothing).
 * Documented in docs/pubsub.md.
 */

/** What the server does when a subscription's messages do not fit in the client's send buffer. */
export type BufferPolicy = 'drop-oldest' | 'drop-newest' | 'conflate' | 'disconnect';

export const BUFFER_POLICIES: readonly BufferPolicy[] = ['drop-oldest', 'drop-newest', 'conflate', 'disconnect'];

export const CLOSE_CODES = {
  /** The gateway is shutting down. */
  GOING_AWAY: 1001,
  /** A frame that is not a valid protocol message (not JSON, unknown type, missing fields). */
  PROTOCOL_ERROR: 1002,
  /** A binary frame: the protocol is JSON text only. */
  UNSUPPORTED_DATA: 1003,
  /** The client broke a bound: more than maxFramesPerSecond, or more than maxPendingFrames waiting. */
  POLICY_VIOLATION: 1008,
  /** A frame larger than the gateway's maxPayloadBytes (sent by `ws` itself). */
  MESSAGE_TOO_BIG: 1009,
  /** The client read too slowly: its send buffer filled under the `disconnect` policy, or no room was left for a control reply. */
  SLOW_CONSUMER: 4001,
} as const;

/** A presence member as frames carry it (the same shape as the PubSub's PresenceMember). */
export interface PresenceMember {
  readonly id: string;
  readonly clientId: string;
  readonly user?: string;
  readonly info?: unknown;
  readonly node: string;
  readonly joinedAt: string;
}

export type ClientFrame =
  | {
      type: 'subscribe';
      /** Echoed in the answer. */
      id: string | number;
      /** A channel or a glob. */
      topic: string;
      /** Default: the gateway's defaultPolicy (`drop-oldest`). */
      policy?: BufferPolicy;
      /** With `conflate`: the payload field whose value identifies a "live value". Default: the channel alone. */
      key?: string;
      /** Be a member of the channel's presence while subscribed (a channel, not a glob). Default: false. */
      presence?: boolean;
      /** Receive the channel's `join` / `leave` frames as messages of this subscription. Default: false. */
      presenceEvents?: boolean;
      /** Resume a channel with history after this position (from a `message` or `subscribed` frame): missed messages first. Default: none. */
      since?: FramePosition;
    }
  | { type: 'unsubscribe'; id: string | number; topic: string }
  /** Who is on `channel` (at most `limit`, default 100). Answered with `presence` or an `error` with this id. */
  | { type: 'presence'; id: string | number; channel: string; limit?: number }
  /** Publish `data` on one channel (not a glob). Answered with `published` or an `error` with this id. */
  | { type: 'publish'; id: string | number; channel: string; data: unknown };

export type ErrorCode =
  | 'UNAUTHORIZED'
  | 'INVALID_NAME'
  | 'INVALID_PATTERN'
  | 'BAD_REQUEST'
  | 'LIMIT'
  | 'UNAVAILABLE'
  /** A publish to a gateway without `authorizePublish`: clients may not publish there at all. */
  | 'PUBLISH_DISABLED'
  /** A publish whose payload the channel's schema refused. */
  | 'INVALID_PAYLOAD'
  /** A publish past the client's publish rate. */
  | 'RATE_LIMITED';

export type ServerFrame =
  /** On a channel with history: `position` is where the client now is; `recovery` answers its `since`. */
  | { type: 'subscribed'; id: string | number; topic: string; position?: FramePosition; recovery?: FrameRecovery }
  | { type: 'unsubscribed'; id: string | number; topic: string }
  /** `topic` when a subscribe or unsubscribe failed, `channel` when a publish did. */
  | { type: 'error'; id?: string | number; topic?: string; channel?: string; code: ErrorCode; message: string }
  /** A publish was accepted and broadcast: `receivers` as `broadcast()` counted them (the publisher's own subscription included). */
  | { type: 'published'; id: string | number; channel: string; receivers: number }
  /**
   * `offset` and `epoch` on a channel with history: the position to resume after. `traceparent`
   * (and `tracestate`) when the message carries a valid W3C trace context: the producer's span, so
   * a browser continues its trace. Absent otherwise; clients that predate them ignore them.
   */
  | { type: 'message'; topic: string; channel: string; data: unknown; id: string; occurredAt: string; offset?: number; epoch?: string; traceparent?: string; tracestate?: string }
  /** The answer to a `presence` request: at most the limit of members, and how many there are. */
  | { type: 'presence'; id: string | number; channel: string; members: readonly PresenceMember[]; total: number; truncated: boolean }
  /** A member came to `channel` (for a subscription made with `presenceEvents`). */
  | { type: 'join'; topic: string; channel: string; member: PresenceMember }
  /** A member left `channel`; `reason`: `left` (it unsubscribed, disconnected, its node closed) or `expired` (its node stopped). */
  | { type: 'leave'; topic: string; channel: string; member: PresenceMember; reason?: string }
  /** `count` messages of `topic` were dropped by the buffer policy since the last notice. */
  | { type: 'dropped'; topic: string; count: number }
  /** The publisher's sequence jumped upstream: `missing` messages on `channel` may be lost. */
  | { type: 'gap'; topic: string; channel: string; missing: number }
  /** The gateway's own transport (Redis) dropped and came back; messages in between are lost. */
  | { type: 'resubscribed'; downAt: string; upAt: string }
  /** A catch-up from history after the gateway's transport dropped could not fill everything: continue from `position`. */
  | ({ type: 'recovery'; topic: string; position?: FramePosition } & FrameRecovery);

/** A place in a channel's history. */
export interface FramePosition {
  offset: number;
  epoch: string;
}

/** The outcome of a resume; `reason` when not `recovered`: `too-old`, `epoch-changed`, `no-history`, `unavailable`. */
export interface FrameRecovery {
  recovered: boolean;
  reason?: string;
  replayed: number;
}
