/**
 * What the client's presence requests and events carry (the requests wait in a PendingAnswers of
 * the client, like its publishes). Types only (it runs in browsers as it is).
 */
import type { PresenceMember } from '../websocket/protocol.js';

/** Who is on a channel, as the gateway answered (see the `presence` frame). */
export interface ClientPresenceSnapshot {
  readonly channel: string;
  readonly members: readonly PresenceMember[];
  readonly total: number;
  readonly truncated: boolean;
}

/** A member came or went (subscriptions made with `presenceEvents: true`). */
export interface ClientPresenceEvent {
  readonly topic: string;
  readonly channel: string;
  readonly member: PresenceMember;
  /** On a leave: `left` or `expired`. */
  readonly reason?: string;
}
