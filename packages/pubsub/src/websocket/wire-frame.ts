/**
 * A message's whole websocket frame (RFC 6455: FIN, text opcode, unmasked as a server sends it),
 * built once per broadcast so each client's socket gets one ready buffer instead of `ws` building a
 * header and writing two chunks per client. `framed(text)` returns the UTF-8 payload as a view into
 * that buffer; `wireOf(payload)` finds the whole frame again. Only valid on a connection without
 * extensions (the gateway turns `perMessageDeflate` off), where `ws` writes its own frames (pings,
 * close) to the socket at once, so ours never land inside one of them.
 */
const wires = new WeakMap<Buffer, Buffer>();

function headerLength(length: number): number {
  return length < 126 ? 2 : length < 65_536 ? 4 : 10;
}

/** The UTF-8 bytes of `text`, inside a complete text frame that `wireOf` returns. */
export function framed(text: string): Buffer {
  const length = Buffer.byteLength(text);
  const h = headerLength(length);
  const wire = Buffer.allocUnsafe(h + length);
  wire[0] = 0x81; // FIN + text
  if (h === 2) wire[1] = length;
  else if (h === 4) {
    wire[1] = 126;
    wire.writeUInt16BE(length, 2);
  } else {
    wire[1] = 127;
    wire.writeUInt32BE(Math.floor(length / 2 ** 32), 2);
    wire.writeUInt32BE(length >>> 0, 6);
  }
  wire.write(text, h, 'utf8');
  const payload = wire.subarray(h);
  wires.set(payload, wire);
  return payload;
}

/** The whole frame of a payload made by `framed`, or undefined for any other bytes. */
export function wireOf(payload: Buffer): Buffer | undefined {
  return wires.get(payload);
}
