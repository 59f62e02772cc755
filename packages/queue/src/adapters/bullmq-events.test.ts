import type { Redis } from 'ioredis';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { createEventPublisher, eventsChannel, RECHECK_MS } from './bullmq-events.js';

/** Just the two commands the publisher uses; `observers` is what Redis would report. */
function fakeRedis(observers: { n: number }) {
  const published: string[] = [];
  let numsub = 0;
  const redis = {
    publish: async (_channel: string, text: string) => {
      published.push(text);
      return observers.n;
    },
    pubsub: async (_sub: string, channel: string) => {
      numsub += 1;
      return [channel, observers.n];
    },
  };
  return { redis: redis as unknown as Redis, published, numsubs: () => numsub };
}

const event = (i: number) => ({ type: 'completed', id: `j${i}`, name: 'work', attempt: 1, result: i }) as const;
const tick = () => new Promise((r) => setImmediate(r));

describe('job event publisher', () => {
  afterEach(() => vi.useRealTimers());

  it('publishes nothing while no observer listens, and asks Redis again at most every RECHECK_MS', async () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    const observers = { n: 0 };
    const { redis, published, numsubs } = fakeRedis(observers);
    const pub = createEventPublisher(redis, 'p');
    await pub.refresh();
    for (let i = 0; i < 100; i += 1) pub.publish(event(i));
    await tick();
    expect(published).toEqual([]);
    expect(numsubs()).toBe(1);
    observers.n = 1;
    vi.advanceTimersByTime(RECHECK_MS);
    pub.publish(event(100)); // dropped, but triggers the check
    await tick();
    expect(numsubs()).toBe(2);
    pub.publish(event(101));
    await tick();
    expect(published.map((t) => (JSON.parse(t) as { id: string }).id)).toEqual(['j101']);
    expect(eventsChannel('p')).toBe('p:#job-events');
  });

  it('publishes every event while observers listen, stops when the last leaves, and resumes when one joins here', async () => {
    const observers = { n: 2 };
    const { redis, published } = fakeRedis(observers);
    const pub = createEventPublisher(redis, 'p');
    await pub.refresh();
    pub.publish(event(1));
    pub.publish(event(2));
    await tick();
    expect(published).toHaveLength(2);
    observers.n = 0;
    pub.publish(event(3)); // the reply says 0: nobody received it, and the next ones are not sent
    await tick();
    pub.publish(event(4));
    await tick();
    expect(published).toHaveLength(3);
    observers.n = 1;
    pub.listenerJoined();
    pub.publish(event(5));
    await tick();
    expect(published).toHaveLength(4);
  });

  it('publishes when it cannot tell (NUMSUB failed)', async () => {
    const redis = { publish: vi.fn(async () => 1), pubsub: async () => Promise.reject(new Error('down')) } as unknown as Redis;
    const pub = createEventPublisher(redis, 'p');
    await pub.refresh();
    pub.publish(event(1));
    expect(redis.publish).toHaveBeenCalledTimes(1);
  });
});
