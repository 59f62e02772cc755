import { expectTypeOf, test } from 'vitest';
import type { Lifecycle, SubscriptionHandle } from '@events/core';
import { memoryQueue } from './adapters/memory.js';
import { createQueue, type JobContext, type Queue, type WorkerHandle } from './index.js';

type Jobs = { sendWelcomeEmail: { userId: string }; resize: { w: number; h: number } };

test('typed job map checks names and payloads', () => {
  const queue = createQueue<Jobs>({ adapter: memoryQueue() });
  expectTypeOf(queue.enqueue('sendWelcomeEmail', { userId: 'u1' })).toEqualTypeOf<Promise<string>>();
  // @ts-expect-error wrong payload
  void queue.enqueue('sendWelcomeEmail', { id: 1 });
  // @ts-expect-error unknown job name
  void queue.enqueue('nope', {});
  void queue.process('resize', (payload, ctx) => {
    expectTypeOf(payload).toEqualTypeOf<{ w: number; h: number }>();
    expectTypeOf(ctx).toEqualTypeOf<JobContext>();
  });
  void queue.enqueueMany([{ name: 'resize', payload: { w: 1, h: 2 } }]);
  queue.on('failed', (e) => expectTypeOf(e.final).toEqualTypeOf<boolean>());
});

test('the queue is a Lifecycle and process returns a SubscriptionHandle', () => {
  expectTypeOf<Queue<Jobs>>().toMatchTypeOf<Lifecycle>();
  expectTypeOf<WorkerHandle>().toMatchTypeOf<SubscriptionHandle>();
  const queue = createQueue<Jobs>();
  expectTypeOf(queue.process('resize', () => undefined)).toEqualTypeOf<Promise<WorkerHandle>>();
  // @ts-expect-error adapters are values, not strings
  createQueue({ adapter: 'bullmq' });
});
