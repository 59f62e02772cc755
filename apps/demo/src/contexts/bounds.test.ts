/** The demo's in-memory stores are bounded: a flood of signups costs bounded memory. */
import { createPlatform, type Platform } from '@events/platform';
import { waitFor } from '@events/testing';
import { afterEach, beforeEach, expect, it } from 'vitest';
import type { DemoMaps } from '../types.js';
import { registerAudit } from './audit.js';
import { createUsersContext } from './users.js';

let platform: Platform<DemoMaps>;
beforeEach(async () => {
  platform = await createPlatform<DemoMaps>({});
});
afterEach(() => platform.close({ timeoutMs: 2000 }));

it('keeps at most maxUsers users, forgetting the oldest', async () => {
  const users = createUsersContext(platform, () => undefined, { maxUsers: 3 });
  for (let i = 0; i < 5; i += 1) await users.signup({ email: `u${i}@example.com`, tenant: 'acme' });
  expect(users.count()).toBe(3);
});

it('keeps at most maxRecords audit records, the newest', async () => {
  const audit = await registerAudit(platform, () => undefined, { maxRecords: 3 });
  for (let i = 0; i < 5; i += 1) await platform.bus.emit('UserSignedUp', { userId: `u${i}`, email: `u${i}@example.com`, tenant: 'acme' });
  await waitFor(() => audit.records().some((r) => r.userId === 'u4'), 5000, 'the last record');
  expect(audit.records().map((r) => r.userId)).toEqual(['u2', 'u3', 'u4']);
  await audit.stop();
});
