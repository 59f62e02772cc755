/**
 * Channel names and the tenant isolation rule of the websocket gateway.
 *
 * Every notification channel embeds its tenant: `tenant:{tenant}:user:{userId}:notifications`.
 * A websocket connection belongs to one tenant (the demo takes it from `?tenant=` on the socket URL:
 * a real application would take it from its session cookie or a signed token, never from a value
 * the page can edit). The authorize hook lets a connection subscribe only to channels and patterns
 * under its own tenant prefix, so a page of tenant B never receives tenant A's notifications, even
 * if it asks for `tenant:*:user:*:notifications`.
 */
import type { ChatChannel, NotificationChannel } from './types.js';

/** Tenant names: short, URL- and channel-safe (no glob or separator characters). */
export const TENANT_PATTERN = /^[a-z0-9][a-z0-9-]{0,62}$/;

export function isTenant(value: unknown): value is string {
  return typeof value === 'string' && TENANT_PATTERN.test(value);
}

export function notificationChannel(tenant: string, userId: string): NotificationChannel {
  return `tenant:${tenant}:user:${userId}:notifications`;
}

/** Every notification of one tenant: what the demo page subscribes to. */
export function tenantNotificationsPattern(tenant: string): string {
  return `tenant:${tenant}:user:*:notifications`;
}

/** The tenant's chat room: pages of that tenant publish on it and read it through the gateway. */
export function chatChannel(tenant: string): ChatChannel {
  return `tenant:${tenant}:chat`;
}

const CHAT_CHANNEL = /^tenant:[a-z0-9][a-z0-9-]{0,62}:chat$/;

/** Whether `channel` is some tenant's chat room (the gateway checks its messages with the chat schema). */
export function isChatChannel(channel: string): boolean {
  return CHAT_CHANNEL.test(channel);
}

/** Whether a connection of `tenant` may publish on `channel`: its own tenant's chat room, nothing else. */
export function mayTenantPublish(tenant: string | undefined, channel: string): boolean {
  return isTenant(tenant) && channel === chatChannel(tenant);
}

const SAFE_SEGMENT = /^[A-Za-z0-9_-]+$/;

/**
 * Whether a connection of `tenant` may subscribe to `topic` (a channel or a glob). Allowed: the
 * tenant's own notification channels, one user's or all users' (`*` as the whole user segment),
 * and the tenant's chat room. Anything else, including globs that could reach past the tenant
 * prefix, is refused.
 */
export function mayTenantSubscribe(tenant: string | undefined, topic: string): boolean {
  if (!isTenant(tenant)) return false;
  if (topic === chatChannel(tenant)) return true;
  const parts = topic.split(':');
  if (parts.length !== 5) return false;
  const [head, t, user, userId, tail] = parts as [string, string, string, string, string];
  return head === 'tenant' && t === tenant && user === 'user' && tail === 'notifications' && (userId === '*' || SAFE_SEGMENT.test(userId));
}

/** The tenant a websocket upgrade request belongs to: `?tenant=` on its URL. */
export function tenantOfRequest(url: string | undefined): string | undefined {
  let tenant: string | undefined;
  try {
    tenant = new URL(url ?? '/', 'http://localhost').searchParams.get('tenant') ?? undefined;
  } catch {
    // A request target that is not a URL (`http://[`) belongs to no tenant.
    return undefined;
  }
  return isTenant(tenant) ? tenant : undefined;
}
