import { createMemoryBroker, memoryBus } from '../src/adapters/memory.js';
import { busConformance } from './conformance.js';

// The same suite in the default mode (a JSON copy per delivery, as a broker would) and in
// zero-copy mode (handlers get the sender's envelope, frozen): one semantics either way.
for (const zeroCopy of [false, true]) busConformance(zeroCopy ? 'memory (zeroCopy)' : 'memory', async () => {
  // Adapters of one test share a broker, as replicas of a service share RabbitMQ.
  const broker = createMemoryBroker();
  return {
    holds: 'adapter',
    zeroCopy,
    makeAdapter: async () => memoryBus({ broker, zeroCopy }),
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
