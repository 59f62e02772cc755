/**
 * Who else of the tenant is online: the gateway's `authorize` answer for a connection's
 * subscriptions, with how the connection appears in a channel's presence. The page subscribes to
 * its tenant's chat room with `presence: true` and lists the room's members.
 *
 * The visitor's name comes from `?name=` on the socket URL, like the tenant (the demo's shortcut:
 * a real application takes both from its session, never from a value the page can edit).
 */
import type { IncomingMessage } from 'node:http';
import type { AuthorizeResult } from '@events/pubsub/websocket';
import { mayTenantSubscribe, tenantOfRequest } from './channels.js';

const NAME = /^[A-Za-z0-9_.-]{1,40}$/;

/** The visitor name of a websocket upgrade request (`?name=`), or `anonymous`. */
export function visitorOfRequest(url: string | undefined): string {
  let name: string | null = null;
  try {
    name = new URL(url ?? '/', 'http://localhost').searchParams.get('name');
  } catch {
    // A request target that is not a URL has no name.
  }
  return name !== null && NAME.test(name) ? name : 'anonymous';
}

/** The tenant isolation rule, answering with the visitor's presence when it allows. */
export function authorizeSubscribe(request: IncomingMessage, topic: string): AuthorizeResult {
  if (!mayTenantSubscribe(tenantOfRequest(request.url), topic)) return false;
  return { allow: true, presence: { user: visitorOfRequest(request.url) } };
}
