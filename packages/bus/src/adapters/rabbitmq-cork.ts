/**
 * Frames written in one turn of the event loop leave in one system call. amqplib queues each
 * channel's frames and its muxer writes them to the socket one `write` each (a publish, an ack:
 * one system call, and one read on the broker's side, per frame). Corking the connection's socket
 * when we write and uncorking it once the muxer has run (its write happens in a `setImmediate`
 * scheduled from the next tick) sends them in one `writev`, in the order amqplib wrote them.
 *
 * Nothing waits past the current turn (no timer): at worst the uncork comes before the muxer ran
 * and its writes go out one by one, as without the cork. Reads amqplib internals (the channel's
 * `connection.stream`); a channel without a corkable stream is left alone.
 */

interface Corkable {
  cork(): void;
  uncork(): void;
}

function streamOf(channel: unknown): Corkable | undefined {
  const stream = (channel as { connection?: { stream?: unknown } } | undefined)?.connection?.stream;
  if (typeof stream !== 'object' || stream === null) return undefined;
  const s = stream as Corkable;
  return typeof s.cork === 'function' && typeof s.uncork === 'function' ? s : undefined;
}

export class FrameCork {
  private corked: Corkable | undefined;
  private readonly release = (): void => {
    const stream = this.corked;
    this.corked = undefined;
    stream?.uncork();
  };
  // amqplib's muxer reads its channel buffers in a setImmediate scheduled from a nextTick (the
  // buffer's 'readable'); ours is scheduled from a later nextTick, so it runs after the muxer's.
  private readonly afterMuxer = (): void => {
    setImmediate(this.release);
  };

  /** Corks the socket under `channel` until the muxer wrote this turn's frames. */
  hold(channel: unknown): void {
    if (this.corked !== undefined) return;
    const stream = streamOf(channel);
    if (stream === undefined) return;
    stream.cork();
    this.corked = stream;
    process.nextTick(this.afterMuxer);
  }
}
