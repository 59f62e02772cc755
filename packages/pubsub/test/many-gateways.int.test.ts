/** Four gateway processes over one Redis; see many-gateways.ts for the scenario. */
import { describe, it } from 'vitest';
import { REDIS_URL } from '@events/testing';
import { createPubSub } from '../src/index.js';
import { redisPubSub } from '../src/adapters/redis.js';
import { manyGateways } from './many-gateways.js';

describe('many gateway processes over one Redis', () => {
  it('a broadcast reaches every client of every gateway once per subscription; a SIGKILLed gateway\'s clients move on and resubscribe', async () => {
    await manyGateways({
      label: 'redis single node',
      env: { REDIS_URL },
      publisher: (namespace) => createPubSub({ adapter: redisPubSub({ url: REDIS_URL }), namespace }),
      globs: true,
    });
  }, 240_000);
});
