export * from './types.js';
export * from './create-bus.js';
export type { MemoryBusOptions, MemoryDeadLetter } from './adapters/memory.js';
export type { RabbitMqBusOptions, RabbitMqConnectionEvent } from './adapters/rabbitmq-options.js';
