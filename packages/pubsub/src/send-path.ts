/**
 * The send path of a PubSub: stamps a message (node id, sequence number, envelope, producer span),
 * delivers it to this node's handlers and hands its bytes to the adapter, in process, through the
 * transport, or in one atomic step with the channel's history.
 */
import {
  assertSerializable,
  createEnvelope,
  createId,
  type Envelope,
  jsonSerializer,
  type PubSubAdapter,
  type Serializer,
} from '@events/core';
import type { Dispatcher, Report } from './dispatch.js';
import type { HistorySubscriptions } from './history-subscribe.js';
import { assertHeaders, deepFreeze, jsonCopy } from './in-process.js';
import { ENVELOPE_ID, type InternalBroadcastOptions } from './internal.js';
import type { Registry } from './registry.js';
import type { BroadcastRecord, PubSubTelemetry } from './telemetry.js';
import type { BroadcastOptions, StreamPosition } from './types.js';
import { NODE_HEADER, SEQ_HEADER, type Namespace, type SequenceCounter } from './wire.js';

const NO_BYTES = Buffer.alloc(0);
/** Fulfilled promises of small receiver counts, shared: an in-process broadcast allocates none. */
const SETTLED: ReadonlyArray<Promise<number>> = Array.from({ length: 65 }, (_, n) => Promise.resolve(n));
const settled = (count: number): Promise<number> => SETTLED[count] ?? Promise.resolve(count);
/**
 * `{ ...options, local }`, written so V8 stays fast: in Node 20 a key added after a spread
 * (`{ ...a, k }`, or a store of a new key into `{ ...a }`) takes a slow path, 1 to 2 µs a call
 * (measured), where `{ k, ...a }` followed by a store to `k` costs a tenth of it. The spread keeps
 * the symbol-keyed internal options and makes data properties (`__proto__` included).
 */
export function sendOptions(options: BroadcastOptions, local: boolean): SendOptions {
  const copy: SendOptions = { local, ...options };
  copy.local = local;
  return copy;
}

/** The options of a `broadcast` that names none: shared, never written. */
export const REMOTE: SendOptions = Object.freeze({ local: false });

export interface SendOptions extends BroadcastOptions {
  local: boolean;
  exclude?: string;
  /** The platform's own messages (presence): no span, no journal step. */
  untraced?: boolean;
}


export interface SendPathParts {
  readonly nodeId: string;
  readonly adapter: PubSubAdapter;
  readonly serializer: Serializer;
  readonly ns: Namespace;
  readonly registry: Registry;
  readonly dispatcher: Dispatcher;
  readonly sequence: SequenceCounter;
  readonly history: HistorySubscriptions;
  readonly telemetry: PubSubTelemetry;
  readonly report: Report;
}

export class SendPath {
  constructor(private readonly parts: SendPathParts) {}

  /** Stamps, encodes and delivers locally (synchronously), then hands the bytes to the adapter. */
  emit(channel: string, payload: unknown, options: SendOptions): Promise<number> {
    const inProcess = this.parts.adapter.inProcess;
    // Refuse before a sequence number is spent, so a bad payload never shows up as a gap. A
    // zero-copy adapter carries any value, as the bus's does.
    if (inProcess?.zeroCopy !== true) assertSerializable(payload);
    if (inProcess !== undefined && options.headers !== undefined) assertHeaders(options.headers);
    // Set first and again after the caller's headers (which cannot replace it): see sendOptions.
    const headers: Record<string, string> = { [NODE_HEADER]: this.parts.nodeId, ...options.headers };
    headers[NODE_HEADER] = this.parts.nodeId;
    if (!options.local) headers[SEQ_HEADER] = String(this.parts.sequence.next(channel));
    // Request/reply names the id in advance (internal.ts ENVELOPE_ID).
    // One clock read for the id and the envelope's time.
    const now = Date.now();
    const id = (options as InternalBroadcastOptions)[ENVELOPE_ID] ?? createId(now);
    // The producer span (its context written into `headers`) and journal step: undefined, and
    // nothing allocated, without an OpenTelemetry SDK and a journal (telemetry.ts).
    const traced = options.untraced ? undefined : this.parts.telemetry.begin({ channel, id, correlationId: options.correlationId, causationId: options.causationId, payload }, headers);
    const envelope = createEnvelope(
      channel,
      payload,
      options.correlationId === undefined && options.causationId === undefined ? { id, headers, occurredAt: now } : { id, headers, occurredAt: now, correlationId: options.correlationId, causationId: options.causationId },
    );
    if (inProcess !== undefined && (inProcess.zeroCopy || this.parts.serializer === jsonSerializer) && (options.local || !this.parts.history.windowFor(channel))) {
      return this.emitInProcess(envelope, options, traced);
    }
    let data: Buffer;
    try {
      data = this.parts.serializer.encode(envelope);
    } catch (err) {
      this.parts.telemetry.failed(traced, err);
      throw err;
    }
    const stored = options.local ? undefined : this.parts.history.windowFor(channel);
    if (stored) return this.emitWithHistory(envelope, data, { stored, exclude: options.exclude, traced });
    const received = this.dispatchLocal(envelope, data, options);
    if (options.local) {
      this.parts.telemetry.sent(traced, received);
      return Promise.resolve(received);
    }
    let published: Promise<number>;
    try {
      published = this.parts.adapter.publish(this.parts.ns.wire(channel), data);
    } catch (err) {
      published = Promise.reject(err as Error);
    }
    // What waits for the adapter's answer holds no envelope (its payload and headers): a process
    // that publishes and subscribes flat out on Redis reads its PUBLISH replies late, thousands
    // outstanding, and each kept alive past a young-generation collection costs GC time.
    return published.then(
      (remote) => {
        this.parts.telemetry.sent(traced, received + remote);
        return received + remote;
      },
      (err: unknown) => {
        // At-most-once: the remote part is lost; the count says who really got it.
        this.parts.report('publish', err, { name: channel, id });
        this.parts.telemetry.failed(traced, err);
        return received;
      },
    );
  }

  /**
   * In process (memoryPubSub): local handlers, then the other nodes of the hub, all within this
   * call. Bytes are made only when another node listens, zero-copy makes none (and freezes the
   * envelope first when asked): the count is known at once, so nothing waits on the adapter.
   */
  private emitInProcess(envelope: Envelope, options: SendOptions, traced: BroadcastRecord | undefined): Promise<number> {
    const inProcess = this.parts.adapter.inProcess!;
    if (inProcess.freeze) deepFreeze(envelope);
    const received = this.dispatchLocal(envelope, undefined, options);
    let count = received;
    if (!options.local) {
      const wire = this.parts.ns.wire(envelope.name);
      try {
        if (inProcess.receivers(wire) > 0) count += inProcess.send(wire, inProcess.zeroCopy ? { data: NO_BYTES, envelope } : { data: this.parts.serializer.encode(envelope) });
      } catch (err) {
        // At-most-once, as in emit: the remote part is lost; the count says who really got it.
        this.parts.report('publish', err, { name: envelope.name, id: envelope.id });
        this.parts.telemetry.failed(traced, err);
        return settled(received);
      }
    }
    this.parts.telemetry.sent(traced, count);
    return settled(count);
  }

  /**
   * On a channel with history the message is stored and published in one atomic step, and local
   * handlers get it once that step gave it its offset. When the step fails nobody gets it: a
   * message is never live without being in history.
   */
  private emitWithHistory(
    envelope: Envelope,
    data: Buffer,
    { stored, exclude, traced }: { stored: NonNullable<ReturnType<HistorySubscriptions['windowFor']>>; exclude: string | undefined; traced: BroadcastRecord | undefined },
  ): Promise<number> {
    const channel = envelope.name;
    let stepped: Promise<{ receivers: number; position: StreamPosition }>;
    try {
      stepped = stored.history.publishWithHistory(this.parts.ns.wire(channel), data, stored.window);
    } catch (err) {
      stepped = Promise.reject(err as Error);
    }
    return stepped.then(
      ({ receivers, position }) => {
        const count = this.dispatchLocal(envelope, data, { exclude, position }) + receivers;
        this.parts.telemetry.sent(traced, count);
        return count;
      },
      (err: unknown) => {
        this.parts.report('publish', err, { name: channel, id: envelope.id });
        this.parts.telemetry.failed(traced, err);
        return 0;
      },
    );
  }

  /**
   * Local handlers get a decoded copy of what was sent, so they see exactly what a remote node
   * would, and one handler mutating its message never reaches the sender. Decoded at most once per
   * message (the handlers of one node share that copy, as on a remote node), and not at all when
   * nothing here matches or every match only reads the sender's envelope (LocalSubscription.shared).
   * Without `data` (in process) the copy is a JSON round trip of the payload (in-process.ts), or
   * with zero-copy the sender's envelope itself.
   */
  private dispatchLocal(envelope: Envelope, data: Buffer | undefined, { exclude, position }: { exclude?: string | undefined; position?: StreamPosition }): number {
    const channel = envelope.name;
    const exact = this.parts.registry.exactFor(channel);
    const globs = this.parts.registry.patternsMatching(channel);
    if (exact === undefined && globs === undefined) return 0;
    let copy: Envelope | undefined;
    if ((exact?.copying ?? 0) > 0 || globs?.some(([, subs]) => subs.copying > 0)) {
      copy = data !== undefined ? this.parts.serializer.decode(data) : this.parts.adapter.inProcess?.zeroCopy === true ? envelope : jsonCopy(envelope);
    }
    let count = 0;
    if (exact) count += this.parts.dispatcher.deliver(exact.list(), { envelope: copy ?? envelope, shared: envelope, pattern: undefined, exclude, position });
    if (globs) {
      for (const [topic, subs] of globs) {
        count += this.parts.dispatcher.deliver(subs.list(), { envelope: copy ?? envelope, shared: envelope, pattern: topic, exclude, position });
      }
    }
    return count;
  }
}
