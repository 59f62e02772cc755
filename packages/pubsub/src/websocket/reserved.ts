/**
 * Channels under `_pubsub:` carry the platform's own traffic (presence events, request replies):
 * a websocket client may not subscribe to, publish on or ask the presence of one, whatever the
 * application's `authorize` / `authorizePublish` answer, and a glob never delivers one.
 */
import { InvalidNameError, validateChannelName } from '@events/core';

export const RESERVED_PREFIX = '_pubsub:';

export function isReserved(channel: string): boolean {
  return channel.startsWith(RESERVED_PREFIX);
}

/** A channel name a client may use: valid, and not the platform's own. Throws InvalidNameError. */
export function validateClientChannel(channel: string): void {
  validateChannelName(channel);
  if (isReserved(channel)) throw reservedError(channel);
}

export function reservedError(topic: string): InvalidNameError {
  return new InvalidNameError('channel', topic, `channels under "${RESERVED_PREFIX}" belong to the platform (presence events, request replies)`);
}
