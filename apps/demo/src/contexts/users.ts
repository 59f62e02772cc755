/**
 * The users context: signs a user up and states the fact on the bus. It knows nothing of who
 * reacts (audit, notifications...): adding a reaction never touches this file.
 */
import { createId, InvalidOptionError } from '@events/core';
import type { Platform } from '@events/platform';
import * as v from 'valibot';
import { notificationChannel } from '../channels.js';
import type { Logger } from '../log.js';
import { describeIssues, signupSchema } from '../schemas.js';
import type { DemoMaps } from '../types.js';
import { welcomeJobId, welcomeRetry, type EmailRetryOptions } from './notifications.js';
import type { UsersDatabase } from './users-db.js';

export interface SignupInput {
  email: unknown;
  tenant: unknown;
}

export interface SignedUpUser {
  userId: string;
  tenant: string;
  email: string;
  /** The channel the user's notifications are broadcast on. */
  channel: string;
}

export interface UsersContext {
  /** Validates (signupSchema), stores the user, emits `UserSignedUp`. Throws InvalidOptionError on bad input. */
  signup(input: SignupInput): Promise<SignedUpUser>;
  count(): number;
}

/** Users kept in the demo's in-memory store. */
export const MAX_USERS = 10_000;

export interface UsersOptions {
  /** Default: MAX_USERS. */
  maxUsers?: number;
  /**
   * The users table on PostgreSQL (when the queue is there too): the user row and the
   * sendWelcomeEmail job then commit together. Default: none (users in memory only).
   */
  database?: { users: UsersDatabase; retry: EmailRetryOptions };
}

export function createUsersContext(platform: Platform<DemoMaps>, log: Logger, options: UsersOptions = {}): UsersContext {
  const maxUsers = options.maxUsers ?? MAX_USERS;
  // The users context's own store. In-memory: the demo is about the messages, not the database.
  const users = new Map<string, { email: string; tenant: string }>();
  return {
    count: () => users.size,
    async signup(input) {
      const parsed = v.safeParse(signupSchema, input);
      if (!parsed.success) {
        const first = parsed.issues[0];
        throw new InvalidOptionError(String(first.path?.[0]?.key ?? 'body'), `${describeIssues(parsed.issues)}, got ${preview(first.input)}`);
      }
      const { email, tenant } = parsed.output;
      const userId = createId();
      const at = new Date().toISOString();
      const database = options.database;
      if (database) {
        // One transaction: the user exists if and only if the welcome email job does.
        await database.users.signup({ id: userId, email, tenant }, (client) =>
          platform.queue.enqueue('sendWelcomeEmail', { userId, email, tenant }, { transaction: client, jobId: welcomeJobId(userId), correlationId: userId, ...welcomeRetry(database.retry) }),
        );
        log(`user ${userId} and job ${welcomeJobId(userId)} committed in one PostgreSQL transaction`);
      }
      users.set(userId, { email, tenant });
      // The demo's store is memory: bounded, the oldest user is forgotten past MAX_USERS.
      if (users.size > maxUsers) users.delete(users.keys().next().value!);
      log(`signup ${email} (tenant ${tenant}) -> user ${userId}; emitting UserSignedUp`);
      // The user id correlates every message of this story: the event, the job, the notifications.
      await platform.bus.emit('UserSignedUp', { userId, email, tenant }, { correlationId: userId, headers: { tenant } });
      const channel = notificationChannel(tenant, userId);
      await platform.pubsub.broadcast(channel, { tenant, userId, step: 'signed-up', context: 'users', at, text: `Signed up as ${email}` }, { correlationId: userId });
      return { userId, tenant, email, channel };
    },
  };
}

/** A bad value shown in an error, short and JSON-escaped (control characters included). */
function preview(value: unknown): string {
  const text = JSON.stringify(value) ?? String(value);
  return text.length > 80 ? `${text.slice(0, 80)}...` : text;
}
