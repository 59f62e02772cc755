/**
 * The welcome email worker. The "mail server" is simulated and flaky on purpose: each attempt fails
 * with probability `failureRate` (DEMO_FAILURE_RATE), except the last allowed attempt, so the story
 * always ends with the email sent and the retries are there to watch in the logs and on the page.
 * With `poisonRate` (DEMO_POISON_RATE) a signup's email is poisoned instead: its first attempt throws
 * DoNotRetryError (the mailbox does not exist), so the job is a dead letter at once, to be seen and
 * replayed from the dashboard; a replay (headers.replayOf) is sent like any other email.
 */
import { causedBy, sleep } from '@events/core';
import { DoNotRetryError } from '@events/queue';
import type { Platform } from '@events/platform';
import { notificationChannel } from '../channels.js';
import type { Logger } from '../log.js';
import type { DemoMaps, Notification } from '../types.js';

export interface EmailWorkerOptions {
  log: Logger;
  /** Probability that one attempt fails, 0..1. */
  failureRate: number;
  /** Probability that a signup's email is poisoned: a dead letter at its first attempt, 0..1. Default: 0. */
  poisonRate?: number;
  /** How long one simulated send takes, in ms. */
  sendMs: number;
  /** Jobs handled at once in this process. */
  concurrency: number;
  /** Source of randomness (tests pass a fixed one). */
  random?: () => number;
}

export async function registerEmailWorker(platform: Platform<DemoMaps>, options: EmailWorkerOptions): Promise<void> {
  const { log, failureRate, sendMs } = options;
  const poisonRate = options.poisonRate ?? 0;
  const random = options.random ?? Math.random;
  await platform.queue.process(
    'sendWelcomeEmail',
    async (job, ctx) => {
      const notify = (step: Notification['step'], text: string): Promise<number> =>
        platform.pubsub.broadcast(notificationChannel(job.tenant, job.userId), {
          tenant: job.tenant,
          userId: job.userId,
          step,
          text,
          context: 'email',
          attempt: ctx.attempt,
          at: new Date().toISOString(),
        }, causedBy(ctx.envelope));
      await notify('email-attempt', `Sending welcome email (attempt ${ctx.attempt} of ${ctx.maxAttempts})`);
      await sleep(sendMs, ctx.signal);
      if (poisonRate > 0 && ctx.attempt === 1 && ctx.envelope.headers.replayOf === undefined && random() < poisonRate) {
        const reason = `SMTP 550 no such mailbox ${job.email} (simulated, DEMO_POISON_RATE=${poisonRate})`;
        log(`job ${ctx.id} to ${job.email} DEAD-LETTERED: ${reason}; not retried, replay it from the dashboard`);
        await notify('email-failed', `Failed for good: ${reason}; the job is a dead letter now, replay it from the dashboard`);
        throw new DoNotRetryError(reason);
      }
      const last = ctx.attempt >= ctx.maxAttempts;
      if (!last && random() < failureRate) {
        const reason = `SMTP 421 service not available (simulated, DEMO_FAILURE_RATE=${failureRate})`;
        log(`job ${ctx.id} attempt ${ctx.attempt}/${ctx.maxAttempts} to ${job.email} FAILED: ${reason}; the queue will retry`);
        await notify('email-failed', `Attempt ${ctx.attempt} failed: ${reason}; retrying`);
        throw new Error(reason);
      }
      log(`job ${ctx.id} attempt ${ctx.attempt}/${ctx.maxAttempts}: welcome email sent to ${job.email}`);
      await notify('email-sent', `Welcome email sent to ${job.email}`);
    },
    { concurrency: options.concurrency },
  );
}
