/**
 * The welcome email worker. The "mail server" is simulated and flaky on purpose: each attempt fails
 * with probability `failureRate` (DEMO_FAILURE_RATE), except the last allowed attempt, so the story
 * always ends with the email sent and the retries are there to watch in the logs and on the page.
 */
import { sleep } from '@events/core';
import type { Platform } from '@events/platform';
import { notificationChannel } from '../channels.js';
import type { Logger } from '../log.js';
import type { DemoMaps, Notification } from '../types.js';

export interface EmailWorkerOptions {
  log: Logger;
  /** Probability that one attempt fails, 0..1. */
  failureRate: number;
  /** How long one simulated send takes, in ms. */
  sendMs: number;
  /** Jobs handled at once in this process. */
  concurrency: number;
  /** Source of randomness (tests pass a fixed one). */
  random?: () => number;
}

export async function registerEmailWorker(platform: Platform<DemoMaps>, options: EmailWorkerOptions): Promise<void> {
  const { log, failureRate, sendMs } = options;
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
        });
      await notify('email-attempt', `Sending welcome email (attempt ${ctx.attempt} of ${ctx.maxAttempts})`);
      await sleep(sendMs, ctx.signal);
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
