import { Queue as BullQueue } from 'bullmq';
import { Redis } from 'ioredis';
import { createQueue } from '../src/index.js';
import { bullmqQueueName, bullmqQueue } from '../src/adapters/bullmq.js';
import { adminConformance } from './admin-conformance.js';
import { queueConformance, type ConformanceHarness } from './conformance.js';
import { REDIS_URL } from '@events/testing';
import { deletePrefix, randomPrefix } from './helpers.js';

const bullmqHarness = async (): Promise<ConformanceHarness> => {
  const prefix = randomPrefix();
  return {
    make: (options) => createQueue({ ...options, adapter: bullmqQueue({ url: REDIS_URL, prefix }) }),
    injectRaw: async (job) => {
      // A plain BullMQ producer adds the job; then its stored data is overwritten verbatim.
      const connection = new Redis(REDIS_URL);
      const plain = new BullQueue(bullmqQueueName(job.queue), { connection, prefix });
      await plain.add(job.name, null, { jobId: job.id, attempts: 3 });
      await connection.hset(`${prefix}:${bullmqQueueName(job.queue)}:${job.id}`, 'data', job.raw);
      await plain.close();
      connection.disconnect();
    },
    cleanup: () => deletePrefix(prefix),
  };
};

queueConformance('bullmq', bullmqHarness);
adminConformance('bullmq', bullmqHarness);
