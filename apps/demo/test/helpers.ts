import { randomBytes } from 'node:crypto';

/** A tenant name no other test run uses (tenants share one broker). */
export function randomTenant(prefix: string): string {
  return `${prefix}-${randomBytes(4).toString('hex')}`;
}

export const CHROMIUM = {
  executablePath: '/usr/bin/chromium',
  args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update'],
};
