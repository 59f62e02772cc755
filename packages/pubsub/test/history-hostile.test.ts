/**
 * History meets hostile input: a `since` from a websocket client, the history header of bytes read
 * from the transport, channel names that pick hash slots, and history options.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { EMPTY_HISTORY_EPOCH, InvalidOptionError } from '@events/core';
import { createPubSub, parsePosition, type PubSub } from '../src/index.js';
import { historyKeys, unframe } from '../src/adapters/redis-history.js';
import { clusterSlot } from '@events/core';
import { HistoryPolicy } from '../src/history.js';
import { createWebSocketGateway, type WebSocketGateway } from '../src/websocket/index.js';
import { RawClient } from './websocket-helpers.js';
import { waitFor } from '@events/testing';

const EPOCH = /^[A-Za-z0-9_-]{1,64}$/;
const isPosition = (v: unknown): v is { offset: number; epoch: string } => {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return false;
  const { offset, epoch } = v as Record<string, unknown>;
  return typeof offset === 'number' && Number.isSafeInteger(offset) && offset >= 0 && typeof epoch === 'string' && EPOCH.test(epoch);
};
const positions = fc.record({ offset: fc.maxSafeNat(), epoch: fc.stringMatching(EPOCH) });
const hostile = fc.oneof(
  fc.anything(),
  positions,
  // Where a client starts on a channel without history.
  fc.constant({ offset: 0, epoch: '-' }),
  fc.record({ offset: fc.oneof(fc.double(), fc.integer(), fc.string(), fc.bigInt().map(String)), epoch: fc.oneof(fc.string(), fc.integer(), fc.constant(null)) }),
);

describe('since: a position from a hostile client', () => {
  it('is accepted exactly when it is an integer offset and a plain epoch, and refused with InvalidOptionError otherwise', () => {
    fc.assert(
      fc.property(hostile, (value) => {
        let result: unknown;
        let error: unknown;
        try {
          result = parsePosition(value);
        } catch (err) {
          error = err;
        }
        if (isPosition(value)) {
          const { offset, epoch } = value as { offset: number; epoch: string };
          expect(result).toEqual({ offset, epoch });
        } else expect(error).toBeInstanceOf(InvalidOptionError);
      }),
      { numRuns: 2000 },
    );
  });

  describe('through the websocket gateway', () => {
    let pubsub: PubSub;
    let gateway: WebSocketGateway;
    let server: http.Server;
    const clients: RawClient[] = [];
    afterEach(async () => {
      for (const c of clients.splice(0)) c.ws.terminate();
      await gateway.close({ force: true });
      await pubsub.close();
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    });

    it('answers a valid since with subscribed and closes the client (1002) on anything else, never throwing', async () => {
      server = http.createServer();
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      pubsub = createPubSub({ history: { 'room:*': { size: 10, ttlMs: 60_000 } } });
      const refused: string[] = [];
      gateway = createWebSocketGateway({ pubsub, server, insecure: true, onError: (e) => void refused.push(e.kind) });
      const url = `ws://127.0.0.1:${(server.address() as AddressInfo).port}/pubsub`;
      await fc.assert(
        fc.asyncProperty(hostile, async (since) => {
          const client = new RawClient(url);
          clients.push(client);
          await client.opened;
          client.send({ type: 'subscribe', id: 1, topic: 'room:1', since });
          await waitFor(() => client.closed !== undefined || client.of('subscribed').length > 0, 5000, 'an answer');
          // JSON drops an undefined since: a plain subscribe.
          if (since === undefined) expect(client.of('subscribed')[0]!.recovery).toBeUndefined();
          // The channel has no history: only offset 0 of the empty epoch misses nothing there.
          else if (isPosition(since)) {
            const nothingMissed = since.offset === 0 && since.epoch === EMPTY_HISTORY_EPOCH;
            expect(client.of('subscribed')[0]).toMatchObject({ topic: 'room:1', recovery: { recovered: nothingMissed } });
          }
          else expect(client.closed?.code).toBe(1002);
          client.ws.terminate();
        }),
        { numRuns: 60 },
      );
      expect(gateway.health().phase).toBe('ready');
      expect(refused.every((kind) => kind === 'protocol')).toBe(true);
    });
  });
});

describe('the history header of bytes from the transport', () => {
  it('never throws on any bytes, and a position it reads is a real one with the rest as the message', () => {
    fc.assert(
      fc.property(fc.oneof(fc.uint8Array({ maxLength: 200 }), fc.string().map((s) => new Uint8Array(Buffer.from(`\0h${s}`, 'latin1')))), (bytes) => {
        const data = Buffer.from(bytes);
        const out = unframe('c', data);
        if (out.position === undefined) {
          expect(out.data).toBe(data);
          return;
        }
        expect(Number.isSafeInteger(out.position.offset) && out.position.offset >= 1).toBe(true);
        expect(EPOCH.test(out.position.epoch)).toBe(true);
        expect(data.subarray(data.length - out.data.length).equals(out.data)).toBe(true);
      }),
      { numRuns: 5000 },
    );
  });

  it('reads back what the publish script writes', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: Number.MAX_SAFE_INTEGER }), fc.stringMatching(EPOCH), fc.uint8Array({ maxLength: 100 }), (offset, epoch, payload) => {
        const data = Buffer.concat([Buffer.from(`\0h${offset}:${epoch}\n`, 'latin1'), payload]);
        const out = unframe('c', data);
        expect(out.position).toEqual({ offset, epoch });
        expect(out.data.equals(Buffer.from(payload))).toBe(true);
      }),
    );
  });
});

describe('history keys', () => {
  const names = fc.stringMatching(/^[a-z0-9:{}._-]{1,40}$/);

  it('sit in the hash slot of their channel (so one script may XADD and SPUBLISH), or are refused in sharded mode', () => {
    fc.assert(
      fc.property(names, (channel) => {
        let keys: [string, string] | undefined;
        try {
          keys = historyKeys(channel, true);
        } catch (err) {
          expect(err).toBeInstanceOf(InvalidOptionError);
          // Only a "}" with no hash tag before it: Redis hashes the whole name, and a key cannot tag it.
          expect(channel.includes('}')).toBe(true);
          return;
        }
        expect(clusterSlot(keys[0])).toBe(clusterSlot(channel));
        expect(clusterSlot(keys[1])).toBe(clusterSlot(channel));
        // Unsharded, both keys still share one slot.
        const [s, m] = historyKeys(channel, false);
        expect(clusterSlot(s)).toBe(clusterSlot(m));
      }),
      { numRuns: 5000 },
    );
  });
});

describe('history options', () => {
  it('refuses sizes, ttls and replay bounds out of range, and bad channel patterns', () => {
    const bad: unknown[] = [0, -1, 1.5, Number.NaN, Infinity, '10', null, 2_000_000];
    for (const size of bad) expect(() => new HistoryPolicy({ 'a:*': { size: size as number, ttlMs: 60_000 } })).toThrow(InvalidOptionError);
    for (const ttlMs of [0, -1, 1.5, Number.NaN, Infinity, '10', null, 999, 31 * 24 * 3600_000]) expect(() => new HistoryPolicy({ 'a:*': { size: 10, ttlMs: ttlMs as number } })).toThrow(InvalidOptionError);
    for (const maxMessages of [0, -1, 1.5, Number.NaN, Infinity, '10', 200_000]) expect(() => new HistoryPolicy({}, { maxMessages: maxMessages as number })).toThrow(InvalidOptionError);
    expect(() => new HistoryPolicy({ 'a:[': { size: 10, ttlMs: 60_000 } })).toThrow();
    expect(new HistoryPolicy({ 'a:*': { size: 10, ttlMs: 60_000 }, 'a:b': { size: 5, ttlMs: 60_000 } }).windowFor('a:b')).toEqual({ size: 10, ttlMs: 60_000 });
  });
});
