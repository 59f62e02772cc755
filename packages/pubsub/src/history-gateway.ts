/**
 * The websocket gateway's part of resume: a client's `since` is read strictly (it is hostile
 * input), the outcome goes back on the `subscribed` answer, and a later catch-up that lost
 * something becomes a `recovery` frame. Kept here so session.ts only calls these.
 */
import { parsePosition } from './history.js';
import type { StreamPosition, Subscription, SubscribeOptions } from './types.js';
import type { FrameRecovery, ServerFrame } from './websocket/protocol.js';

/** The `since` of a subscribe frame; throws (a protocol error) when it is there and not a position. */
export function readSince(frame: Record<string, unknown>): { since?: StreamPosition } {
  if (frame.since === undefined) return {};
  try {
    return { since: parsePosition(frame.since) };
  } catch (err) {
    throw new Error(`"since" ${(err as Error).message.replace(/^invalid option since\.?\s*/, '')}`, { cause: err });
  }
}

/**
 * Subscribe options for a client's subscription: its `since`, and `recovery` frames for the
 * catch-ups after the first answer (the first outcome travels on `subscribed`, see subscribedFields).
 */
export function resumeOptions(
  frame: { since?: StreamPosition },
  topic: string,
  out: { send(frame: ServerFrame): void; answered(): boolean },
): Pick<SubscribeOptions, 'since' | 'onRecovery'> {
  return {
    ...(frame.since ? { since: frame.since } : {}),
    onRecovery: (event) => {
      if (!out.answered()) return;
      out.send({ type: 'recovery', topic, ...recoveryOf(event), ...(event.position ? { position: event.position } : {}) });
    },
  };
}

/** What a `subscribed` answer adds for a channel with history: where the client now is, and the outcome of its `since`. */
export function subscribedFields(handle: { readonly position?: StreamPosition | undefined; readonly recovery?: Subscription['recovery'] | undefined }): {
  position?: StreamPosition;
  recovery?: FrameRecovery;
} {
  const position = handle.position;
  return { ...(position ? { position } : {}), ...(handle.recovery ? { recovery: recoveryOf(handle.recovery) } : {}) };
}

function recoveryOf(event: NonNullable<Subscription['recovery']>): FrameRecovery {
  return { recovered: event.recovered, replayed: event.replayed, ...(event.reason ? { reason: event.reason } : {}) };
}
