/**
 * A bounded send buffer for one websocket client. At most `highWaterBytes` are handed to the
 * socket and not yet written; behind that, at most `maxMessages` / `maxBytes` wait here. When a
 * message does not fit, the policy of its subscription decides; memory never grows past the bounds.
 * Control replies (`subscribed`, `error`, ...) have room of their own (`maxControlMessages`), so a
 * buffer full of messages never drops the answer a `subscribe()` waits for; when even that room is
 * full, `pushControl` says so and the gateway closes the client.
 */
import type { BufferPolicy } from './protocol.js';

export interface SendQueueLimits {
  /** Messages waiting behind the socket. Default: 1000. */
  maxMessages?: number;
  /** Bytes waiting behind the socket. Default: 1 MiB. */
  maxBytes?: number;
  /** Bytes handed to the socket but not yet written out (what `ws` buffers). Default: 256 KiB. */
  highWaterBytes?: number;
  /** Control replies waiting behind the socket, beside the messages. Default: 64. */
  maxControlMessages?: number;
}

export interface QueueOwner {
  readonly policy: BufferPolicy;
  /** Messages dropped since the client was last told. */
  dropped: number;
  /** Builds the `dropped` notice sent before this owner's next message. */
  notice(): string;
}

/** A text frame: a string, or its UTF-8 bytes when one frame goes to many clients (encoded once). */
export type Frame = string | Buffer;

interface Entry {
  frame: Frame;
  bytes: number;
  owner: QueueOwner | undefined;
  key: string | undefined;
  control: boolean;
}

export interface SendQueueStats {
  queuedMessages: number;
  queuedBytes: number;
  inflightBytes: number;
  /** Largest queuedBytes ever held. */
  peakQueuedBytes: number;
  droppedTotal: number;
  conflatedTotal: number;
}

/**
 * The socket side. `write` hands a frame to the socket and calls `done` once it is written out
 * (the queue passes the same function every time, so the socket can batch the callbacks);
 * `buffered` says how many bytes were handed over and not yet written (ws' `bufferedAmount`).
 */
export interface Sink {
  write(frame: Frame, done: () => void): void;
  buffered(): number;
}

const byteLength = (frame: Frame): number => (typeof frame === 'string' ? Buffer.byteLength(frame) : frame.length);

export class SendQueue {
  private readonly entries: Entry[] = [];
  private readonly maxMessages: number;
  private readonly maxBytes: number;
  private readonly highWater: number;
  private readonly maxControl: number;
  private queuedBytes = 0;
  private controlCount = 0;
  private controlBytes = 0;
  private peak = 0;
  private droppedTotal = 0;
  private conflatedTotal = 0;

  constructor(
    private readonly sink: Sink,
    limits: SendQueueLimits = {},
  ) {
    this.maxMessages = limits.maxMessages ?? 1000;
    this.maxBytes = limits.maxBytes ?? 1024 * 1024;
    this.highWater = limits.highWaterBytes ?? 256 * 1024;
    this.maxControl = limits.maxControlMessages ?? 64;
  }

  /** Queues a control reply; false when its own room is full too (the client reads nothing). */
  pushControl(frame: Frame): boolean {
    if (this.entries.length === 0 && this.sink.buffered() < this.highWater) {
      this.sink.write(frame, this.written);
      return true;
    }
    if (this.controlCount >= this.maxControl) return false;
    const bytes = byteLength(frame);
    this.entries.push({ frame, bytes, owner: undefined, key: undefined, control: true });
    this.queuedBytes += bytes;
    this.controlCount += 1;
    this.controlBytes += bytes;
    this.peak = Math.max(this.peak, this.queuedBytes);
    this.flush();
    return true;
  }

  /** Called by the socket after each write: room may have opened for what waits here. */
  private readonly written = (): void => {
    if (this.entries.length > 0) this.flush();
  };

  /** Queues a frame; false means the owner's policy is `disconnect` and it did not fit. */
  push(frame: Frame, owner?: QueueOwner, key?: string): boolean {
    // The common case: nothing waits and the socket has room, so the frame goes straight out.
    if (this.entries.length === 0 && this.sink.buffered() < this.highWater) {
      this.announceDrops(owner);
      this.sink.write(frame, this.written);
      return true;
    }
    const bytes = byteLength(frame);
    if (owner?.policy === 'conflate' && key !== undefined) {
      const existing = this.entries.find((e) => e.owner === owner && e.key === key);
      if (existing) {
        this.queuedBytes += bytes - existing.bytes;
        existing.frame = frame;
        existing.bytes = bytes;
        this.conflatedTotal += 1;
        this.flush();
        return true;
      }
    }
    if (!this.fits(bytes)) {
      const policy = owner?.policy ?? 'drop-newest';
      if (policy === 'disconnect') return false;
      if (policy === 'drop-newest' || !this.evictOldestOf(owner, bytes)) {
        this.drop(owner);
        return true;
      }
    }
    this.entries.push({ frame, bytes, owner, key, control: false });
    this.queuedBytes += bytes;
    this.peak = Math.max(this.peak, this.queuedBytes);
    this.flush();
    return true;
  }

  clear(): void {
    this.entries.length = 0;
    this.queuedBytes = 0;
    this.controlCount = 0;
    this.controlBytes = 0;
  }

  stats(): SendQueueStats {
    return {
      queuedMessages: this.entries.length,
      queuedBytes: this.queuedBytes,
      inflightBytes: this.sink.buffered(),
      peakQueuedBytes: this.peak,
      droppedTotal: this.droppedTotal,
      conflatedTotal: this.conflatedTotal,
    };
  }

  private fits(bytes: number): boolean {
    // An empty queue in front of an idle socket takes any frame (the frame limit is the sender's business).
    if (this.entries.length === 0 && this.sink.buffered() < this.highWater) return true;
    return this.entries.length - this.controlCount < this.maxMessages && this.queuedBytes - this.controlBytes + bytes <= this.maxBytes;
  }

  /** drop-oldest / conflate: evicts the owner's oldest queued messages until `bytes` fit. */
  private evictOldestOf(owner: QueueOwner | undefined, bytes: number): boolean {
    if (!owner) return false;
    while (!this.fits(bytes)) {
      const index = this.entries.findIndex((e) => e.owner === owner);
      if (index === -1) return false;
      const [evicted] = this.entries.splice(index, 1);
      this.queuedBytes -= evicted!.bytes;
      this.drop(owner);
    }
    return true;
  }

  private drop(owner: QueueOwner | undefined): void {
    this.droppedTotal += 1;
    if (owner) owner.dropped += 1;
  }

  private flush(): void {
    while (this.entries.length > 0 && this.sink.buffered() < this.highWater) {
      const entry = this.entries.shift()!;
      this.queuedBytes -= entry.bytes;
      if (entry.control) {
        this.controlCount -= 1;
        this.controlBytes -= entry.bytes;
      }
      this.announceDrops(entry.owner);
      this.sink.write(entry.frame, this.written);
    }
  }

  /** Tells the client how many of this owner's messages were dropped, before its next one. */
  private announceDrops(owner: QueueOwner | undefined): void {
    if (owner && owner.dropped > 0) {
      this.sink.write(owner.notice(), this.written);
      owner.dropped = 0;
    }
  }
}
