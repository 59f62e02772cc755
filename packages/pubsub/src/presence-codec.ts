/**
 * Presence on the wire: a member is stored as JSON, and join/leave events travel as ordinary
 * messages on the channel `_pubsub:presence:<channel>`. Both may come from a foreign writer on the
 * same Redis, so every read is checked field by field and anything else is refused.
 */
import type { PresenceEvent, PresenceMember } from './presence-types.js';

/** Join and leave events of channel `c` are messages on `_pubsub:presence:c`. */
export const PRESENCE_CHANNEL_PREFIX = '_pubsub:presence:';

/** The longest channel presence works on: its event channel must fit core's 512-character limit. */
export const MAX_PRESENCE_CHANNEL_LENGTH = 512 - PRESENCE_CHANNEL_PREFIX.length;

/** The largest stored member any reader accepts, whatever the writer's maxInfoBytes. */
const MAX_STORED_BYTES = 64 * 1024;

export function presenceEventChannel(channel: string): string {
  return PRESENCE_CHANNEL_PREFIX + channel;
}

function isOptionalString(value: unknown): boolean {
  return value === undefined || typeof value === 'string';
}

/** A member read back from anywhere (the store, an event); undefined when it is not one. */
export function readMember(value: unknown): PresenceMember | undefined {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return undefined;
  const m = value as Record<string, unknown>;
  if (typeof m.id !== 'string' || typeof m.clientId !== 'string' || typeof m.node !== 'string' || typeof m.joinedAt !== 'string') return undefined;
  if (!isOptionalString(m.user)) return undefined;
  return {
    id: m.id,
    clientId: m.clientId,
    node: m.node,
    joinedAt: m.joinedAt,
    ...(m.user !== undefined ? { user: m.user as string } : {}),
    ...(m.info !== undefined ? { info: m.info } : {}),
  };
}

export function decodeMember(data: string): PresenceMember | undefined {
  if (data.length > MAX_STORED_BYTES) return undefined;
  try {
    return readMember(JSON.parse(data));
  } catch {
    return undefined;
  }
}

/** The payload of an event message: `{ type, member, reason? }` (the channel is the message's). */
export function readEvent(channel: string, payload: unknown): PresenceEvent | undefined {
  if (typeof payload !== 'object' || payload === null) return undefined;
  const p = payload as Record<string, unknown>;
  if (p.type !== 'join' && p.type !== 'leave') return undefined;
  if (p.reason !== undefined && p.reason !== 'left' && p.reason !== 'expired') return undefined;
  const member = readMember(p.member);
  if (!member) return undefined;
  return { type: p.type, channel, member, ...(p.type === 'leave' ? { reason: (p.reason as 'left' | 'expired' | undefined) ?? 'left' } : {}) };
}
