/** The fault suite (test/fault.ts) on BullMQ with real Redis. */
import { Queue as BullQueue } from 'bullmq';
import { Redis } from 'ioredis';
import { REDIS_URL } from '@events/testing';
import { bullmqQueue } from '../src/adapters/bullmq.js';
import { createQueue } from '../src/index.js';
import { queueFaults } from './fault.js';
import { deletePrefix, randomPrefix } from './helpers.js';

queueFaults('bullmq', async () => {
  const prefix = randomPrefix();
  const connection = new Redis(REDIS_URL);
  const bull = new BullQueue('work', { connection, prefix });
  return {
    url: REDIS_URL,
    workerEnv: { QUEUE_PREFIX: prefix, QUEUE_URL: REDIS_URL },
    make: (options = {}) =>
      createQueue({
        adapter: bullmqQueue({
          url: options.url ?? REDIS_URL,
          prefix,
          ...(options.stall ? { lockDuration: 1000, stalledInterval: 300, maxStalledCount: options.stall.maxStalled } : {}),
        }),
        ...(options.onError ? { onError: options.onError } : {}),
      }),
    activeIds: async () => (await bull.getJobs(['active'])).map((j) => j.id!),
    cleanup: async () => {
      await bull.close();
      connection.disconnect();
      await deletePrefix(prefix);
    },
  };
});
