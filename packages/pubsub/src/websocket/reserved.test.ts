import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { InvalidNameError, InvalidOptionError, TimeoutError } from '@events/core';
import { clientMessage, isReserved, UNAVAILABLE_MESSAGE, validateClientChannel } from './reserved.js';

describe('what a websocket client is told', () => {
  it('sees the text of errors about its own request, never a transport error\'s (hosts, topology)', () => {
    expect(clientMessage(new InvalidOptionError('presence info', 'the member is 2000 bytes as JSON; the limit is 1024 (maxInfoBytes)'))).toContain('maxInfoBytes');
    expect(clientMessage(new InvalidNameError('channel', 'a b', 'no spaces'))).toContain('no spaces');
    expect(clientMessage(new Error('cannot connect to the Redis Cluster at 10.0.0.5:7000,10.0.0.6:7001'))).toBe(UNAVAILABLE_MESSAGE);
    expect(clientMessage(new TimeoutError('SSUBSCRIBE on 10.0.0.5:7000', 5000))).toBe(UNAVAILABLE_MESSAGE);
    fc.assert(fc.property(fc.string(), (text) => void expect(clientMessage(new Error(text))).toBe(UNAVAILABLE_MESSAGE)));
  });

  it('may not name a channel under _pubsub:', () => {
    expect(() => validateClientChannel('_pubsub:reply:node:1')).toThrow(InvalidNameError);
    expect(() => validateClientChannel('room:1')).not.toThrow();
    fc.assert(fc.property(fc.string(), (rest) => void expect(isReserved(`_pubsub:${rest}`)).toBe(true)));
  });
});
