import { pubsubConformance } from './conformance.js';
import { redisContext } from './redis-context.js';

// Real Redis; every node has its own two connections (publisher, subscriber), as separate processes would.
pubsubConformance('redis', async () => redisContext());
