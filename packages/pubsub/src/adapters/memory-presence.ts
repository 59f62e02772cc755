/**
 * Presence storage of the memory adapter: one table per hub, so every node on a hub sees the
 * same members, as every node on one Redis does. Same rules as the Redis store: a member expires
 * `ttlMs` after its node last wrote it (this process' clock is the one clock), `list` removes up
 * to `maxSweep` expired members and hands them back. A node cut from its hub cannot write (its
 * heartbeats fail), so its members expire as a killed process' do on Redis.
 */
import type { PubSubPresenceRecord, PubSubPresenceStore } from '@events/core';

interface Stored {
  data: string;
  expiresAt: number;
}

type Table = Map<string, Map<string, Stored>>;

const tables = new WeakMap<object, Table>();

function tableOf(hub: object): Table {
  let table = tables.get(hub);
  if (!table) tables.set(hub, (table = new Map()));
  return table;
}

/** `reachable()` is false while the node is cut from the hub (or closed): every call then fails. */
export function memoryPresenceStore(hub: object, reachable: () => boolean): PubSubPresenceStore {
  const table = tableOf(hub);
  const check = (): void => {
    if (!reachable()) throw new Error('memory hub: node cut or closed, presence not reachable');
  };
  return {
    upsert(key, members, ttlMs) {
      try {
        check();
      } catch (err) {
        return Promise.reject(err as Error);
      }
      let entries = table.get(key);
      if (!entries) table.set(key, (entries = new Map()));
      const expiresAt = Date.now() + ttlMs;
      const added: string[] = [];
      for (const { id, data } of members) {
        // An expired member not yet swept is not new: no `leave` was announced for it.
        if (!entries.has(id)) added.push(id);
        entries.set(id, { data, expiresAt });
      }
      return Promise.resolve(added);
    },
    remove(key, ids) {
      try {
        check();
      } catch (err) {
        return Promise.reject(err as Error);
      }
      const entries = table.get(key);
      const removed: PubSubPresenceRecord[] = [];
      for (const id of ids) {
        const stored = entries?.get(id);
        if (stored && entries!.delete(id)) removed.push({ id, data: stored.data });
      }
      if (entries?.size === 0) table.delete(key);
      return Promise.resolve(removed);
    },
    list(key, limit, maxSweep) {
      try {
        check();
      } catch (err) {
        return Promise.reject(err as Error);
      }
      const entries = table.get(key);
      const now = Date.now();
      const expired: PubSubPresenceRecord[] = [];
      const members: PubSubPresenceRecord[] = [];
      let total = 0;
      for (const [id, stored] of entries ?? []) {
        if (stored.expiresAt <= now) {
          if (expired.length < maxSweep) {
            entries!.delete(id);
            expired.push({ id, data: stored.data });
          }
          continue;
        }
        total += 1;
        if (members.length < limit) members.push({ id, data: stored.data });
      }
      if (entries?.size === 0) table.delete(key);
      return Promise.resolve({ members, total, expired });
    },
  };
}
