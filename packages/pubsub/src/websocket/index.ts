export {
  createWebSocketGateway,
  topicWithinPrefix,
  type AuthorizeContext,
  type WebSocketGateway,
  type WebSocketGatewayOptions,
  type GatewayClientStats,
} from './gateway.js';
export type { AllowedOrigins } from './upgrade.js';
export type { AuthorizeResult, AuthorizeVerdict } from './session-presence.js';
export { DEFAULT_PUBLISH_RATE, type AuthorizePublish, type PublishContext, type PublishRate, type PublishSchema } from './publish.js';
export { CLOSE_CODES, BUFFER_POLICIES, type BufferPolicy, type ClientFrame, type ServerFrame, type ErrorCode } from './protocol.js';
export type { SendQueueLimits, SendQueueStats } from './send-queue.js';
