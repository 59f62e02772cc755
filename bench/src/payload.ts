/**
 * Payloads of a fixed encoded size. Every message carries its send stamp `t` (see clock.ts) so a
 * handler can compute send -> handler latency; `pad` brings the JSON encoding to the target size.
 */
export interface BenchPayload {
  t: number;
  i: number;
  pad: string;
}

const pads = new Map<number, string>();

function padFor(bytes: number): string {
  let pad = pads.get(bytes);
  if (pad === undefined) {
    // {"t":123456789.123456,"i":1234567,"pad":""} is about 45 bytes.
    pad = 'x'.repeat(Math.max(0, bytes - 45));
    pads.set(bytes, pad);
  }
  return pad;
}

export function makePayload(bytes: number, stamp: number, index: number): BenchPayload {
  return { t: stamp, i: index, pad: padFor(bytes) };
}

export function sizeLabel(bytes: number): string {
  return bytes >= 1024 ? `${Math.round(bytes / 1024)}KB` : `${bytes}B`;
}

/** Reads the stamp out of something that should be a BenchPayload; throws when it is not. */
export function stampOf(value: unknown): number {
  const t = (value as { t?: unknown } | null)?.t;
  if (typeof t !== 'number') throw new Error(`bench: payload without a stamp: ${JSON.stringify(value)?.slice(0, 120)}`);
  return t;
}
