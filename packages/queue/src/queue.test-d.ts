import { expectTypeOf, test } from 'vitest';
import { createQueue, type JobContext } from './index.js';

type Jobs = { sendWelcomeEmail: { userId: string }; resize: { w: number; h: number } };

test('typed job map checks names and payloads', () => {
  const queue = createQueue<Jobs>({ adapter: 'memory' });
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
