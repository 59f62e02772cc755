/**
 * A session's two ends: the client frames it reads (parsed strictly: they are hostile input) and
 * the socket its send queue writes to.
 */
import type { Duplex } from 'node:stream';
import type { WebSocket } from 'ws';
import { readSince } from '../history-gateway.js';
import { BUFFER_POLICIES, type BufferPolicy, type ClientFrame } from './protocol.js';
import type { Frame, Sink } from './send-queue.js';
import { parsePresenceFlags, parsePresenceRequest } from './session-presence.js';
import { wireOf } from './wire-frame.js';

/** Frames are sent as text, also when they are the shared UTF-8 bytes of one message. */
const TEXT = { binary: false } as const;

/** The socket under a client's send queue (a class: its methods cost no memory per client). */
export class SocketSink implements Sink {
  constructor(
    private readonly ws: WebSocket,
    private readonly socket: Duplex,
  ) {}

  write(frame: Frame, done?: () => void): void {
    // A broadcast's frame was built whole once (wire-frame.ts): one buffer to the socket.
    const wire = typeof frame === 'string' ? undefined : wireOf(frame);
    if (wire !== undefined && this.ws.readyState === this.ws.OPEN) this.socket.write(wire, done);
    else this.ws.send(frame, TEXT, done);
  }

  buffered(): number {
    return this.ws.bufferedAmount;
  }

  cork(): void {
    this.socket.cork();
  }

  uncork(): void {
    this.socket.uncork();
  }
}

/** Reads one client frame; keeps only the known fields, so a padded frame holds no extra memory. */
export function parseFrame(text: string): ClientFrame {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new Error('frame is not JSON');
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new Error('frame is not a JSON object');
  const frame = value as Record<string, unknown>;
  const { type, id, topic, policy, key } = frame;
  if (type !== 'subscribe' && type !== 'unsubscribe' && type !== 'publish' && type !== 'presence') throw new Error(`unknown frame type ${JSON.stringify(type)?.slice(0, 40)}`);
  if (typeof id !== 'string' && typeof id !== 'number') throw new Error('"id" must be a string or a number');
  if (type === 'publish') return parsePublish(id, frame);
  if (type === 'presence') return parsePresenceRequest(id, frame);
  if (typeof topic !== 'string') throw new Error('"topic" must be a string');
  if (type === 'unsubscribe') return { type, id, topic };
  if (policy !== undefined && !BUFFER_POLICIES.includes(policy as BufferPolicy)) throw new Error(`"policy" must be one of ${BUFFER_POLICIES.join(', ')}`);
  if (key !== undefined && typeof key !== 'string') throw new Error('"key" must be a string');
  return { type, id, topic, ...(policy !== undefined ? { policy: policy as BufferPolicy } : {}), ...(key !== undefined ? { key } : {}), ...parsePresenceFlags(frame), ...readSince(frame) };
}

function parsePublish(id: string | number, frame: Record<string, unknown>): ClientFrame {
  const { channel, data } = frame;
  if (typeof channel !== 'string') throw new Error('"channel" must be a string');
  if (!Object.hasOwn(frame, 'data')) throw new Error('a publish needs "data"');
  return { type: 'publish', id, channel, data };
}
