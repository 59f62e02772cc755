/**
 * Seams between the modules of this package that are not public API.
 */
import type { BroadcastOptions, SubscribeOptions } from './types.js';

/**
 * Subscribe option for a handler that only reads each message and never keeps or mutates it (the
 * websocket gateway, which serializes it into a frame at once). Such a handler gets the sender's
 * own envelope for a local broadcast instead of a decoded copy, so a node whose only local
 * subscribers are gateways never decodes what it just encoded. A registered symbol, so two copies
 * of the package still understand each other.
 */
export const SHARE_ENVELOPE: unique symbol = Symbol.for('@events/pubsub:share-envelope');

export interface InternalSubscribeOptions extends SubscribeOptions {
  readonly [SHARE_ENVELOPE]?: boolean;
}

/**
 * Broadcast option: the id of the envelope to send (request/reply keys its waiters by it, so it
 * must know the id before the request leaves). A registered symbol, as SHARE_ENVELOPE.
 */
export const ENVELOPE_ID: unique symbol = Symbol.for('@events/pubsub:envelope-id');

export interface InternalBroadcastOptions extends BroadcastOptions {
  readonly [ENVELOPE_ID]?: string;
}
