/** Redis-specific behaviour (beyond the shared conformance suite): interest routing, wire format, bad bytes, sharding. */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Redis } from 'ioredis';
import { DecodeError, InvalidOptionError, TimeoutError, createEnvelope, type ErrorEvent } from '@events/core';
import { execFileSync } from 'node:child_process';
import { NODE_HEADER, SEQ_HEADER, createPubSub, type PubSub } from '../src/index.js';
import { redisPubSub } from '../src/adapters/redis.js';
import { redisContext, subscriberConnections } from './redis-context.js';
import { REDIS_URL, deferred, randomId, startTcpProxy, waitFor } from '@events/testing';

describe('redis adapter', () => {
  let ctx: ReturnType<typeof redisContext>;
  let admin: Redis;
  let ns: string;
  beforeEach(() => {
    ctx = redisContext();
    admin = new Redis(REDIS_URL);
    ns = randomId('redis');
  });
  afterEach(async () => {
    await ctx.cleanup();
    admin.disconnect();
  });

  async function numsub(channel: string): Promise<number> {
    const reply = (await admin.call('PUBSUB', 'NUMSUB', channel)) as [string, number];
    return Number(reply[1]);
  }

  it('uses one subscriber connection and SUBSCRIBEs once per topic, reference-counted', async () => {
    const node = await ctx.node({ name: ns });
    const handlers = [() => undefined, () => undefined];
    const channels = Array.from({ length: 20 }, (_, i) => `${ns}:ch${i}`);
    const subs = [];
    for (const h of handlers) {
      subs.push(await node.subscribe(channels, h));
      subs.push(await node.subscribe([`${ns}:p1:*`, `${ns}:p2:*`, `${ns}:p3:?`], h));
    }
    expect(await subscriberConnections(admin, ns)).toEqual([expect.objectContaining({ sub: 20, psub: 3 })]);
    expect(await numsub(`events:${ns}:ch7`)).toBe(1);
    await subs[0]!.close();
    await subs[1]!.close();
    // Still one handler per topic left: nothing unsubscribed on Redis yet.
    expect(await subscriberConnections(admin, ns)).toEqual([expect.objectContaining({ sub: 20, psub: 3 })]);
    await subs[2]!.close();
    await subs[3]!.close();
    expect(await subscriberConnections(admin, ns)).toEqual([expect.objectContaining({ sub: 0, psub: 0 })]);
    expect(await numsub(`events:${ns}:ch7`)).toBe(0);
  });

  it('resolves subscribe only once Redis confirmed it', async () => {
    const node = await ctx.node();
    const got = deferred<unknown>();
    await node.subscribe(`${ns}:confirmed`, (m) => got.resolve(m));
    // A raw client publishing right after sees the subscription already.
    const raw = createEnvelope(`${ns}:confirmed`, { from: 'raw' });
    expect(await admin.publish(`events:${ns}:confirmed`, JSON.stringify(raw))).toBe(1);
    expect(await got.promise).toEqual({ from: 'raw' });
  });

  it('publishes the documented wire format: a JSON envelope on the channel <namespace>:<channel>', async () => {
    const node = await ctx.node();
    const sniffer = new Redis(REDIS_URL);
    const frames: Array<{ channel: string; data: string }> = [];
    sniffer.on('message', (channel: string, data: string) => frames.push({ channel, data }));
    await sniffer.subscribe(`events:${ns}:wire`);
    expect(await node.broadcast(`${ns}:wire`, { text: 'hi' }, { headers: { tenant: 'a' } })).toBe(1);
    await node.broadcast(`${ns}:wire`, { text: 'again' });
    await waitFor(() => frames.length === 2);
    sniffer.disconnect();
    const first = JSON.parse(frames[0]!.data) as Record<string, unknown>;
    expect(frames[0]!.channel).toBe(`events:${ns}:wire`);
    expect(first).toEqual({
      id: expect.stringMatching(/^[0-9a-f-]{36}$/),
      name: `${ns}:wire`,
      payload: { text: 'hi' },
      occurredAt: expect.any(String),
      headers: { tenant: 'a', [NODE_HEADER]: node.nodeId, [SEQ_HEADER]: '1' },
    });
    expect((JSON.parse(frames[1]!.data) as { headers: Record<string, string> }).headers[SEQ_HEADER]).toBe('2');
  });

  it('sends undecodable bytes from another publisher to the error hook, wraps bare JSON, and keeps delivering', async () => {
    const errors: ErrorEvent[] = [];
    const node = await ctx.node({ onError: (e) => void errors.push(e) });
    const got: unknown[] = [];
    await node.subscribe(`${ns}:dirty`, (m) => void got.push(m));
    await node.subscribe(`${ns}:dirt*`, (m) => void got.push(m));
    const wire = `events:${ns}:dirty`;
    await admin.publish(wire, 'this is not json {');
    await admin.publish(wire, Buffer.from([0xff, 0xfe, 0x00]));
    // Core's foreign-producer rule: bare JSON is a payload, wrapped in a new envelope.
    await admin.publish(wire, '{"json":"but not an envelope"}');
    // A service in another language publishing a bare envelope (no node, no sequence) is fine.
    await admin.publish(wire, JSON.stringify(createEnvelope(`${ns}:dirty`, 'foreign')));
    await waitFor(() => got.length === 4);
    expect(got).toEqual([{ json: 'but not an envelope' }, { json: 'but not an envelope' }, 'foreign', 'foreign']);
    // 2 bad messages x 2 subscriptions (the channel and the pattern each hear it).
    expect(errors).toHaveLength(4);
    for (const event of errors) {
      expect(event.error).toBeInstanceOf(DecodeError);
      expect(event).toMatchObject({ tier: 'pubsub', kind: 'decode', name: `${ns}:dirty` });
    }
    expect((errors[0]!.error as DecodeError).raw.toString()).toBe('this is not json {');
    expect(await node.broadcast(`${ns}:dirty`, 'still fine')).toBe(2);
  });

  it('by default a flood of garbage prints a bounded number of lines, not a stack per message', async () => {
    const lines: unknown[][] = [];
    const original = console.error;
    console.error = (...args: unknown[]) => void lines.push(args);
    const node = createPubSub({ adapter: redisPubSub({ url: REDIS_URL }) });
    try {
      const got: unknown[] = [];
      await node.subscribe(`${ns}:flood`, (m) => void got.push(m));
      for (let i = 0; i < 200; i += 1) await admin.publish(`events:${ns}:flood`, `garbage ${i}`);
      await admin.publish(`events:${ns}:flood`, JSON.stringify('marker'));
      await waitFor(() => got.length === 1);
      expect(node.health().lastError).toMatchObject({ kind: 'decode' });
      expect(lines.length).toBeLessThanOrEqual(6);
    } finally {
      console.error = original;
      await node.close();
    }
  });

  it('requests share one reply inbox per node on Redis: timeouts leave no other reply subscription', async () => {
    const node = await ctx.node();
    await expect(node.request(`${ns}:void`, 1, { timeoutMs: 30 })).rejects.toBeInstanceOf(TimeoutError);
    await expect(node.request(`${ns}:void`, 2, { timeoutMs: 30 })).rejects.toBeInstanceOf(TimeoutError);
    expect(await admin.call('PUBSUB', 'CHANNELS', `events:_pubsub:reply:${node.nodeId}:*`)).toHaveLength(1);
  });

  it('a broadcast while the publisher is cut reaches local handlers, reports the loss and does not hang', async () => {
    const errors: ErrorEvent[] = [];
    const node = await ctx.node({ onError: (e) => void errors.push(e) });
    const got: unknown[] = [];
    await node.subscribe(`${ns}:cutpub`, (m) => void got.push(m));
    await ctx.cut(node);
    expect(await node.broadcast(`${ns}:cutpub`, 'local only')).toBe(1);
    expect(got).toEqual(['local only']);
    expect(errors).toHaveLength(1);
    await ctx.restore(node);
  });

  it('reads a non-JSON payload published by redis-cli as a decode error, and keeps going', async () => {
    const errors: Error[] = [];
    const node = await ctx.node({ onError: (e) => void errors.push(e.error) });
    const got: unknown[] = [];
    await node.subscribe(`${ns}:cli`, (m) => void got.push(m));
    const url = new URL(REDIS_URL);
    const out = execFileSync('redis-cli', ['-h', url.hostname, '-p', url.port || '6379', 'PUBLISH', `events:${ns}:cli`, 'hello from redis-cli'], { encoding: 'utf8' });
    expect(out.trim()).toBe('1');
    await waitFor(() => errors.length === 1);
    expect(errors[0]).toBeInstanceOf(DecodeError);
    expect(errors[0]!.message).toMatch(/cannot decode message: not JSON/);
    await node.broadcast(`${ns}:cli`, 'ok');
    expect(got).toEqual(['ok']);
  });

  it('a start against an unreachable Redis rejects clearly, and a later start succeeds', async () => {
    const proxy = await startTcpProxy(REDIS_URL);
    proxy.refuse(); // refuses every connection
    const withPassword = createPubSub({ adapter: redisPubSub({ url: proxy.url.replace('redis://', 'redis://user:secret@') }) });
    const node = createPubSub({ adapter: redisPubSub({ url: proxy.url, redisOptions: { retryStrategy: () => 20 } }) });
    try {
      const err = (await withPassword.start().catch((e: unknown) => e)) as Error;
      // The password never shows in the message.
      expect(err.message).toMatch(/^cannot connect to Redis at redis:\/\/user:\*\*\*@127\.0\.0\.1:\d+: /);
      await expect(node.start()).rejects.toThrow(/^cannot connect to Redis/);
      expect(node.health().phase).toBe('failed');
      proxy.resume();
      await node.start();
      expect(await node.broadcast(`${ns}:up`, 1)).toBe(0);
      // The retried start is a whole one: after a cut the node resubscribes by itself.
      const resubscribed = deferred<unknown>();
      node.on('resubscribed', (e) => resubscribed.resolve(e));
      const got: unknown[] = [];
      await node.subscribe(`${ns}:after`, (m) => void got.push(m));
      proxy.cut();
      await resubscribed.promise;
      await admin.publish(`events:${ns}:after`, JSON.stringify('back'));
      await waitFor(() => got.length === 1);
    } finally {
      await Promise.all([withPassword.close(), node.close()]);
      await proxy.close();
    }
  });

  describe('sharded (SPUBLISH / SSUBSCRIBE)', () => {
    let a: PubSub;
    let b: PubSub;
    beforeEach(async () => {
      a = await ctx.node({ sharded: true });
      b = await ctx.node({ sharded: true, name: ns });
    });

    it('carries messages between nodes over shard channels', async () => {
      const got: unknown[] = [];
      await b.subscribe(`${ns}:{shard}:x`, (m) => void got.push(m));
      expect(await subscriberConnections(admin, ns)).toEqual([expect.objectContaining({ sub: 0, psub: 0 })]);
      expect(await admin.call('PUBSUB', 'SHARDNUMSUB', `events:${ns}:{shard}:x`)).toEqual([`events:${ns}:{shard}:x`, 1]);
      expect(await a.broadcast(`${ns}:{shard}:x`, 'sharded')).toBe(1);
      await waitFor(() => got.length === 1);
      expect(got).toEqual(['sharded']);
    });

    it('refuses glob subscriptions, which Redis cannot shard', async () => {
      await expect(b.subscribe(`${ns}:*`, () => undefined)).rejects.toBeInstanceOf(InvalidOptionError);
      expect(b.subscriptions().size).toBe(0);
    });
  });
});
