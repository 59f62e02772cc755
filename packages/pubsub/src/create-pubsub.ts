/**
 * `createPubSub`: one API over every adapter. The adapter is a value built by a factory in its own
 * subpath (`memoryPubSub()` from `@events/pubsub/memory`, `redisPubSub({ url })` from
 * `@events/pubsub/redis`), so a memory-only application never loads ioredis and adding an adapter
 * touches no file of this tier.
 */
import { type ErrorHook, type Journal, jsonSerializer, type MessageMap, type PubSubAdapter, type SchemaMap, type Serializer, type TracingMode, tracingModeOption } from '@events/core';
import { memoryPubSub } from './adapters/memory.js';
import { PubSubImpl } from './pubsub.js';
import type { HistoryOptions, HistoryReplayOptions } from './history.js';
import type { PresenceOptions, PubSub } from './types.js';

export interface PubSubOptions<M extends MessageMap = MessageMap> {
  /** The transport: `memoryPubSub()`, `redisPubSub({ url })`, or your own adapter. Default: `memoryPubSub()` (this process alone). */
  adapter?: PubSubAdapter;
  /**
   * Keeps this application apart from others on one transport: every channel `c` travels as
   * `<namespace>:c` (Redis channel and pattern), and a node hears nothing of another namespace,
   * requests included. Letters, digits, `_`, `-`, `.` and `:`; no glob characters.
   * Default: `events`.
   */
  namespace?: string;
  /**
   * Receives every error with no caller to reject (ErrorEvent with tier `pubsub`; kinds in
   * PubSubErrorKind). Must not throw. Default: core's consoleErrorHook (at most 5 lines per kind
   * per 10 s, then a count of what was left out).
   */
  onError?: ErrorHook;
  /** Default: core's JSON serializer. */
  serializer?: Serializer;
  /** Standard Schema per channel name, checked before a broadcast leaves. Default: none. */
  schemas?: SchemaMap<M>;
  /** Id stamped on every envelope this node sends. Default: a fresh UUIDv7. */
  nodeId?: string;
  /** Deadline of a `request` that names none. Default: 5000 ms. */
  requestTimeoutMs?: number;
  /** Requests waiting for a reply at once; the next one gets BackpressureError at once. Default: 1000. */
  maxPendingRequests?: number;
  /**
   * Channels that keep a bounded history, by pattern: `{ 'chat:*': { size: 100, ttlMs: 300_000 } }`.
   * A message on such a channel gets an offset and is stored atomically with its publish; a
   * subscriber passing `since` resumes from it (see docs/pubsub.md, "History and resume").
   * Default: none (no channel keeps history).
   */
  history?: HistoryOptions;
  /** Bounds of one resume: `maxMessages` (1000), `timeoutMs` of the history read (2000), `maxBuffered` live messages held meanwhile (10 000). */
  historyReplay?: HistoryReplayOptions;
  /** Presence timing and bounds (see PresenceOptions for each default: ttlMs 15 000, heartbeatMs 5000, ...). */
  presence?: PresenceOptions;
  /**
   * Where this tier records a `broadcast` step per message, for the dashboard's journey view
   * (core's Journal: the platform builds one). Recording never throws into a broadcast nor waits.
   * Default: none (nothing recorded).
   */
  journal?: Journal;
  /**
   * How this tier traces its messages with an OpenTelemetry SDK registered (core's TracingMode;
   * docs/tracing.md): `join` (default) traces a message sent inside a trace and nothing else,
   * `always` also starts a trace for a message sent outside any, `off` starts no span and writes or
   * reads no trace header. Metrics and the journal go on under every mode (steps without `traceId`
   * when not traced).
   */
  tracing?: TracingMode;
}

export function createPubSub<M extends MessageMap = MessageMap>(options: PubSubOptions<M> = {}): PubSub<M> {
  const tracing = tracingModeOption(options.tracing);
  return new PubSubImpl<M>({
    adapter: options.adapter ?? memoryPubSub(),
    serializer: options.serializer ?? jsonSerializer,
    namespace: options.namespace ?? DEFAULT_NAMESPACE,
    requestTimeoutMs: options.requestTimeoutMs ?? 5000,
    maxPendingRequests: options.maxPendingRequests ?? 1000,
    ...(options.onError ? { onError: options.onError } : {}),
    ...(options.schemas ? { schemas: options.schemas } : {}),
    ...(options.nodeId ? { nodeId: options.nodeId } : {}),
    ...(options.history ? { history: options.history } : {}),
    ...(options.historyReplay ? { historyReplay: options.historyReplay } : {}),
    ...(options.presence ? { presence: options.presence } : {}),
    ...(options.journal ? { journal: options.journal } : {}),
    tracing,
  });
}

/** The namespace of a PubSub that names none. */
export const DEFAULT_NAMESPACE = 'events';
