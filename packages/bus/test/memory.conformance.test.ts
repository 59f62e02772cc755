import { createMemoryBroker, createMemoryBusAdapter } from '../src/adapters/memory.js';
import { busConformance } from './conformance.js';

busConformance('memory', async () => {
  // Adapters of one test share a broker, as replicas of a service share RabbitMQ.
  const broker = createMemoryBroker();
  return {
    makeAdapter: async () => createMemoryBusAdapter({ broker }),
    cleanup: async () => undefined,
  };
});
