/**
 * In-process adapter on eventemitter3. A hub stands for the network: every adapter attached to
 * the same hub is one "node", so several PubSub instances in one process (or one test) talk to
 * each other exactly as processes do over Redis. Without a shared hub an adapter is alone.
 *
 * Delivery follows Redis: once per matching subscription of each other node, synchronously
 * within `publish`; nothing is buffered or persisted. `hub.cut(adapter)` / `hub.restore(adapter)`
 * simulate an outage of one node (what it misses is lost, then it reports `resubscribed`), so an
 * application can test its handling of loss without Redis.
 *
 * By default every handler gets a copy, as from a broker (bytes only when another node listens).
 * `zeroCopy` hands every handler, on every node of the hub, the sender's envelope object itself:
 * unsafe to mutate, frozen outside production (see docs/pubsub.md, "Zero-copy mode").
 */
import { EventEmitter } from 'eventemitter3';
import { compileChannelPattern, type Envelope, type PubSubAdapter, type PubSubAdapterHandlers, type PubSubInProcess, type PubSubTopicKind } from '@events/core';
import type { PubSubStreamPosition } from '@events/core';
import { memoryHistory } from './memory-history.js';
import { memoryPresenceStore } from './memory-presence.js';

interface Node {
  readonly channels: Set<string>;
  readonly patterns: Map<string, (channel: string) => boolean>;
  handlers: PubSubAdapterHandlers | undefined;
  downAt: number | undefined;
}

/** One message on the hub: bytes, or the sender's envelope from a zero-copy sender. */
interface Sent {
  readonly channel: string;
  readonly data: Buffer;
  readonly envelope?: Envelope | undefined;
  readonly position?: PubSubStreamPosition | undefined;
}

/** The shared medium memory adapters publish through. */
export class MemoryHub {
  /** One event per published message; each node filters by its own interest. */
  readonly emitter = new EventEmitter<{ message: [from: Node, sent: Sent] }>();
  readonly nodes = new Set<Node>();
  /** @internal */
  readonly byAdapter = new WeakMap<PubSubAdapter, Node>();

  /** Takes one node off the hub: it neither sends nor receives until `restore`. */
  cut(adapter: PubSubAdapter): void {
    const node = this.byAdapter.get(adapter);
    if (!node || node.downAt !== undefined) return;
    node.downAt = Date.now();
    node.handlers?.connection({ type: 'down', at: node.downAt, error: new Error('memory hub: node cut') });
  }

  restore(adapter: PubSubAdapter): void {
    const node = this.byAdapter.get(adapter);
    if (!node || node.downAt === undefined) return;
    const downAt = node.downAt;
    node.downAt = undefined;
    node.handlers?.connection({ type: 'resubscribed', downAt, upAt: Date.now() });
  }
}

export function createMemoryHub(): MemoryHub {
  return new MemoryHub();
}

export interface MemoryPubSubOptions {
  /** Adapters on one hub reach each other. Default: a private hub (this node alone). */
  hub?: MemoryHub;
  /**
   * Hands every handler (this node's and other nodes' on the hub) the sender's envelope object
   * instead of a copy: no JSON round trip, for apps that never leave one process. UNSAFE TO
   * MUTATE: the sender and every handler share one object; payloads need not be JSON (a Map
   * arrives as the same Map), and moving to Redis later changes what handlers receive. Channels
   * that keep history are still stored, and delivered, as bytes. Default: false (a copy, as a
   * broker would).
   */
  zeroCopy?: boolean;
  /**
   * With `zeroCopy`: deep-freeze each envelope (and its payload) before any handler sees it, so a
   * mutating handler throws. Default: true unless NODE_ENV is `production` (freezing walks the
   * payload of every message).
   */
  freeze?: boolean;
}

/** What `memoryPubSub` returns: an adapter value that says which copy mode it is in. */
export interface MemoryPubSubAdapter extends PubSubAdapter {
  readonly inProcess: PubSubInProcess;
}

const NO_BYTES = Buffer.alloc(0);

/** The in-process adapter: `createPubSub({ adapter: memoryPubSub({ hub }) })`. The default adapter. */
export function memoryPubSub(options: MemoryPubSubOptions = {}): MemoryPubSubAdapter {
  const hub = options.hub ?? createMemoryHub();
  const node: Node = { channels: new Set(), patterns: new Map(), handlers: undefined, downAt: undefined };
  const zeroCopy = options.zeroCopy === true;
  const freeze = zeroCopy && (options.freeze ?? process.env.NODE_ENV !== 'production');

  const listener = (from: Node, { channel, data, envelope, position }: Sent): void => {
    if (from === node || !node.handlers || node.downAt !== undefined) return;
    const extra = envelope === undefined ? (position === undefined ? undefined : { position }) : position === undefined ? { envelope } : { envelope, position };
    if (node.channels.has(channel)) node.handlers.message(extra === undefined ? { channel, data } : { channel, data, ...extra });
    for (const [pattern, match] of node.patterns) if (match(channel)) node.handlers.message({ channel, pattern, data, ...extra });
  };

  /** Subscriptions of other live nodes that match `channel`. */
  const receivers = (channel: string): number => {
    let count = 0;
    for (const other of hub.nodes) {
      if (other === node || other.downAt !== undefined) continue;
      if (other.channels.has(channel)) count += 1;
      for (const match of other.patterns.values()) if (match(channel)) count += 1;
    }
    return count;
  };

  /** Hands the message to every other node on the hub; returns how many subscriptions matched. */
  const sendOnHub = (sent: Sent): number => {
    const count = receivers(sent.channel);
    if (count > 0) hub.emitter.emit('message', node, sent);
    return count;
  };
  const send = (channel: string, data: Buffer, position?: PubSubStreamPosition): number => sendOnHub({ channel, data, position });

  const inProcess: PubSubInProcess = {
    zeroCopy,
    freeze,
    receivers(channel) {
      if (node.downAt !== undefined) throw new Error('memory hub: node cut, message not sent');
      return receivers(channel);
    },
    send(channel, message) {
      if (node.downAt !== undefined) throw new Error('memory hub: node cut, message not sent');
      return sendOnHub(zeroCopy && message.envelope !== undefined ? { channel, data: NO_BYTES, envelope: message.envelope } : { channel, data: message.data });
    },
  };

  const adapter: MemoryPubSubAdapter = {
    kind: 'memory',
    inProcess,
    history: memoryHistory(hub, { online: () => node.downAt === undefined, send }),
    presence: memoryPresenceStore(hub, () => node.handlers !== undefined && node.downAt === undefined),
    start(handlers) {
      node.handlers = handlers;
      if (!hub.nodes.has(node)) {
        hub.nodes.add(node);
        hub.emitter.on('message', listener);
      }
      return Promise.resolve();
    },
    publish(channel, data) {
      if (node.downAt !== undefined) return Promise.reject(new Error('memory hub: node cut, message not sent'));
      return Promise.resolve(send(channel, data));
    },
    subscribe(topic: string, kind: PubSubTopicKind) {
      if (kind === 'channel') node.channels.add(topic);
      else node.patterns.set(topic, compileChannelPattern(topic));
      return Promise.resolve();
    },
    unsubscribe(topic: string, kind: PubSubTopicKind) {
      if (kind === 'channel') node.channels.delete(topic);
      else node.patterns.delete(topic);
      return Promise.resolve();
    },
    close() {
      hub.emitter.off('message', listener);
      hub.nodes.delete(node);
      node.handlers = undefined;
      node.channels.clear();
      node.patterns.clear();
      return Promise.resolve();
    },
  };
  hub.byAdapter.set(adapter, node);
  return adapter;
}
