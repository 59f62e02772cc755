export { createPubSub, type PubSubOptions } from './create-pubsub.js';
export { createMemoryAdapter, createMemoryHub, MemoryHub, type MemoryAdapterOptions } from './adapters/memory.js';
export { ReplyError, REPLY_ERROR_HEADER } from './request-reply.js';
export { NODE_HEADER, SEQ_HEADER, REPLY_TO_HEADER, REPLY_CHANNEL_PREFIX } from './wire.js';
export type * from './types.js';
export type { RedisAdapterOptions } from './adapters/redis.js';
