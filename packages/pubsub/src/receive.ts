/**
 * What arrives from the transport, read by core's one rule for foreign producers: an envelope is
 * read as one, any other JSON value is a bare payload wrapped in a new envelope, and an envelope
 * whose `name` is not the channel it came on, or whose headers are not all strings, is refused
 * (DecodeError, reported as `decode`). A custom serializer decodes first; the same name and header
 * checks then apply to what it returns. Sequence numbers are read with suspicion: a forged
 * `pubsub-seq` is reported, never raised as a gap.
 */
import { DecodeError, type Envelope, envelopeFromTransport, jsonSerializer, type PubSubAdapterMessage, type Serializer } from '@events/core';
import type { Dispatcher, Listeners, Report } from './dispatch.js';
import type { Registry, TopicSubs } from './registry.js';
import type { PubSubTelemetry } from './telemetry.js';
import type { GapEvent, PubSubEvents } from './types.js';
import { type GapDetector, type Namespace, NODE_HEADER, parseSeq, SEQ_HEADER } from './wire.js';

export function decodeRemote(serializer: Serializer, data: Buffer, channel: string): Envelope {
  if (serializer === jsonSerializer) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(data.toString('utf8'));
    } catch (err) {
      throw new DecodeError(`not JSON (${(err as Error).message})`, data, { cause: err });
    }
    return envelopeFromTransport(parsed, data, { name: channel });
  }
  return envelopeFromTransport(serializer.decode(data), data, { name: channel });
}

export interface ReceiverParts {
  readonly ns: Namespace;
  readonly nodeId: string;
  readonly serializer: Serializer;
  readonly registry: Registry;
  readonly gaps: GapDetector;
  readonly dispatcher: Dispatcher;
  readonly listeners: Listeners<PubSubEvents>;
  readonly report: Report;
  /** Counts gaps in the metrics. Default: none. */
  readonly telemetry?: PubSubTelemetry;
  /** False before start and once close began: nothing is delivered then. */
  open(): boolean;
}

/** Hands what the adapter heard from other nodes to the local subscriptions it is for. */
export class Receiver {
  constructor(private readonly parts: ReceiverParts) {}

  receive(message: PubSubAdapterMessage): void {
    const { ns, registry, report } = this.parts;
    if (!this.parts.open()) return;
    const channel = ns.local(message.channel);
    const pattern = message.pattern === undefined ? undefined : ns.local(message.pattern);
    // Only topics of this namespace are subscribed: anything else is another application's.
    if (channel === undefined || (message.pattern !== undefined && pattern === undefined)) return;
    const topic = pattern ?? channel;
    const subs = registry.forTopic(topic, pattern === undefined ? 'channel' : 'pattern');
    if (!subs || subs.set.size === 0) return;
    let envelope: Envelope;
    try {
      // A zero-copy sender in this process hands over its envelope: nothing to decode.
      envelope = message.envelope ?? decodeRemote(this.parts.serializer, message.data, channel);
    } catch (err) {
      report('decode', err, { name: channel, detail: { topic } });
      return;
    }
    const node = envelope.headers[NODE_HEADER];
    if (node === this.parts.nodeId) return;
    if (node !== undefined) this.checkSequence(envelope, { topic, node, channel }, subs);
    this.parts.dispatcher.deliver(subs.list(), { envelope, pattern, position: message.position });
  }

  /**
   * Gap detection on the publisher's `pubsub-seq`. A value that is not a plain positive integer, or
   * a jump no real stream makes, is a foreign or forged number: reported, never raised as a gap.
   */
  private checkSequence(envelope: Envelope, stream: { topic: string; node: string; channel: string }, subs: TopicSubs): void {
    const raw = envelope.headers[SEQ_HEADER];
    if (raw === undefined) return;
    const seq = parseSeq(raw);
    const gap = seq === undefined ? 'implausible' : this.parts.gaps.check(stream, seq);
    if (gap === undefined) return;
    if (gap === 'implausible') {
      const why = seq === undefined ? 'is not a sequence number' : 'jumps further than any stream does';
      this.parts.report('decode', new Error(`ignored header ${SEQ_HEADER}=${JSON.stringify(raw.slice(0, 40))} from node ${JSON.stringify(stream.node.slice(0, 64))}: it ${why}`), {
        name: stream.channel,
        id: envelope.id,
        detail: { topic: stream.topic },
      });
      return;
    }
    const event: GapEvent = { ...gap, ...stream };
    const { listeners } = this.parts;
    this.parts.telemetry?.gap('sequence');
    listeners.emit('gap', event);
    for (const sub of subs.list()) listeners.safely(() => sub.options.onGap?.(event));
  }
}
