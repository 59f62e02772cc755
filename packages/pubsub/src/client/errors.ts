/**
 * GatewayError, and the client's default error hook. No value import (the client runs in
 * browsers as it is, and core's hook would pull Node-only code).
 */
import type { ErrorEvent, ErrorHook } from '@events/core';
import type { ErrorCode } from '../websocket/protocol.js';

/**
 * An error frame from the gateway (`code`: one of the protocol's error codes), or a subscribe or
 * publish that could not be answered: `CLOSED` (the client closed), `TIMEOUT` (no answer in time),
 * `DISCONNECTED` (no connection when publishing, or it dropped before the answer: the message may or
 * may not have left).
 */
export class GatewayError extends Error {
  constructor(
    readonly code: ErrorCode | 'CLOSED' | 'TIMEOUT' | 'DISCONNECTED',
    message: string,
  ) {
    super(message);
    this.name = 'GatewayError';
  }
}

/** The default hook: console.error at a bounded rate (this module may import no value, so not core's). */
export function consoleHook(): ErrorHook {
  const windows = new Map<string, { start: number; count: number }>();
  return (event: ErrorEvent) => {
    const now = Date.now();
    let w = windows.get(event.kind);
    if (!w || now - w.start >= 10_000) windows.set(event.kind, (w = { start: now, count: 0 }));
    if ((w.count += 1) <= 5) console.error(`[@events/pubsub client] ${event.kind}:`, event.error);
  };
}
