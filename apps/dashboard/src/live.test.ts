import { afterEach, beforeEach, expect, it } from 'vitest';
import { createPlatform, type Platform } from '@events/platform';
import { createLiveFeeds, preview, type LiveFeeds, type LiveItem } from './live.js';

let platform: Platform;
let feeds: LiveFeeds;
const errors: Error[] = [];

beforeEach(async () => {
  platform = await createPlatform({});
  errors.length = 0;
  feeds = createLiveFeeds(platform, { busGroup: 'dashboard', channelPattern: '*', historySize: 5, maxTracked: 3, onError: (e) => errors.push(e) });
  await feeds.ready;
});
afterEach(async () => {
  await feeds.close();
  await platform.close();
});

it('keeps at most historySize items and maxTracked counters, forgetting the least recently seen', async () => {
  for (let i = 0; i < 8; i += 1) await platform.pubsub.broadcast(`room:${i % 4}`, { i });
  await platform.pubsub.broadcast('room:1', { i: 8 });
  const { total, messages, channels } = feeds.channels();
  expect(total).toBe(9);
  expect(messages.map((m) => m.message)).toEqual(['{"i":8}', '{"i":7}', '{"i":6}', '{"i":5}', '{"i":4}']);
  // Four channels round-robin through three slots: each is forgotten just before it comes back,
  // so room:1 (forgotten at i = 4, learnt again at i = 5) counts 2, and room:0 is out at the end.
  expect(channels.map((c) => c.name).sort()).toEqual(['room:1', 'room:2', 'room:3']);
  expect(channels.find((c) => c.name === 'room:1')!.total).toBe(2);
  expect(channels.find((c) => c.name === 'room:3')!.total).toBe(1);
});

it('cuts long or unserializable payloads to a preview', () => {
  expect(preview('x'.repeat(600))).toHaveLength(501);
  const cycle: Record<string, unknown> = {};
  cycle.self = cycle;
  expect(preview(cycle)).toBe('[object Object]');
  expect(preview(undefined)).toBe('undefined');
});

it('one throwing listener does not stop the others and is reported', async () => {
  const seen: LiveItem[] = [];
  feeds.listen(() => {
    throw new Error('listener broke');
  });
  feeds.listen((item) => seen.push(item));
  await platform.pubsub.broadcast('room:x', 'hello');
  expect(seen).toHaveLength(1);
  expect(errors.map((e) => e.message)).toEqual(['listener broke']);
});

it('watches nothing it was told to leave alone', async () => {
  const quiet = createLiveFeeds(platform, { busGroup: false, channelPattern: false, historySize: 5, maxTracked: 3, onError: (e) => errors.push(e) });
  await quiet.ready;
  expect(quiet.watchesBus).toBe(false);
  expect(quiet.watchesChannels).toBe(false);
  await platform.pubsub.broadcast('room:y', 'hi');
  expect(quiet.channels().total).toBe(0);
  await quiet.close();
});

it('reports a bad channel pattern through ready', async () => {
  const bad = createLiveFeeds(platform, { busGroup: false, channelPattern: 'room:[', historySize: 5, maxTracked: 3, onError: (e) => errors.push(e) });
  await expect(bad.ready).rejects.toMatchObject({ code: 'INVALID_PATTERN' });
  await bad.close();
  expect(errors).toHaveLength(1);
});
