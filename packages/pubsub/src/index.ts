export { createPubSub, DEFAULT_NAMESPACE, type PubSubOptions } from './create-pubsub.js';
export { memoryPubSub, createMemoryHub, MemoryHub, type MemoryPubSubOptions } from './adapters/memory.js';
export { ReplyError, REPLY_ERROR_HEADER } from './request-reply.js';
export { NODE_HEADER, SEQ_HEADER, REPLY_TO_HEADER, REPLY_CHANNEL_PREFIX, MAX_PLAUSIBLE_GAP } from './wire.js';
export { parsePosition, type HistoryOptions, type HistoryWindowOptions, type HistoryReplayOptions } from './history.js';
export type * from './types.js';
export type { ErrorEvent, ErrorHook, Health, Lifecycle, SubscriptionHandle } from '@events/core';
