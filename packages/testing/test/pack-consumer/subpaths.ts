/**
 * Every public subpath of the packed packages, imported by name as an application does: the app's
 * tsc checks that each resolves with its types (nodenext), and loading the compiled file checks
 * that each name exists at run time.
 */
export { memoryPubSub } from '@events/pubsub/memory';
export { redisPubSub } from '@events/pubsub/redis';
export { createWebSocketGateway } from '@events/pubsub/websocket';
export { createPubSubClient } from '@events/pubsub/client';
export { memoryBus } from '@events/bus/memory';
export { rabbitmqBus, deleteRabbitMqBusTopology } from '@events/bus/rabbitmq';
export { memoryQueue } from '@events/queue/memory';
export { bullmqQueue } from '@events/queue/bullmq';
export { postgresQueue, migrate } from '@events/queue/postgres';
export { guardListener, readJsonObject } from '@events/dashboard/http';
