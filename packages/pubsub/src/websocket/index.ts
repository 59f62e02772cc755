export { createWebSocketGateway, topicWithinPrefix, type WebSocketGateway, type WebSocketGatewayOptions, type GatewayClientStats } from './gateway.js';
export { CLOSE_CODES, BUFFER_POLICIES, type BufferPolicy, type ClientFrame, type ServerFrame, type ErrorCode } from './protocol.js';
export type { SendQueueLimits, SendQueueStats } from './send-queue.js';
