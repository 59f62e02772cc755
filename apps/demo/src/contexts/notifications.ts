/**
 * The notifications context: another consumer group (`notifications`), so it gets its own copy of
 * every UserSignedUp. Sending an email is slow and may fail, so the reaction here is only to turn
 * the fact into a command on the queue, which owns retries and replay.
 */
import { causedBy } from '@events/core';
import type { Platform } from '@events/platform';
import { notificationChannel } from '../channels.js';
import type { Logger } from '../log.js';
import type { DemoMaps } from '../types.js';

export const NOTIFICATIONS_GROUP = 'notifications';

export interface EmailRetryOptions {
  /** Total attempts of sendWelcomeEmail, the first included. */
  attempts: number;
  /** First retry delay in ms; it doubles each time (with jitter). */
  delayMs: number;
}

/**
 * The welcome job's id: one per user, so a redelivered event does not enqueue a second email, and
 * on PostgreSQL the job the users context already stored in its transaction is not stored twice.
 */
export function welcomeJobId(userId: string): string {
  return `welcome-${userId}`;
}

/** The welcome job's retry options. */
export function welcomeRetry(retry: EmailRetryOptions): { attempts: number; backoff: { type: 'exponential'; delayMs: number; jitter: number } } {
  return { attempts: retry.attempts, backoff: { type: 'exponential', delayMs: retry.delayMs, jitter: 0.2 } };
}

export async function registerNotifications(platform: Platform<DemoMaps>, options: { log: Logger; retry: EmailRetryOptions }): Promise<{ stop(): Promise<void> }> {
  const { log, retry } = options;
  const subscription = await platform.bus.on(
    'UserSignedUp',
    async (envelope) => {
      const { userId, email, tenant } = envelope.payload;
      const jobId = welcomeJobId(userId);
      // Stamped before enqueueing: a fast worker may start the job before enqueue returns here.
      const at = new Date().toISOString();
      await platform.queue.enqueue(
        'sendWelcomeEmail',
        { userId, email, tenant },
        {
          jobId,
          ...welcomeRetry(retry),
          ...(envelope.correlationId ? { correlationId: envelope.correlationId } : {}),
          causationId: envelope.id,
        },
      );
      log(`enqueued sendWelcomeEmail ${jobId} for ${email}`);
      await platform.pubsub.broadcast(notificationChannel(tenant, userId), {
        tenant,
        userId,
        step: 'email-queued',
        context: 'notifications',
        at,
        text: 'Welcome email queued',
      }, causedBy(envelope));
    },
    { group: NOTIFICATIONS_GROUP, concurrency: 4 },
  );
  return { stop: () => subscription.close() };
}
