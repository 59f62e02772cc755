import { describe, expect, it } from 'vitest';
import { InvalidOptionError } from '@events/core';
import { closedPort } from '@events/testing';
import { createPubSub } from '../index.js';
import { redisPubSub } from './redis.js';

describe('redisPubSub({ cluster })', () => {
  it('refuses a node list it cannot use, and cluster together with url', () => {
    expect(() => redisPubSub({ cluster: { nodes: [] } })).toThrow(InvalidOptionError);
    expect(() => redisPubSub({ cluster: { nodes: ['redis://127.0.0.1:7000'] } })).toThrow('invalid option cluster.nodes: "redis://127.0.0.1:7000" is not host:port');
    expect(() => redisPubSub({ cluster: { nodes: ['127.0.0.1:7000'] }, url: 'redis://127.0.0.1:6379' })).toThrow('invalid option cluster: give either cluster or url / createClient, not both');
    expect(redisPubSub({ cluster: { nodes: ['127.0.0.1:7000', { host: '::1', port: 7001 }, '[::1]:7002'] } }).kind).toBe('redis');
  });

  it('a start with no node answering fails naming the nodes, and can be tried again', async () => {
    const port = await closedPort();
    const pubsub = createPubSub({ adapter: redisPubSub({ cluster: { nodes: [`127.0.0.1:${port}`] } }), onError: () => undefined });
    await expect(pubsub.start()).rejects.toThrow(`cannot connect to the Redis Cluster at 127.0.0.1:${port}`);
    expect(pubsub.health().phase).toBe('failed');
    await expect(pubsub.start()).rejects.toThrow(`cannot connect to the Redis Cluster at 127.0.0.1:${port}`);
    await pubsub.close();
  });
});
