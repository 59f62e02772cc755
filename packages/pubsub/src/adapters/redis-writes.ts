/**
 * How the Redis adapter hands its publishes to ioredis.
 *
 * One system call per tick for the publishes of that tick. ioredis writes every command to its
 * socket at once: a burst of N broadcasts made N `write` calls, each a system call, and as many
 * reads on Redis' side. Corking the publisher's socket on the first publish of a tick and
 * uncorking it on the next `process.nextTick` sends the whole burst in one `writev`, in order.
 *
 * Nothing waits longer than the current tick (no timer), and a publish that fails fails the same
 * way (ioredis rejects it when the connection goes, corked or not). A client without a corkable
 * `stream` (a Cluster, a custom client) is left alone.
 */
import { isAscii } from 'node:buffer';

interface Corkable {
  cork(): void;
  uncork(): void;
}

function corkable(value: unknown): value is Corkable {
  return typeof value === 'object' && value !== null && typeof (value as Corkable).cork === 'function' && typeof (value as Corkable).uncork === 'function';
}

/**
 * Corked bytes past which the burst leaves at once, the rest of the tick going into a new cork:
 * Redis starts on the first commands while this process is still making the next ones (a whole
 * window of publishes held for one writev left Redis idle meanwhile). Redis reads 16 KB at a time.
 */
export const MAX_CORKED_BYTES = 16 * 1024;

export class TickCork {
  private corked: Corkable | undefined;
  private bytes = 0;
  private readonly release = (): void => {
    const stream = this.corked;
    this.corked = undefined;
    stream?.uncork();
  };

  /**
   * Corks `client`'s socket until the next tick, unless a publish of this tick already did; call
   * it before writing a message of `bytes`.
   */
  hold(client: unknown, bytes: number): void {
    const corked = this.corked;
    if (corked !== undefined) {
      this.bytes += bytes;
      if (this.bytes > MAX_CORKED_BYTES) {
        corked.uncork();
        corked.cork();
        this.bytes = bytes;
      }
      return;
    }
    const stream = (client as { stream?: unknown } | null | undefined)?.stream;
    if (!corkable(stream)) return;
    stream.cork();
    this.corked = stream;
    this.bytes = bytes;
    process.nextTick(this.release);
  }

  /** Sends what is corked now (before QUIT, or when the connection is replaced). */
  flush(): void {
    this.release();
  }
}

/**
 * Below this size an ASCII message is cheaper to hand ioredis as a string: a Buffer puts ioredis
 * in its buffer mode, which copies the command into a fresh Buffer (0.45 µs more per 100-300 B
 * publish measured here); from about 2-3 KB on, copying the bytes once beats making a string.
 */
const STRING_BELOW = 2048;

/**
 * What to hand ioredis for a message: small ASCII bytes (JSON of ASCII text) as a one-byte string,
 * which ioredis writes as it is, anything else as the bytes. The bytes on the wire are the same.
 */
export function asWritten(data: Buffer): Buffer | string {
  return data.length < STRING_BELOW && isAscii(data) ? data.toString('latin1') : data;
}
