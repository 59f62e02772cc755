/**
 * In-process adapter on eventemitter3. A hub stands for the network: every adapter attached to
 * the same hub is one "node", so several PubSub instances in one process (or one test) talk to
 * each other exactly as processes do over Redis. Without a shared hub an adapter is alone.
 *
 * Delivery follows Redis: once per matching subscription of each other node, synchronously
 * within `publish`; nothing is buffered or persisted. `hub.cut(adapter)` / `hub.restore(adapter)`
 * simulate an outage of one node (what it misses is lost, then it reports `resubscribed`), so an
 * application can test its handling of loss without Redis.
 */
import { EventEmitter } from 'eventemitter3';
import { compileChannelPattern, type PubSubAdapter, type PubSubAdapterHandlers, type PubSubTopicKind } from '@events/core';
import type { PubSubStreamPosition } from '@events/core';
import { memoryHistory } from './memory-history.js';
import { memoryPresenceStore } from './memory-presence.js';

interface Node {
  readonly channels: Set<string>;
  readonly patterns: Map<string, (channel: string) => boolean>;
  handlers: PubSubAdapterHandlers | undefined;
  downAt: number | undefined;
}

/** The shared medium memory adapters publish through. */
export class MemoryHub {
  /** One event per published message; each node filters by its own interest. */
  readonly emitter = new EventEmitter<{ message: [from: Node, sent: { channel: string; data: Buffer; position: PubSubStreamPosition | undefined }] }>();
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
}

/** The in-process adapter: `createPubSub({ adapter: memoryPubSub({ hub }) })`. The default adapter. */
export function memoryPubSub(options: MemoryPubSubOptions = {}): PubSubAdapter {
  const hub = options.hub ?? createMemoryHub();
  const node: Node = { channels: new Set(), patterns: new Map(), handlers: undefined, downAt: undefined };

  const listener = (from: Node, { channel, data, position }: { channel: string; data: Buffer; position: PubSubStreamPosition | undefined }): void => {
    if (from === node || !node.handlers || node.downAt !== undefined) return;
    if (node.channels.has(channel)) node.handlers.message(position ? { channel, data, position } : { channel, data });
    for (const [pattern, match] of node.patterns) if (match(channel)) node.handlers.message(position ? { channel, pattern, data, position } : { channel, pattern, data });
  };

  /** Hands the bytes to every other node on the hub; returns how many subscriptions matched. */
  const send = (channel: string, data: Buffer, position?: PubSubStreamPosition): number => {
    let receivers = 0;
    for (const other of hub.nodes) {
      if (other === node || other.downAt !== undefined) continue;
      if (other.channels.has(channel)) receivers += 1;
      for (const match of other.patterns.values()) if (match(channel)) receivers += 1;
    }
    hub.emitter.emit('message', node, { channel, data, position });
    return receivers;
  };

  const adapter: PubSubAdapter = {
    kind: 'memory',
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
