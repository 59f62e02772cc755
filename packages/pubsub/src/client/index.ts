export {
  createPubSubClient,
  GatewayError,
  type PubSubClient,
  type PubSubClientOptions,
  type PubSubClientEvents,
  type ClientSubscribeOptions,
  type ClientMessageMeta,
  type WebSocketLike,
  type WebSocketConstructor,
} from './client.js';
export type { ClientPresenceEvent, ClientPresenceSnapshot } from './presence-requests.js';
export type { RecoveredEvent } from './history.js';
export type { ClientMessageTrace } from './types.js';
export { CLOSE_CODES, type BufferPolicy, type ServerFrame, type ClientFrame } from '../websocket/protocol.js';
