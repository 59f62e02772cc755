import { describe, expect, it } from 'vitest';
import { mayTenantSubscribe, notificationChannel, tenantNotificationsPattern, tenantOfRequest } from './channels.js';

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
