/**
 * Time-ordered ids: UUID version 7 (RFC 9562). Ids made in one process sort in creation order,
 * even within one millisecond (a 12-bit counter in rand_a, re-seeded every millisecond).
 */
import { randomFillSync } from 'node:crypto';

const pool = new Uint8Array(256);
let poolOffset = pool.length;
let lastMs = -1;
let counter = 0;

function randomBytes(n: number): Uint8Array {
  if (poolOffset + n > pool.length) {
    randomFillSync(pool);
    poolOffset = 0;
  }
  const out = pool.subarray(poolOffset, poolOffset + n);
  poolOffset += n;
  return out;
}

const hex: string[] = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));

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
    counter = randomBytes(2).reduce((acc, b) => (acc << 8) | b, 0) & 0x7ff;
  }
  lastMs = ms;
  const rand = randomBytes(8);
  const b = new Uint8Array(16);
  // 48-bit big-endian milliseconds
  let t = ms;
  for (let i = 5; i >= 0; i -= 1) {
    b[i] = t % 256;
    t = Math.floor(t / 256);
  }
  b[6] = 0x70 | ((counter >> 8) & 0x0f);
  b[7] = counter & 0xff;
  b[8] = 0x80 | (rand[0]! & 0x3f);
  for (let i = 9; i < 16; i += 1) b[i] = rand[i - 8]!;
  const h = Array.from(b, (x) => hex[x]!).join('');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

/** Milliseconds since the epoch encoded in a v7 id. */
export function idTimestamp(id: string): number {
  return Number.parseInt(id.replace(/-/g, '').slice(0, 12), 16);
}
