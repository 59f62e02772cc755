import { pubsubConformance } from './conformance.js';
import { pubsubSafetyConformance } from './conformance-safety.js';
import { redisContext } from './redis-context.js';

// Real Redis; every node has its own two connections (publisher, subscriber), as separate processes would.
pubsubConformance('redis', async () => redisContext());
pubsubSafetyConformance('redis', async () => redisContext());
