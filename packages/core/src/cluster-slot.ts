/**
 * The Redis Cluster hash slot of a key or sharded channel: CRC16 (XMODEM) of the key, or of the
 * part between the first `{` and the next `}` when that part is not empty (a hash tag), modulo 16384.
 * Sharded pub/sub routes a channel to the primary serving its slot, and BullMQ on a cluster needs
 * every key of one queue on one slot: the pubsub and queue adapters both ask here.
 */
const TABLE = new Uint16Array(256);
for (let i = 0; i < 256; i += 1) {
  let crc = i << 8;
  for (let bit = 0; bit < 8; bit += 1) crc = crc & 0x8000 ? ((crc << 1) ^ 0x1021) & 0xffff : (crc << 1) & 0xffff;
  TABLE[i] = crc;
}

export const CLUSTER_SLOTS = 16384;

function crc16(bytes: Uint8Array): number {
  let crc = 0;
  for (const byte of bytes) crc = ((crc << 8) & 0xffff) ^ TABLE[((crc >> 8) ^ byte) & 0xff]!;
  return crc;
}

/** The slot of `key` (a key or a channel name as sent to Redis, namespace included): what `CLUSTER KEYSLOT` answers. */
export function clusterSlot(key: string | Uint8Array): number {
  const bytes = typeof key === 'string' ? Buffer.from(key, 'utf8') : key;
  const open = bytes.indexOf(0x7b); // {
  if (open !== -1) {
    const close = bytes.indexOf(0x7d, open + 1); // }
    if (close > open + 1) return crc16(bytes.subarray(open + 1, close)) % CLUSTER_SLOTS;
  }
  return crc16(bytes) % CLUSTER_SLOTS;
}
