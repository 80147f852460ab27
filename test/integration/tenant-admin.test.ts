/**
 * A super-admin creates a tenant with a host and its first admin; that admin signs in on the new
 * host (and nowhere else), and the admin's own domain lists the permissions a custom role may hold.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type LocalPlatform, startLocalPlatform } from '../../lib/local/platform.ts';
import { call } from '../support/http.ts';
import { signIn } from '../support/session.ts';

const PASSWORD = 'tenant-admin-test-password';
let platform: LocalPlatform;
let admin: string;

beforeAll(async () => {
  platform = await startLocalPlatform({
    port: 0,
    dataDir: null,
    schedules: false,
    demoPassword: PASSWORD,
    log: () => undefined,
  });
  admin = await signIn(platform.url, 'admin.localhost', 'admin', PASSWORD);
});

afterAll(async () => {
  await platform?.stop();
});

describe('a new tenant’s first admin', () => {
  it('is created by a super-admin and signs in on the tenant’s own host only', async () => {
    const created = await call(platform.url, {
      host: 'admin.localhost',
      token: admin,
      method: 'POST',
      path: '/api/tenants',
      body: {
        id: 'initech',
        name: 'Initech',
        plan: 'standard',
        hosts: ['initech.localhost'],
        expiresAt: '2030-01-01T00:00:00.000Z',
      },
    });
    expect(created.status, created.text).toBe(201);
    const first = await call(platform.url, {
      host: 'admin.localhost',
      token: admin,
      method: 'POST',
      path: '/api/tenants/initech/admins',
      body: { username: 'peter', password: 'initech-password-1' },
    });
    expect(first.status, first.text).toBe(201);
    expect(first.body).toMatchObject({ username: 'peter', roles: ['admin'], superAdmin: false });
    expect(first.text).not.toContain('initech-password-1');
    const again = await call(platform.url, {
      host: 'admin.localhost',
      token: admin,
      method: 'POST',
      path: '/api/tenants/initech/admins',
      body: { username: 'peter', password: 'initech-password-1' },
    });
    expect(again.status).toBe(409);
    const unknown = await call(platform.url, {
      host: 'admin.localhost',
      token: admin,
      method: 'POST',
      path: '/api/tenants/nope/admins',
      body: { username: 'x1', password: 'initech-password-1' },
    });
    expect(unknown.status).toBe(404);

    const signIn = (host: string) =>
      call(platform.url, {
        host,
        method: 'POST',
        path: '/api/auth/login',
        body: { username: 'peter', password: 'initech-password-1' },
      });
    const own = await signIn('initech.localhost');
    expect(own.status).toBe(200);
    expect((await signIn('acme.localhost')).status).toBe(401);
    const permissions = await call(platform.url, {
      host: 'initech.localhost',
      token: own.body.token,
      path: '/api/permissions',
    });
    expect(permissions.body.items).toContain('skill:run');
    expect(permissions.body.items).not.toContain('tenant:manage');
    // The tenant's own audit says who made its first admin: the super-admin, not "system".
    const audit = await call(platform.url, {
      host: 'initech.localhost',
      token: own.body.token,
      path: `/api/audit?action=user.created&target=${encodeURIComponent('user:peter')}`,
    });
    expect(audit.body.items.map((entry: { actor: unknown }) => entry.actor)).toEqual([
      { username: 'admin', via: 'session' },
    ]);
  });

  it('cannot be created by a tenant user or on a tenant host', async () => {
    const alice = await signIn(platform.url, 'acme.localhost', 'alice', PASSWORD);
    const onTenantHost = await call(platform.url, {
      host: 'acme.localhost',
      token: alice,
      method: 'POST',
      path: '/api/tenants/acme/admins',
      body: { username: 'mallory', password: 'mallory-password' },
    });
    expect(onTenantHost.status).toBe(404);
    const tenantTokenOnAdmin = await call(platform.url, {
      host: 'admin.localhost',
      token: alice,
      method: 'POST',
      path: '/api/tenants/acme/admins',
      body: { username: 'mallory', password: 'mallory-password' },
    });
    expect(tenantTokenOnAdmin.status).toBe(401);
  });
});
