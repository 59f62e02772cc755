import type { IncomingMessage } from 'node:http';
import { describe, expect, it } from 'vitest';
import { authorizeSubscribe, visitorOfRequest } from './presence.js';

const request = (url: string): IncomingMessage => ({ url }) as IncomingMessage;

describe('demo presence', () => {
  it('names a visitor from ?name= only when it is a short safe name', () => {
    expect(visitorOfRequest('/pubsub?tenant=acme&name=guest-1a2b')).toBe('guest-1a2b');
    for (const url of ['/pubsub', '/pubsub?name=', '/pubsub?name=a%20b', `/pubsub?name=${'x'.repeat(41)}`, '/pubsub?name=<b>', 'http://[/pubsub?name=x']) {
      expect(visitorOfRequest(url)).toBe('anonymous');
    }
  });

  it('allows what the tenant rule allows, with the visitor as presence, and nothing else', () => {
    expect(authorizeSubscribe(request('/pubsub?tenant=acme&name=ada'), 'tenant:acme:chat')).toEqual({ allow: true, presence: { user: 'ada' } });
    expect(authorizeSubscribe(request('/pubsub?tenant=globex&name=ada'), 'tenant:acme:chat')).toBe(false);
    expect(authorizeSubscribe(request('/pubsub?name=ada'), 'tenant:acme:chat')).toBe(false);
  });
});
