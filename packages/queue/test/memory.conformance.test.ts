import { createQueue } from '../src/index.js';
import { DEFAULT_JOB_OPTIONS } from '../src/options.js';
import { createMemoryAdapter } from '../src/adapters/memory.js';
import { queueConformance } from './conformance.js';

queueConformance('memory', async () => {
  const adapter = createMemoryAdapter();
  return {
    make: (options) => createQueue({ ...options, adapter }),
    injectRaw: async (job) => {
      const { attempts, backoff, removeOnComplete, removeOnFail } = DEFAULT_JOB_OPTIONS;
      adapter.injectRaw({ ...job, options: { attempts, backoff, removeOnComplete, removeOnFail, delayMs: 0, priority: 0 } });
    },
    cleanup: async () => undefined,
  };
});
