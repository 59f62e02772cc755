export * from './queue.js';
export * from './errors.js';
export * from './events.js';
export * from './options.js';
export * from './dead-letters.js';
export * from './admin.js';
export type { WorkerHandle } from './handles.js';
export { decodeJobData } from './job-format.js';
