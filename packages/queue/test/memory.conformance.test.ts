import { createQueue } from '../src/index.js';
import { DEFAULT_JOB_OPTIONS } from '../src/options.js';
import { createMemoryAdapter } from '../src/adapters/memory.js';
import { adminConformance } from './admin-conformance.js';
import { queueConformance, type ConformanceHarness } from './conformance.js';

const memoryHarness = async (): Promise<ConformanceHarness> => {
  const adapter = createMemoryAdapter();
  return {
    make: (options) => createQueue({ ...options, adapter }),
    injectRaw: async (job) => {
      const { attempts, backoff, removeOnComplete, removeOnFail } = DEFAULT_JOB_OPTIONS;
      adapter.injectRaw({ ...job, options: { attempts, backoff, removeOnComplete, removeOnFail, delayMs: 0, priority: 0 } });
    },
    cleanup: async () => undefined,
  };
};

queueConformance('memory', memoryHarness);
adminConformance('memory', memoryHarness);
