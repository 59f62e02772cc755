import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { chatChannel, isChatChannel, mayTenantPublish, mayTenantSubscribe, notificationChannel, TENANT_PATTERN, tenantNotificationsPattern, tenantOfRequest } from './channels.js';

describe('tenant isolation rule', () => {
  it('allows a tenant its own user channels and its tenant-wide pattern', () => {
    expect(mayTenantSubscribe('acme', notificationChannel('acme', 'u1'))).toBe(true);
    expect(mayTenantSubscribe('acme', tenantNotificationsPattern('acme'))).toBe(true);
  });

  it("refuses another tenant's channels and every glob that could reach past the tenant prefix", () => {
    for (const topic of [
      notificationChannel('globex', 'u1'),
      'tenant:*:user:*:notifications',
      'tenant:acme*:user:*:notifications',
      'tenant:ac?e:user:*:notifications',
      'tenant:[a]cme:user:*:notifications',
      'tenant:acme:user:u*:notifications',
      'tenant:acme:user:*:notifications:extra',
      'tenant:acme:*',
      'demo:audit:query',
      'tenant:acme:user:u1:notifications\\',
    ]) {
      expect(mayTenantSubscribe('acme', topic), topic).toBe(false);
    }
  });

  it('refuses everything to a connection without a valid tenant', () => {
    expect(mayTenantSubscribe(undefined, tenantNotificationsPattern('acme'))).toBe(false);
    expect(tenantOfRequest('/pubsub')).toBeUndefined();
    expect(tenantOfRequest('/pubsub?tenant=ACME*')).toBeUndefined();
    expect(tenantOfRequest('/pubsub?tenant=acme')).toBe('acme');
    // A target that is not a URL belongs to no tenant, and does not throw.
    expect(tenantOfRequest('http://[/pubsub?tenant=acme')).toBeUndefined();
  });
});

describe('the tenant chat rule', () => {
  it('lets a tenant publish on and read its own chat room, nothing else', () => {
    expect(mayTenantPublish('acme', chatChannel('acme'))).toBe(true);
    expect(mayTenantSubscribe('acme', chatChannel('acme'))).toBe(true);
    for (const channel of [chatChannel('globex'), 'tenant:*:chat', 'tenant:acme:chat:x', notificationChannel('acme', 'u1'), 'demo:audit:query']) {
      expect(mayTenantPublish('acme', channel), channel).toBe(false);
    }
    expect(mayTenantSubscribe('acme', chatChannel('globex'))).toBe(false);
    expect(mayTenantPublish(undefined, chatChannel('acme'))).toBe(false);
  });

  it('allows a publish only on the exact chat room of the connection tenant (property)', () => {
    const tenant = fc.stringMatching(TENANT_PATTERN);
    const channel = fc.oneof(fc.string({ maxLength: 80 }), tenant.map(chatChannel), tenant.map((t) => `tenant:${t}:chat`));
    fc.assert(
      fc.property(fc.option(tenant, { nil: undefined }), channel, (t, ch) => {
        expect(mayTenantPublish(t, ch)).toBe(t !== undefined && ch === `tenant:${t}:chat`);
        if (mayTenantPublish(t, ch)) expect(isChatChannel(ch)).toBe(true);
      }),
    );
  });
});
