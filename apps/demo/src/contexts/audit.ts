/**
 * The audit context: its own consumer group (`audit`), so it receives every UserSignedUp whatever
 * other groups do. It keeps an in-memory log and answers the API's queries over pubsub
 * request/reply, so the API reads it the same way whether this context runs in the web process
 * or in a separate bus consumer process.
 */
import { causedBy } from '@events/core';
import type { Platform } from '@events/platform';
import { notificationChannel } from '../channels.js';
import type { Logger } from '../log.js';
import type { AuditRecord, DemoMaps } from '../types.js';

export const AUDIT_GROUP = 'audit';
/** Records kept in memory (the oldest is forgotten past it): a flood of signups costs bounded memory. */
export const MAX_AUDIT_RECORDS = 10_000;
export const AUDIT_QUERY_CHANNEL = 'demo:audit:query';

export interface AuditContext {
  records(tenant?: string): AuditRecord[];
  stop(): Promise<void>;
}

export async function registerAudit(platform: Platform<DemoMaps>, log: Logger, options: { /** Default: MAX_AUDIT_RECORDS. */ maxRecords?: number } = {}): Promise<AuditContext> {
  const maxRecords = options.maxRecords ?? MAX_AUDIT_RECORDS;
  const log_: AuditRecord[] = [];
  const seen = new Set<string>();
  const records = (tenant?: string): AuditRecord[] => log_.filter((r) => tenant === undefined || r.tenant === tenant);

  const subscription = await platform.bus.on(
    'UserSignedUp',
    async (envelope) => {
      const { userId, email, tenant } = envelope.payload;
      // At-least-once on RabbitMQ: a redelivered event must not be recorded twice.
      if (!seen.has(envelope.id)) {
        seen.add(envelope.id);
        if (log_.length >= maxRecords) seen.delete(log_.shift()!.eventId);
        log_.push({ eventId: envelope.id, event: envelope.name, tenant, userId, email, occurredAt: envelope.occurredAt, recordedAt: new Date().toISOString() });
        log(`recorded ${envelope.name} ${envelope.id} (user ${userId}, tenant ${tenant}); ${log_.length} record(s)`);
      }
      await platform.pubsub.broadcast(notificationChannel(tenant, userId), {
        tenant,
        userId,
        step: 'audit-recorded',
        context: 'audit',
        at: new Date().toISOString(),
        text: `Audit log recorded ${envelope.name}`,
      }, causedBy(envelope));
    },
    { group: AUDIT_GROUP, concurrency: 4 },
  );
  const replying = await platform.pubsub.reply(AUDIT_QUERY_CHANNEL, (query) => records((query as { tenant?: string }).tenant));
  return {
    records,
    async stop() {
      await subscription.close();
      await replying.close();
    },
  };
}
