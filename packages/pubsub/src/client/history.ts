/**
 * The browser client's part of resume: it keeps the position of the last message of each
 * subscription on a channel with history, sends it as `since` on every (re)subscribe, drops a
 * message it already had, and turns the gateway's answer into one `recovered` event per reconnect.
 * Imports no value (the client runs in browsers).
 */
import type { FramePosition, FrameRecovery, ServerFrame } from '../websocket/protocol.js';

/** What the client tells the app after a resume: all missed messages came (`recovered`), or why not. */
export interface RecoveredEvent {
  readonly topic: string;
  readonly recovered: boolean;
  /** When not recovered: `too-old`, `epoch-changed`, `no-history`, `unavailable`. */
  readonly reason?: string;
  /** Messages the gateway replayed from history. */
  readonly replayed: number;
}

/** The part of a client subscription that resume uses. */
export interface Resumable {
  position?: FramePosition;
  /** A `since` went with the last subscribe: its answer becomes a `recovered` event. */
  resuming?: boolean;
}

function readPosition(offset: unknown, epoch: unknown): FramePosition | undefined {
  return typeof offset === 'number' && Number.isSafeInteger(offset) && offset >= 0 && typeof epoch === 'string' && epoch.length > 0 && epoch.length <= 64
    ? { offset, epoch }
    : undefined;
}

/** The `since` for a subscribe of this entry (none before its first message or answer). */
export function sinceOf(entry: Resumable): { since?: FramePosition } {
  entry.resuming = entry.position !== undefined;
  return entry.position ? { since: { ...entry.position } } : {};
}

/**
 * A message frame: its position, undefined for a channel without history, or false for a message
 * this client already had (at or below its position in the same epoch).
 */
export function acceptMessage(entry: Resumable | undefined, frame: Extract<ServerFrame, { type: 'message' }>): FramePosition | undefined | false {
  const position = readPosition(frame.offset, frame.epoch);
  if (!position || !entry) return position;
  const last = entry.position;
  if (last && last.epoch === position.epoch && position.offset <= last.offset) return false;
  entry.position = position;
  return position;
}

/** A `subscribed` answer: the new position, and the `recovered` event when a `since` was sent. */
export function answerSubscribed(entry: Resumable, frame: Extract<ServerFrame, { type: 'subscribed' }>): RecoveredEvent | undefined {
  const position = readPosition(frame.position?.offset, frame.position?.epoch);
  if (position) entry.position = position;
  const resuming = entry.resuming === true;
  entry.resuming = false;
  if (!resuming || !frame.recovery) return undefined;
  return recoveredOf(frame.topic, frame.recovery);
}

/** A `recovery` frame (the gateway's own transport dropped and history could not fill it all). */
export function answerRecovery(entry: Resumable | undefined, frame: Extract<ServerFrame, { type: 'recovery' }>): RecoveredEvent {
  const position = readPosition(frame.position?.offset, frame.position?.epoch);
  if (entry && position) entry.position = position;
  return recoveredOf(frame.topic, frame);
}

function recoveredOf(topic: string, recovery: FrameRecovery): RecoveredEvent {
  return {
    topic,
    recovered: recovery.recovered === true,
    replayed: Number(recovery.replayed) || 0,
    ...(typeof recovery.reason === 'string' ? { reason: recovery.reason } : {}),
  };
}
