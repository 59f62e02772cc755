/**
 * Request/response over channels, through ONE reply inbox per PubSub instance (node):
 * `_pubsub:reply:<node>:<token>`, inside the PubSub's namespace like every channel, subscribed on
 * the first request and kept until close (the adapter resubscribes it after a reconnect, as any
 * channel). A request is sent with a `pubsub-reply-to` header naming the inbox; the replier
 * answers there with `correlationId` = the request's envelope id, and the requester hands the
 * reply to the waiter of that id. So a request costs one publish, not a subscribe and an
 * unsubscribe (two Redis round trips) around it.
 *
 * Bounded: at most `maxPending` requests wait at once (the next gets BackpressureError at once),
 * each with its deadline; its waiter leaves the map whatever ends it (reply, timeout, abort,
 * close). A reply naming no waiting request (late, duplicate, forged) is dropped and counted
 * (`health().counts.repliesDropped`). A replier answers only to a reply inbox: a
 * `pubsub-reply-to` naming any other channel is refused and reported (kind `request`), so a
 * request cannot make a node publish into an application channel (another tenant's, say).
 *
 * Threat model (replies): anyone who can publish into this namespace on the transport can put
 * bytes on any channel, as before; what keeps a reply from being injected is that it must name
 * both the inbox and a waiting request id. The inbox ends in 128 random bits drawn per instance,
 * so it cannot be guessed from the node id that every envelope carries; the request ids are
 * UUIDv7 with 62 random bits each. A party that sees a request (a subscriber of its channel)
 * learns its inbox and id and can answer that request, exactly as it could answer the per-request
 * channel before; knowing the inbox gives it nothing against the node's other requests, whose ids
 * it has not seen (a reply with a wrong id is dropped and counted). Websocket clients cannot name
 * `_pubsub:` channels at all (websocket/reserved.ts).
 */
import { randomBytes } from 'node:crypto';
import { BackpressureError, ClosedError, createId, type MessageMap, TimeoutError } from '@events/core';
import type { Report } from './dispatch.js';
import { ENVELOPE_ID, type InternalBroadcastOptions } from './internal.js';
import type { MessageMeta, PubSub, ReplyHandler, RequestOptions, Subscription, Topics } from './types.js';
import { isReplyInbox, REPLY_CHANNEL_PREFIX, REPLY_TO_HEADER } from './wire.js';

/** Set on a reply whose handler threw; the requester rejects with a ReplyError carrying the message. */
export const REPLY_ERROR_HEADER = 'pubsub-reply-error';

/** The replying side's handler failed; `code` is `REPLY`. */
export class ReplyError extends Error {
  readonly code = 'REPLY';

  constructor(channel: string, message: string) {
    super(`reply handler on "${channel}" failed: ${message}`);
    this.name = 'ReplyError';
  }
}

interface Host extends Pick<PubSub<MessageMap>, 'nodeId' | 'subscribe' | 'broadcast'> {
  readonly report: Report;
}

export interface RequestLimits {
  /** Deadline of a request that names none. */
  readonly timeoutMs: number;
  /** Requests waiting at once. */
  readonly maxPending: number;
}

interface Waiter {
  readonly channel: string;
  resolve(value: unknown): void;
  reject(error: Error): void;
}

export class RequestReply {
  /** Waiting requests by their envelope id: at most `maxPending`. */
  private readonly waiting = new Map<string, Waiter>();
  private readonly inboxChannel: string;
  private inbox: Promise<Subscription> | undefined;
  /** The inbox subscription is confirmed: a request need not wait for it. */
  private inboxReady = false;
  private dropped = 0;

  constructor(
    private readonly host: Host,
    private readonly limits: RequestLimits,
  ) {
    this.inboxChannel = `${REPLY_CHANNEL_PREFIX}${host.nodeId}:${randomBytes(16).toString('hex')}`;
  }

  get size(): number {
    return this.waiting.size;
  }

  /** Replies dropped because no request waited for their id (late, duplicate or forged). */
  get repliesDropped(): number {
    return this.dropped;
  }

  async request(channel: string, message: unknown, options: RequestOptions): Promise<unknown> {
    const timeoutMs = options.timeoutMs ?? this.limits.timeoutMs;
    const signal = options.signal;
    signal?.throwIfAborted();
    if (this.waiting.size >= this.limits.maxPending) {
      throw new BackpressureError(`pubsub.request: ${this.limits.maxPending} requests already wait for a reply (raise maxPendingRequests, or retry later)`);
    }
    const id = createId();
    let waiter!: Waiter;
    const answer = new Promise<unknown>((resolve, reject) => (waiter = { channel, resolve, reject }));
    // Counted from now: subscribing the inbox (first request) is part of the wait.
    this.waiting.set(id, waiter);
    const timer = setTimeout(() => waiter.reject(new TimeoutError(`request on "${channel}"`, timeoutMs)), timeoutMs);
    const onAbort = (): void => waiter.reject(signal!.reason instanceof Error ? signal!.reason : new Error(String(signal!.reason)));
    signal?.addEventListener('abort', onAbort, { once: true });
    // Settled by every path below; this only keeps an answer nobody awaits any more from being unhandled.
    answer.catch(() => undefined);
    try {
      if (!this.inboxReady) await Promise.race([this.openInbox(), answer]);
      // The key first, then the caller's headers, then the key again: see sendOptions in pubsub.ts.
      const headers: Record<string, string> = { [REPLY_TO_HEADER]: this.inboxChannel, ...options.headers };
      headers[REPLY_TO_HEADER] = this.inboxChannel;
      const sendOptions: InternalBroadcastOptions = { headers, [ENVELOPE_ID]: id };
      // A refused broadcast (closed, bad payload) ends the request; a lost remote part is reported by broadcast.
      this.host.broadcast(channel, message, sendOptions).then(undefined, (err: unknown) => waiter.reject(err as Error));
      return await answer;
    } finally {
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
      this.waiting.delete(id);
    }
  }

  /**
   * The handler's answer (awaited when it is a promise) goes back to the inbox the request named.
   * What this returns is tracked by the dispatcher, so `close()` lets replies being sent finish.
   */
  reply(topics: Topics, handler: ReplyHandler<MessageMap, string>): Promise<Subscription> {
    return this.host.subscribe(topics, (payload, meta): Promise<void> | undefined => {
      const replyTo = meta.envelope.headers[REPLY_TO_HEADER];
      if (replyTo === undefined) return undefined;
      if (!isReplyInbox(replyTo)) {
        this.host.report('request', new Error(`refused a request whose ${REPLY_TO_HEADER} ${JSON.stringify(replyTo.slice(0, 80))} is not a reply inbox (${REPLY_CHANNEL_PREFIX}...)`), {
          name: meta.channel,
          id: meta.envelope.id,
        });
        return undefined;
      }
      const correlationId = meta.envelope.id;
      const answer = (result: unknown): Promise<void> => this.send(replyTo, result === undefined ? null : result, { correlationId });
      const failed = (err: unknown): Promise<void> => {
        this.host.report('reply', err, { name: meta.channel, id: meta.envelope.id });
        const text = err instanceof Error ? err.message : String(err);
        return this.send(replyTo, null, { correlationId, headers: { [REPLY_ERROR_HEADER]: text } });
      };
      let result: unknown;
      try {
        result = handler(payload, meta);
      } catch (err) {
        return failed(err);
      }
      // A synchronous answer is sent at once, without a promise hop.
      if (typeof (result as PromiseLike<unknown> | null)?.then === 'function') return Promise.resolve(result).then(answer, failed);
      return answer(result);
    });
  }

  closeAll(): void {
    for (const waiter of this.waiting.values()) waiter.reject(new ClosedError('pubsub'));
    this.waiting.clear();
  }

  /** The inbox subscription, made once; a failed subscribe is retried by the next request. */
  private openInbox(): Promise<Subscription> {
    this.inbox ??= this.host.subscribe(this.inboxChannel, (payload, meta) => this.onReply(payload, meta)).then(
      (sub) => {
        this.inboxReady = true;
        return sub;
      },
      (err: unknown) => {
        this.inbox = undefined;
        throw err;
      },
    );
    return this.inbox;
  }

  private onReply(payload: unknown, meta: MessageMeta): void {
    const id = meta.envelope.correlationId;
    const waiter = id === undefined ? undefined : this.waiting.get(id);
    if (waiter === undefined) {
      this.dropped += 1;
      return;
    }
    this.waiting.delete(id!);
    const failure = meta.envelope.headers[REPLY_ERROR_HEADER];
    if (failure !== undefined) waiter.reject(new ReplyError(waiter.channel, failure));
    else waiter.resolve(payload);
  }

  /** Sends a reply; never rejects (a failure is reported). */
  private send(channel: string, payload: unknown, options: { correlationId: string; headers?: Record<string, string> }): Promise<void> {
    return this.host.broadcast(channel, payload, options).then(
      () => undefined,
      (err: unknown) => this.host.report('reply', err, { name: channel }),
    );
  }
}
