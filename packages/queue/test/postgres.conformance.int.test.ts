import { adminConformance } from './admin-conformance.js';
import { queueConformance, type ConformanceHarness } from './conformance.js';
import { dropSchema, insertForeign, pgQueue, randomSchema } from './postgres-helpers.js';

const postgresHarness = async (): Promise<ConformanceHarness> => {
  const schema = randomSchema();
  return {
    make: (options) => pgQueue(schema, options),
    injectRaw: async (job) => {
      // The tables exist once a queue of the harness started; a foreign row may come first.
      const q = pgQueue(schema);
      await q.start();
      await q.close();
      await insertForeign(schema, job);
    },
    cleanup: () => dropSchema(schema),
  };
};

queueConformance('postgres', postgresHarness);
adminConformance('postgres', postgresHarness);
