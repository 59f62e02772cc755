import { createMemoryBroker, memoryBus } from '../src/adapters/memory.js';
import { busConformance } from './conformance.js';

busConformance('memory', async () => {
  // Adapters of one test share a broker, as replicas of a service share RabbitMQ.
  const broker = createMemoryBroker();
  return {
    holds: 'adapter',
    makeAdapter: async () => memoryBus({ broker }),
    deadLetterIds: async (group, pattern) =>
      broker
        .deadLetters(group)
        .filter((d) => d.pattern === pattern)
        .map((d) => {
          try {
            return String((JSON.parse(d.data.toString('utf8')) as { id?: unknown }).id);
          } catch {
            return '';
          }
        }),
    cleanup: async () => undefined,
  };
});
