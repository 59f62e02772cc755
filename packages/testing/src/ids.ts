import { randomBytes } from 'node:crypto';

/** `<prefix>-<8 hex digits>`: a name (channel, exchange, key prefix, tenant) no other test or run uses on the shared brokers. */
export function randomId(prefix = 't'): string {
  return `${prefix}-${randomBytes(4).toString('hex')}`;
}
