/**
 * Request/response over channels. Each request listens on its own reply inbox
 * (`_pubsub:reply:<node>:<id>`, inside the PubSub's namespace like every channel), sends the
 * request with a `pubsub-reply-to` header, takes the first reply and removes the inbox subscription
 * whatever happens (reply, timeout, abort, close), so a finished request leaves nothing subscribed.
 *
 * Bounded: at most `maxPending` requests wait at once (the next gets BackpressureError at once),
 * each with a deadline. A replier answers only to a reply inbox: a `pubsub-reply-to` naming any
 * other channel is refused and reported (kind `request`), so a request cannot make a node publish
 * into an application channel (another tenant's, say).
 */
import { BackpressureError, ClosedError, createId, type MessageMap, TimeoutError } from '@events/core';
import type { Report } from './dispatch.js';
import type { PubSub, ReplyHandler, RequestOptions, Subscription, Topics } from './types.js';
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

export class RequestReply {
  private readonly pending = new Set<(err: Error) => void>();

  constructor(
    private readonly host: Host,
    private readonly limits: RequestLimits,
  ) {}

  get size(): number {
    return this.pending.size;
  }

  async request(channel: string, message: unknown, options: RequestOptions): Promise<unknown> {
    const timeoutMs = options.timeoutMs ?? this.limits.timeoutMs;
    const signal = options.signal;
    signal?.throwIfAborted();
    if (this.pending.size >= this.limits.maxPending) {
      throw new BackpressureError(`pubsub.request: ${this.limits.maxPending} requests already wait for a reply (raise maxPendingRequests, or retry later)`);
    }
    const replyChannel = `${REPLY_CHANNEL_PREFIX}${this.host.nodeId}:${createId()}`;
    let settle!: { resolve: (v: unknown) => void; reject: (e: Error) => void };
    const answer = new Promise<unknown>((resolve, reject) => (settle = { resolve, reject }));
    // Counted from now: the inbox subscription is part of the wait.
    this.pending.add(settle.reject);
    const timer = setTimeout(() => settle.reject(new TimeoutError(`request on "${channel}"`, timeoutMs)), timeoutMs);
    const onAbort = (): void => settle.reject(signal!.reason instanceof Error ? signal!.reason : new Error(String(signal!.reason)));
    signal?.addEventListener('abort', onAbort, { once: true });
    // Settled by every path below; this only keeps an answer nobody awaits any more from being unhandled.
    answer.catch(() => undefined);
    const subscribing = this.host.subscribe(replyChannel, (payload, meta) => {
      const failure = meta.envelope.headers[REPLY_ERROR_HEADER];
      if (failure !== undefined) settle.reject(new ReplyError(channel, failure));
      else settle.resolve(payload);
    });
    let sub: Subscription | undefined;
    try {
      sub = await Promise.race([subscribing, answer.then(() => undefined)]);
      await Promise.race([this.host.broadcast(channel, message, { headers: { ...options.headers, [REPLY_TO_HEADER]: replyChannel } }), answer]);
      return await answer;
    } finally {
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
      this.pending.delete(settle.reject);
      // The request may have ended before the inbox subscription was confirmed: close it once it is.
      if (sub) await sub.close({ drain: false });
      else void subscribing.then((s) => s.close({ drain: false }), () => undefined);
    }
  }

  reply(topics: Topics, handler: ReplyHandler<MessageMap, string>): Promise<Subscription> {
    return this.host.subscribe(topics, async (payload, meta) => {
      const replyTo = meta.envelope.headers[REPLY_TO_HEADER];
      if (replyTo === undefined) return;
      if (!isReplyInbox(replyTo)) {
        this.host.report('request', new Error(`refused a request whose ${REPLY_TO_HEADER} ${JSON.stringify(replyTo.slice(0, 80))} is not a reply inbox (${REPLY_CHANNEL_PREFIX}...)`), {
          name: meta.channel,
          id: meta.envelope.id,
        });
        return;
      }
      const correlation = { correlationId: meta.envelope.id };
      let result: unknown;
      try {
        result = await handler(payload, meta);
      } catch (err) {
        this.host.report('reply', err, { name: meta.channel, id: meta.envelope.id });
        const text = err instanceof Error ? err.message : String(err);
        await this.send(replyTo, null, { ...correlation, headers: { [REPLY_ERROR_HEADER]: text } });
        return;
      }
      await this.send(replyTo, result === undefined ? null : result, correlation);
    });
  }

  closeAll(): void {
    for (const reject of this.pending) reject(new ClosedError('pubsub'));
    this.pending.clear();
  }

  private async send(channel: string, payload: unknown, options: { correlationId: string; headers?: Record<string, string> }): Promise<void> {
    try {
      await this.host.broadcast(channel, payload, options);
    } catch (err) {
      this.host.report('reply', err, { name: channel });
    }
  }
}
