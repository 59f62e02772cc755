/**
 * A bounded send buffer for one websocket client. At most `highWaterBytes` are handed to the
 * socket and not yet written; behind that, at most `maxMessages` / `maxBytes` wait here. When a
 * message does not fit, the policy of its subscription decides; memory never grows past the bounds.
 * Control replies (`subscribed`, `error`, ...) have room of their own (`maxControlMessages`), so a
 * buffer full of messages never drops the answer a `subscribe()` waits for; when even that room is
 * full, `pushControl` says so and the gateway closes the client.
 *
 * Given a `schedule` hook, a frame that would go straight to the socket is staged instead (it
 * counts as handed over, as before) and written when the owner calls `flush()`: the gateway's
 * fan-out calls it a slice of clients at a time, so the frames staged for one client leave in
 * one corked write. A write asks for its completion callback only when the socket's buffer is
 * near its bound (half of `highWaterBytes`); below that, nothing waits on it.
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
  /** Called at each drop of one of this owner's messages, as it happens (metrics count it then). */
  onDrop?(): void;
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
 * The socket side. `write` hands a frame to the socket and calls `done`, when given, once it is
 * written out (the queue passes the same function every time, so the socket can batch the
 * callbacks); `buffered` says how many bytes were handed over and not yet written (ws'
 * `bufferedAmount`); `cork` / `uncork`, when given, hold a burst of writes for one system call.
 */
export interface Sink {
  write(frame: Frame, done?: () => void): void;
  buffered(): number;
  cork?(): void;
  uncork?(): void;
}

const byteLength = (frame: Frame): number => (typeof frame === 'string' ? Buffer.byteLength(frame) : frame.length);

export class SendQueue {
  /** Frames past the bounds' check, waiting only for the owner's `flush()` (deferred mode). */
  private readonly staged: Frame[] = [];
  private stagedBytes = 0;
  /** Frames held behind a full socket, under `maxMessages` / `maxBytes` and the policies. */
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

  private readonly callbackAt: number;

  constructor(
    private readonly sink: Sink,
    limits: SendQueueLimits = {},
    /** Deferred mode: called when frames were staged; the caller then calls `flush()` soon. */
    private readonly schedule?: () => void,
  ) {
    this.maxMessages = limits.maxMessages ?? 1000;
    this.maxBytes = limits.maxBytes ?? 1024 * 1024;
    this.highWater = limits.highWaterBytes ?? 256 * 1024;
    this.maxControl = limits.maxControlMessages ?? 64;
    this.callbackAt = this.highWater / 2;
  }

  /** Queues a control reply; false when its own room is full too (the client reads nothing). */
  pushControl(frame: Frame): boolean {
    if (this.entries.length === 0 && this.hasRoom()) {
      // Behind staged frames it is staged too (order kept); else nothing is ahead of it.
      if (this.staged.length > 0) this.stage(frame);
      else this.write(frame);
      return true;
    }
    if (this.controlCount >= this.maxControl) return false;
    const bytes = byteLength(frame);
    this.entries.push({ frame, bytes, owner: undefined, key: undefined, control: true });
    this.queuedBytes += bytes;
    this.controlCount += 1;
    this.controlBytes += bytes;
    this.peak = Math.max(this.peak, this.queuedBytes);
    this.moveOn();
    return true;
  }

  /** Called by the socket after a write it was asked to report: room may have opened for what waits here. */
  private readonly written = (): void => {
    if (this.entries.length > 0) this.flush();
  };

  /** Queues a frame; false means the owner's policy is `disconnect` and it did not fit. */
  push(frame: Frame, owner?: QueueOwner, key?: string): boolean {
    // The common case: nothing waits and the socket has room, so the frame goes straight out
    // (or, deferred, is staged to go out with the next flush).
    if (this.entries.length === 0 && this.hasRoom()) {
      if (this.schedule) {
        if (owner && owner.dropped > 0) this.stage(this.takeNotice(owner));
        this.stage(frame);
      } else {
        this.announceDrops(owner);
        this.write(frame);
      }
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
        this.moveOn();
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
    this.moveOn();
    return true;
  }

  /** Writes what is staged, then what waits while the socket has room, in one corked burst. */
  flush(): void {
    if (this.staged.length === 0 && (this.entries.length === 0 || this.sink.buffered() >= this.highWater)) return;
    this.sink.cork?.();
    try {
      // Taken out first: should a write throw, nothing is written twice.
      const staged = this.staged.splice(0);
      this.stagedBytes = 0;
      for (const frame of staged) this.write(frame);
      while (this.entries.length > 0 && this.sink.buffered() < this.highWater) {
        const entry = this.entries.shift()!;
        this.queuedBytes -= entry.bytes;
        if (entry.control) {
          this.controlCount -= 1;
          this.controlBytes -= entry.bytes;
        }
        this.announceDrops(entry.owner);
        this.write(entry.frame);
      }
    } finally {
      this.sink.uncork?.();
    }
  }

  clear(): void {
    this.staged.length = 0;
    this.stagedBytes = 0;
    this.entries.length = 0;
    this.queuedBytes = 0;
    this.controlCount = 0;
    this.controlBytes = 0;
  }

  stats(): SendQueueStats {
    return {
      queuedMessages: this.entries.length,
      queuedBytes: this.queuedBytes,
      inflightBytes: this.sink.buffered() + this.stagedBytes,
      peakQueuedBytes: this.peak,
      droppedTotal: this.droppedTotal,
      conflatedTotal: this.conflatedTotal,
    };
  }

  /** Room under the high-water mark, counting what is staged as handed over already. */
  private hasRoom(): boolean {
    return this.sink.buffered() + this.stagedBytes < this.highWater;
  }

  private stage(frame: Frame): void {
    this.staged.push(frame);
    this.stagedBytes += byteLength(frame);
    if (this.staged.length === 1) this.schedule?.();
  }

  /** After a frame was held: deferred, the scheduled flush writes it; else it is tried at once. */
  private moveOn(): void {
    if (this.schedule) this.schedule();
    else this.flush();
  }

  /** Hands a frame to the socket; asks to hear of its completion only near the bound. */
  private write(frame: Frame): void {
    const near = this.sink.buffered() + byteLength(frame) >= this.callbackAt;
    this.sink.write(frame, near ? this.written : undefined);
  }

  private fits(bytes: number): boolean {
    // An empty queue in front of an idle socket takes any frame (the frame limit is the sender's business).
    if (this.entries.length === 0 && this.hasRoom()) return true;
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
    if (owner) {
      owner.dropped += 1;
      owner.onDrop?.();
    }
  }

  /** Tells the client how many of this owner's messages were dropped, before its next one. */
  private announceDrops(owner: QueueOwner | undefined): void {
    if (owner && owner.dropped > 0) this.write(this.takeNotice(owner));
  }

  private takeNotice(owner: QueueOwner): string {
    const notice = owner.notice();
    owner.dropped = 0;
    return notice;
  }
}
