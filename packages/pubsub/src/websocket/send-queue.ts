/**
 * A bounded send buffer for one websocket client. At most `highWaterBytes` are handed to the
 * socket and not yet written; behind that, at most `maxMessages` / `maxBytes` wait here. When a
 * message does not fit, the policy of its subscription decides; memory never grows past the bounds.
 */
import type { BufferPolicy } from './protocol.js';

export interface SendQueueLimits {
  /** Messages waiting behind the socket. Default: 1000. */
  maxMessages?: number;
  /** Bytes waiting behind the socket. Default: 1 MiB. */
  maxBytes?: number;
  /** Bytes handed to the socket but not yet written out (what `ws` buffers). Default: 256 KiB. */
  highWaterBytes?: number;
}

export interface QueueOwner {
  readonly policy: BufferPolicy;
  /** Messages dropped since the client was last told. */
  dropped: number;
  /** Builds the `dropped` notice sent before this owner's next message. */
  notice(): string;
}

interface Entry {
  frame: string;
  bytes: number;
  owner: QueueOwner | undefined;
  key: string | undefined;
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

export type Sink = (frame: string, done: () => void) => void;

export class SendQueue {
  private readonly entries: Entry[] = [];
  private readonly maxMessages: number;
  private readonly maxBytes: number;
  private readonly highWater: number;
  private queuedBytes = 0;
  private inflightBytes = 0;
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
  }

  /** Queues a frame; false means the owner's policy is `disconnect` and it did not fit. */
  push(frame: string, owner?: QueueOwner, key?: string): boolean {
    const bytes = Buffer.byteLength(frame);
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
    this.entries.push({ frame, bytes, owner, key });
    this.queuedBytes += bytes;
    this.peak = Math.max(this.peak, this.queuedBytes);
    this.flush();
    return true;
  }

  clear(): void {
    this.entries.length = 0;
    this.queuedBytes = 0;
  }

  stats(): SendQueueStats {
    return {
      queuedMessages: this.entries.length,
      queuedBytes: this.queuedBytes,
      inflightBytes: this.inflightBytes,
      peakQueuedBytes: this.peak,
      droppedTotal: this.droppedTotal,
      conflatedTotal: this.conflatedTotal,
    };
  }

  private fits(bytes: number): boolean {
    // An empty queue in front of an idle socket takes any frame (the frame limit is the sender's business).
    if (this.entries.length === 0 && this.inflightBytes < this.highWater) return true;
    return this.entries.length < this.maxMessages && this.queuedBytes + bytes <= this.maxBytes;
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
    while (this.entries.length > 0 && this.inflightBytes < this.highWater) {
      const entry = this.entries.shift()!;
      this.queuedBytes -= entry.bytes;
      if (entry.owner && entry.owner.dropped > 0) {
        this.write(entry.owner.notice());
        entry.owner.dropped = 0;
      }
      this.write(entry.frame);
    }
  }

  private write(frame: string): void {
    const bytes = Buffer.byteLength(frame);
    this.inflightBytes += bytes;
    this.sink(frame, () => {
      this.inflightBytes -= bytes;
      this.flush();
    });
  }
}
