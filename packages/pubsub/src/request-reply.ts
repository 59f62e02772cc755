/**
 * Request/response over channels. Each request listens on its own reply channel
 * (`_pubsub:reply:<node>:<id>`), sends the request with a `pubsub-reply-to` header, takes the first
 * reply and removes the reply subscription whatever happens (reply, timeout, close), so a timed
 * out request leaves nothing subscribed, locally or on the transport.
 */
import { ClosedError, createId, type MessageMap, withTimeout } from '@events/core';
import type { PubSub, PubSubErrorContext, ReplyHandler, RequestOptions, Subscription, Topics } from './types.js';
import { REPLY_CHANNEL_PREFIX, REPLY_TO_HEADER } from './wire.js';

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
  report(error: unknown, context: PubSubErrorContext): void;
}

export class RequestReply {
  private readonly pending = new Set<(err: Error) => void>();

  constructor(private readonly host: Host) {}

  async request(channel: string, message: unknown, options: RequestOptions): Promise<unknown> {
    const timeoutMs = options.timeoutMs ?? 5000;
    const replyChannel = `${REPLY_CHANNEL_PREFIX}${this.host.nodeId}:${createId()}`;
    let settle!: { resolve: (v: unknown) => void; reject: (e: Error) => void };
    const answer = new Promise<unknown>((resolve, reject) => (settle = { resolve, reject }));
    const sub = await this.host.subscribe(replyChannel, (payload, meta) => {
      const failure = meta.envelope.headers[REPLY_ERROR_HEADER];
      if (failure !== undefined) settle.reject(new ReplyError(channel, failure));
      else settle.resolve(payload);
    });
    this.pending.add(settle.reject);
    try {
      await this.host.broadcast(channel, message, { headers: { ...options.headers, [REPLY_TO_HEADER]: replyChannel } });
      return await withTimeout(answer, timeoutMs, `request on "${channel}"`);
    } finally {
      this.pending.delete(settle.reject);
      await sub();
    }
  }

  reply(topics: Topics, handler: ReplyHandler<MessageMap, string>): Promise<Subscription> {
    return this.host.subscribe(topics, async (payload, meta) => {
      const replyTo = meta.envelope.headers[REPLY_TO_HEADER];
      if (replyTo === undefined) return;
      const correlation = { correlationId: meta.envelope.id };
      let result: unknown;
      try {
        result = await handler(payload, meta);
      } catch (err) {
        this.host.report(err, { kind: 'reply', channel: meta.channel });
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
      this.host.report(err, { kind: 'reply', channel });
    }
  }
}
