/**
 * Channels under `_pubsub:` carry the platform's own traffic (presence events, request replies):
 * a websocket client may not subscribe to, publish on or ask the presence of one, whatever the
 * application's `authorize` / `authorizePublish` answer, and a glob never delivers one.
 */
import { EventsError, InvalidNameError, validateChannelName } from '@events/core';

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

/**
 * What a client is told when the transport failed: never the error's own text, which may name
 * internal hosts and topology (`cannot connect to the Redis Cluster at 10.0.0.5:7000`); the
 * detail goes to the gateway's onError.
 */
export const UNAVAILABLE_MESSAGE = 'the service is unavailable right now (the operator has the details); retry later';

/** Errors about the client's own request (a name, an option, a size), whose text may be shown to it. */
const CLIENT_FACING = new Set(['INVALID_NAME', 'INVALID_PATTERN', 'INVALID_OPTION', 'VALIDATION', 'SERIALIZATION', 'LIMIT']);

/** The text a client may see for `error`: its own message when it is about the request, else UNAVAILABLE_MESSAGE. */
export function clientMessage(error: unknown): string {
  return error instanceof EventsError && CLIENT_FACING.has(error.code) ? error.message : UNAVAILABLE_MESSAGE;
}
