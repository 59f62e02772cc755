/**
 * Time-ordered ids: UUID version 7 (RFC 9562). Ids made in one process sort in creation order,
 * even within one millisecond (a 12-bit counter in rand_a, re-seeded every millisecond).
 */
import { randomFillSync } from 'node:crypto';

// One getrandom call per 512 ids: refilling a small pool every few ids cost more than the id.
const pool = new Uint8Array(4096);
let poolOffset = pool.length;
let lastMs = -1;
let counter = 0;
// The first 14 characters (48-bit time + two dashes) only change with the millisecond.
let prefixMs = -1;
let prefix = '';

const hex: readonly string[] = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));
/** Character codes of the 16 hex digits. */
const HEX: readonly number[] = Array.from('0123456789abcdef', (c) => c.charCodeAt(0));

/** Index of `n` fresh random bytes in `pool`. */
function take(n: number): number {
  if (poolOffset + n > pool.length) {
    randomFillSync(pool);
    poolOffset = 0;
  }
  const at = poolOffset;
  poolOffset += n;
  return at;
}

function timePrefix(ms: number): string {
  // 48-bit big-endian milliseconds: the high 32 bits and the low 16 bits (bit ops stay in int32).
  const hi = Math.floor(ms / 0x10000);
  const lo = ms - hi * 0x10000;
  return `${hex[(hi >>> 24) & 0xff]!}${hex[(hi >>> 16) & 0xff]!}${hex[(hi >>> 8) & 0xff]!}${hex[hi & 0xff]!}-${hex[lo >>> 8]!}${hex[lo & 0xff]!}-`;
}

export function createId(now: number = Date.now()): string {
  let ms = now;
  if (ms <= lastMs) {
    // Same millisecond (or a clock step back): keep order by bumping the counter.
    ms = lastMs;
    counter += 1;
    if (counter > 0xfff) {
      ms += 1;
      counter = 0;
    }
  } else {
    const at = take(2);
    counter = ((pool[at]! << 8) | pool[at + 1]!) & 0x7ff;
  }
  lastMs = ms;
  if (ms !== prefixMs) {
    prefix = timePrefix(ms);
    prefixMs = ms;
  }
  const r = take(8);
  const v = pool[r]!;
  // One flat string for the 22 characters after the prefix: concatenating 2-character pieces
  // made ~20 intermediate strings per id, flattened again by every JSON.stringify of an envelope.
  return (
    prefix +
    String.fromCharCode(
      0x37, // version 7
      HEX[(counter >> 8) & 0xf]!,
      HEX[(counter >> 4) & 0xf]!,
      HEX[counter & 0xf]!,
      0x2d,
      HEX[0x8 | ((v >> 4) & 0x3)]!, // variant 10xx
      HEX[v & 0xf]!,
      HEX[pool[r + 1]! >> 4]!,
      HEX[pool[r + 1]! & 0xf]!,
      0x2d,
      HEX[pool[r + 2]! >> 4]!,
      HEX[pool[r + 2]! & 0xf]!,
      HEX[pool[r + 3]! >> 4]!,
      HEX[pool[r + 3]! & 0xf]!,
      HEX[pool[r + 4]! >> 4]!,
      HEX[pool[r + 4]! & 0xf]!,
      HEX[pool[r + 5]! >> 4]!,
      HEX[pool[r + 5]! & 0xf]!,
      HEX[pool[r + 6]! >> 4]!,
      HEX[pool[r + 6]! & 0xf]!,
      HEX[pool[r + 7]! >> 4]!,
      HEX[pool[r + 7]! & 0xf]!,
    )
  );
}

/** Milliseconds since the epoch encoded in a v7 id. */
export function idTimestamp(id: string): number {
  return Number.parseInt(id.replace(/-/g, '').slice(0, 12), 16);
}
