import type { Platform } from '@events/platform';
import { expectTypeOf, it } from 'vitest';
import { createDashboard, type Dashboard } from '../src/dashboard.js';

type Maps = {
  channels: { [key: `user:${string}:notifications`]: { text: string } };
  events: { 'users.UserSignedUp': { userId: string } };
  jobs: { sendWelcomeEmail: { userId: string } };
};

it('mounts over a platform with typed maps', () => {
  const platform = {} as Platform<Maps>;
  expectTypeOf(createDashboard({ platform, authorize: () => ({ user: 'ada' }), jobNames: ['sendWelcomeEmail'] })).toEqualTypeOf<Dashboard>();
  expectTypeOf(createDashboard({ platform: {} as Platform, insecure: true })).toEqualTypeOf<Dashboard>();
  createDashboard({ platform, authorize: async () => ({ deny: 401, message: 'log in at /login' }) });
  // @ts-expect-error authorize answers a boolean, { user } or { deny }
  createDashboard({ platform, authorize: () => 'yes' });
  // @ts-expect-error basePath is a string
  createDashboard({ platform, basePath: 42 });
  // @ts-expect-error the platform is required
  createDashboard({ jobNames: [] });
});
