/**
 * The users context: signs a user up and states the fact on the bus. It knows nothing of who
 * reacts (audit, notifications...): adding a reaction never touches this file.
 */
import { createId, InvalidOptionError } from '@events/core';
import type { Platform } from '@events/platform';
import { isTenant, notificationChannel } from '../channels.js';
import type { Logger } from '../log.js';
import type { DemoMaps } from '../types.js';

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
  /** Validates, stores the user, emits `UserSignedUp`. Throws InvalidOptionError on bad input. */
  signup(input: SignupInput): Promise<SignedUpUser>;
  count(): number;
}

const EMAIL = /^[^\s@]{1,64}@[^\s@]{1,190}\.[^\s@]{2,}$/;

export function createUsersContext(platform: Platform<DemoMaps>, log: Logger): UsersContext {
  // The users context's own store. In-memory: the demo is about the messages, not the database.
  const users = new Map<string, { email: string; tenant: string }>();
  return {
    count: () => users.size,
    async signup(input) {
      const email = typeof input.email === 'string' ? input.email.trim().toLowerCase() : input.email;
      if (typeof email !== 'string' || !EMAIL.test(email)) throw new InvalidOptionError('email', `expected an email address like ada@example.com, got ${JSON.stringify(input.email)}`);
      if (!isTenant(input.tenant)) throw new InvalidOptionError('tenant', `expected 1-63 lowercase letters, digits or dashes, got ${JSON.stringify(input.tenant)}`);
      const tenant = input.tenant;
      const userId = createId();
      const at = new Date().toISOString();
      users.set(userId, { email, tenant });
      log(`signup ${email} (tenant ${tenant}) -> user ${userId}; emitting UserSignedUp`);
      // The user id correlates every message of this story: the event, the job, the notifications.
      await platform.bus.emit('UserSignedUp', { userId, email, tenant }, { correlationId: userId, headers: { tenant } });
      const channel = notificationChannel(tenant, userId);
      await platform.pubsub.broadcast(channel, { tenant, userId, step: 'signed-up', context: 'users', at, text: `Signed up as ${email}` });
      return { userId, tenant, email, channel };
    },
  };
}
