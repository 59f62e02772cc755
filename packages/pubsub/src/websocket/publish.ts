/**
 * Client publish through the gateway. Off unless the gateway has `authorizePublish`: without it
 * every publish frame is answered `PUBLISH_DISABLED`. A publish goes through, in this order: the
 * channel name (a channel, never a glob), the client's publish rate, the gateway's `publishSchema`
 * for the channel, `authorizePublish` (with a deadline, aborted when the client leaves), then
 * `broadcast`, which also checks the PubSub's own schema for the channel. Every publish frame is
 * answered, with `published` (the receiver count) or an `error` carrying the publish's id and a code.
 *
 * Not promised: more than `broadcast` promises (at-most-once), and an answer lost with the
 * connection; the client then cannot know whether its message left.
 */
import type { IncomingMessage } from 'node:http';
import { InvalidNameError, InvalidOptionError, SerializationError, type ErrorReporter, type StandardSchemaV1, ValidationError } from '@events/core';
import type { PubSub } from '../types.js';
import { answerWithin } from './hook-deadline.js';
import type { ClientFrame, ErrorCode, ServerFrame } from './protocol.js';
import { UNAVAILABLE_MESSAGE, validateClientChannel } from './reserved.js';

export interface PublishContext {
  /** Aborted when the client leaves or `authorizeTimeoutMs` passes: stop the lookup then. */
  readonly signal: AbortSignal;
}

/** Decides whether the client behind `request` may publish `message` (already checked by the channel's schema) on `channel`. */
// Four: `authorize(request, topic, context)` with the message the hook must see; the last is the options-like context.
// eslint-disable-next-line max-params
export type AuthorizePublish = (request: IncomingMessage, channel: string, message: unknown, context: PublishContext) => boolean | Promise<boolean>;

/** The schema a client's message on `channel` must pass, or undefined for none. */
export type PublishSchema = (channel: string) => StandardSchemaV1 | undefined;

export interface PublishRate {
  /** Publishes one client may make per second, on average. Default: 10. */
  perSecond?: number;
  /** Publishes one client may make at once before the rate applies. Default: 20. */
  burst?: number;
}

export const DEFAULT_PUBLISH_RATE: Required<PublishRate> = { perSecond: 10, burst: 20 };

/** The rate with its defaults; refuses a rate that is not a positive number. */
export function resolvePublishRate(rate: PublishRate = {}): Required<PublishRate> {
  const resolved = { ...DEFAULT_PUBLISH_RATE, ...rate };
  for (const [name, value] of Object.entries(resolved)) {
    if (!(Number.isFinite(value) && value > 0)) throw new InvalidOptionError(`publishRate.${name}`, `must be a finite number > 0, got ${String(value)}`);
  }
  return resolved;
}

export type PublishFrame = Extract<ClientFrame, { type: 'publish' }>;
export type PublishAnswer = Extract<ServerFrame, { type: 'published' | 'error' }>;

/** What the gateway shares with every client's publisher. */
export interface PublishHost {
  readonly pubsub: PubSub;
  readonly report: ErrorReporter['report'];
  readonly authorizePublish: AuthorizePublish | undefined;
  readonly publishSchema: PublishSchema | undefined;
  readonly authorizeTimeoutMs: number;
  readonly publishRate: Required<PublishRate>;
  /** Gateway-wide counts, read by its health(). */
  readonly publishCounts: { published: number; publishRefused: number };
}

/** A bucket of `burst` tokens refilled at `perSecond`: one token per publish. */
export class TokenBucket {
  private tokens: number;
  private refilledAt = performance.now();

  constructor(private readonly rate: Required<PublishRate>) {
    this.tokens = rate.burst;
  }

  take(): boolean {
    const now = performance.now();
    this.tokens = Math.min(this.rate.burst, this.tokens + ((now - this.refilledAt) / 1000) * this.rate.perSecond);
    this.refilledAt = now;
    if (this.tokens < 1) return false;
    this.tokens -= 1;
    return true;
  }
}

/** One client's publisher: answers each publish frame of that client. Never rejects. */
export function createPublisher(host: PublishHost, conn: { readonly request: IncomingMessage; readonly client: number }): (frame: PublishFrame, clientGone: AbortSignal) => Promise<PublishAnswer> {
  const bucket = new TokenBucket(host.publishRate);

  async function decide(frame: PublishFrame, clientGone: AbortSignal): Promise<PublishAnswer> {
    const { id, channel } = frame;
    const refuse = (code: ErrorCode, message: string): PublishAnswer => ({ type: 'error', id, channel, code, message });
    const authorizePublish = host.authorizePublish;
    if (!authorizePublish) return refuse('PUBLISH_DISABLED', 'this gateway does not take publishes from clients (no authorizePublish)');
    try {
      validateClientChannel(channel);
    } catch (err) {
      return refuse('INVALID_NAME', (err as Error).message);
    }
    if (!bucket.take()) {
      const { perSecond, burst } = host.publishRate;
      return refuse('RATE_LIMITED', `at most ${perSecond} publishes per second per client (bursts of ${burst})`);
    }
    let message = frame.data;
    const schema = host.publishSchema?.(channel);
    if (schema) {
      const result = await schema['~standard'].validate(message);
      if (result.issues) return refuse('INVALID_PAYLOAD', `invalid payload for "${channel}": ${result.issues.map(describeIssue).join('; ')}`);
      message = result.value;
    }
    let allowed = false;
    try {
      allowed = (await answerWithin((signal) => authorizePublish(conn.request, channel, message, { signal }), clientGone, host.authorizeTimeoutMs)) === true;
    } catch (err) {
      if (!clientGone.aborted) host.report('authorize', err, { name: channel, detail: { client: conn.client, publish: true } });
    }
    if (!allowed) return refuse('UNAUTHORIZED', `not authorized to publish on "${channel}"`);
    try {
      const receivers = await host.pubsub.broadcast(channel, message);
      return { type: 'published', id, channel, receivers };
    } catch (err) {
      if (err instanceof ValidationError || err instanceof SerializationError) return refuse('INVALID_PAYLOAD', err.message);
      if (err instanceof InvalidNameError) return refuse('INVALID_NAME', err.message);
      host.report('publish', err, { name: channel, detail: { client: conn.client } });
      return refuse('UNAVAILABLE', `could not publish: ${UNAVAILABLE_MESSAGE}`);
    }
  }

  return async (frame, clientGone) => {
    let answer: PublishAnswer;
    try {
      answer = await decide(frame, clientGone);
    } catch (err) {
      // A schema that throws instead of returning issues: the message is not accepted.
      host.report('listener', err, { name: frame.channel, detail: { client: conn.client, publish: true } });
      answer = { type: 'error', id: frame.id, channel: frame.channel, code: 'INVALID_PAYLOAD', message: 'the channel schema failed on this payload' };
    }
    if (answer.type === 'published') host.publishCounts.published += 1;
    else host.publishCounts.publishRefused += 1;
    return answer;
  };
}

function describeIssue(issue: StandardSchemaV1.Issue): string {
  const path = issue.path?.map((p) => String(typeof p === 'object' && p !== null && 'key' in p ? p.key : p)).join('.');
  return `${path || '(root)'}: ${issue.message}`;
}
