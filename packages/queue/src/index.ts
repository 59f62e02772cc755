export * from './queue.js';
export * from './errors.js';
export * from './events.js';
export * from './options.js';
export * from './dead-letters.js';
export { decodeJobData } from './job-format.js';
export type { BullmqAdapterOptions } from './adapters/bullmq.js';
