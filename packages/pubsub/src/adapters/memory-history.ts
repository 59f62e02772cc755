/**
 * Channel history for the memory adapter, with the Redis adapter's semantics: per channel the
 * newest `size` messages with offsets from 1, an epoch that names one unbroken history, and the
 * whole history dropped `ttlMs` after the last write (the next write starts a new epoch; a read
 * never makes one: it reports EMPTY_HISTORY_EPOCH).
 * One store per hub, so every node on the hub shares it as nodes share one Redis.
 */
import { randomBytes } from 'node:crypto';
import { EMPTY_HISTORY_EPOCH, type PubSubAdapterHistory, type PubSubHistoryRead, type PubSubHistoryWindow, type PubSubStreamPosition } from '@events/core';
import type { MemoryHub } from './memory.js';

interface Ring {
  readonly epoch: string;
  /** Offset of entries[0]; entries hold consecutive offsets. */
  first: number;
  entries: Buffer[];
  expiresAt: number;
}

/** A fresh epoch: 8 random URL-safe characters (the Redis adapter makes them the same way). */
export function newEpoch(): string {
  return randomBytes(6).toString('base64url');
}

/** Channels past which a write first sweeps out expired histories. */
const SWEEP_AT = 10_000;

export class MemoryHistoryStore {
  private readonly rings = new Map<string, Ring>();
  private sweepBelow = SWEEP_AT;

  /** Channels with a history held now (expired ones until the next sweep). */
  get size(): number {
    return this.rings.size;
  }

  append(channel: string, data: Buffer, window: PubSubHistoryWindow): PubSubStreamPosition {
    const now = Date.now();
    const ring = this.ring(channel, window, now);
    ring.entries.push(data);
    // Trimmed in steps, as Redis' MAXLEN ~ does: at least `size` stay, never more than twice that.
    if (ring.entries.length >= 2 * window.size) {
      const excess = ring.entries.length - window.size;
      ring.entries = ring.entries.slice(excess);
      ring.first += excess;
    }
    ring.expiresAt = now + window.ttlMs;
    return { offset: ring.first + ring.entries.length - 1, epoch: ring.epoch };
  }

  read(channel: string, { after, limit }: { after: number; limit: number }): PubSubHistoryRead {
    const ring = this.rings.get(channel);
    if (ring === undefined || ring.expiresAt <= Date.now()) return { epoch: EMPTY_HISTORY_EPOCH, top: 0, first: 1, entries: [] };
    const top = ring.first + ring.entries.length - 1;
    const from = Math.max(after + 1, ring.first);
    const entries: Array<{ offset: number; data: Buffer }> = [];
    for (let offset = from; offset <= top && entries.length < limit; offset++) entries.push({ offset, data: ring.entries[offset - ring.first]! });
    return { epoch: ring.epoch, top, first: ring.entries.length > 0 ? ring.first : top + 1, entries };
  }

  /** The live history of `channel` for a write, a new one (new epoch) when it expired or never was. */
  private ring(channel: string, window: PubSubHistoryWindow, now: number): Ring {
    let ring = this.rings.get(channel);
    if (ring === undefined || ring.expiresAt <= now) {
      if (ring === undefined && this.rings.size >= this.sweepBelow) this.sweep(now);
      // A new epoch continues no offset of the old one.
      ring = { epoch: newEpoch(), first: 1, entries: [], expiresAt: now + window.ttlMs };
      this.rings.set(channel, ring);
    }
    return ring;
  }

  private sweep(now: number): void {
    for (const [channel, ring] of this.rings) if (ring.expiresAt <= now) this.rings.delete(channel);
    this.sweepBelow = Math.max(SWEEP_AT, this.rings.size * 2);
  }
}

const stores = new WeakMap<MemoryHub, MemoryHistoryStore>();

/** The history store of a hub (made on first use). */
export function hubHistory(hub: MemoryHub): MemoryHistoryStore {
  let store = stores.get(hub);
  if (!store) stores.set(hub, (store = new MemoryHistoryStore()));
  return store;
}

/**
 * The `history` member of a memory adapter. `send` delivers to the other nodes of the hub and
 * counts them; `online` is false while the node is cut off (then nothing is stored or sent).
 */
export function memoryHistory(
  hub: MemoryHub,
  node: { online(): boolean; send(channel: string, data: Buffer, position: PubSubStreamPosition): number },
): PubSubAdapterHistory {
  const store = hubHistory(hub);
  return {
    publishWithHistory(channel, data, window) {
      if (!node.online()) return Promise.reject(new Error('memory hub: node cut, message not sent'));
      const position = store.append(channel, data, window);
      return Promise.resolve({ receivers: node.send(channel, data, position), position });
    },
    readHistory(channel, { after, limit }) {
      if (!node.online()) return Promise.reject(new Error('memory hub: node cut, history not read'));
      return Promise.resolve(store.read(channel, { after, limit }));
    },
  };
}
