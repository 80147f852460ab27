/**
 * Security events (issue 12): refused privileged requests and refused tokens land in the audit
 * chain of the domain attacked — visible to its admins, filterable, never in another tenant's
 * chain — rate-limited per source so a flood cannot fill the chain, with one summary of what was
 * suppressed; the chain still verifies.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AuditEntry } from '../../functions/core/audit/chain.ts';
import { SecurityEvents } from '../../functions/core/security/events.ts';
import type { TenantContext } from '../../functions/core/tenancy/domain.ts';
import { readTenantSummary } from '../../functions/core/tenancy/hosts.ts';
import { expectProblem, HOSTS, startTestPlatform } from '../support/platform.ts';

const t = await startTestPlatform('security-events-password');
let alice: string;
let bob: string;
let gina: string;
let root: string;

beforeAll(async () => {
  [alice, bob, gina, root] = await Promise.all([
    t.login(HOSTS.acme, 'alice'),
    t.login(HOSTS.acme, 'bob'),
    t.login(HOSTS.globex, 'gina'),
    t.login(HOSTS.admin, 'admin'),
  ]);
});
afterAll(async () => {
  await t.stop();
});

async function securityEntries(host: string, token: string): Promise<AuditEntry[]> {
  const response = await t.send({ host, token, path: '/api/audit?category=security&limit=100' });
  expect(response.status, response.text).toBe(200);
  return response.body.items as AuditEntry[];
}

describe('refusals are recorded in the attacked domain', () => {
  it('records a privileged request refused to a signed-in user, for the tenant admins', async () => {
    const refused = await t.send({
      host: HOSTS.acme,
      token: bob,
      method: 'POST',
      path: '/api/users',
      body: { username: 'mallory', password: 'mallory-password', roles: ['admin'] },
    });
    expectProblem(refused, 403);
    const entries = await securityEntries(HOSTS.acme, alice);
    const entry = entries.find((item) => item.action === 'security.privileged-request-refused');
    expect(entry).toMatchObject({
      actor: { username: 'bob', via: 'security' },
      details: {
        kind: 'privileged-request-refused',
        method: 'POST',
        route: '/api/users',
        permission: 'user:manage',
      },
    });
    expect(entry?.target).toMatch(/^source:/);
    // Only security entries come back under the filter; the full chain holds them too.
    expect(entries.every((item) => item.action.startsWith('security.'))).toBe(true);
    const all = await t.send({ host: HOSTS.acme, token: alice, path: '/api/audit?limit=100' });
    expect((all.body.items as AuditEntry[]).some((item) => item.id === entry?.id)).toBe(true);
  });

  it("records another tenant's token in the chain of the host it was used on, not its own", async () => {
    const before = (await securityEntries(HOSTS.acme, alice)).length;
    const crossTenant = await t.send({ host: HOSTS.globex, token: alice, path: '/api/skills' });
    expectProblem(crossTenant, 401);
    const forged = await t.send({ host: HOSTS.globex, token: `${gina.slice(0, -4)}AAAA`, path: '/api/me' });
    expectProblem(forged, 401);
    const globex = await securityEntries(HOSTS.globex, gina);
    expect(globex.filter((item) => item.action === 'security.token-refused').length).toBeGreaterThanOrEqual(
      2,
    );
    expect(JSON.stringify(globex)).not.toContain(alice);
    expect((await securityEntries(HOSTS.acme, alice)).length).toBe(before);
  });

  it('records tokens refused on the governance host in the platform audit, for super-admins', async () => {
    expectProblem(await t.send({ host: HOSTS.admin, token: alice, path: '/api/tenants' }), 401);
    const entries = await securityEntries(HOSTS.admin, root);
    expect(entries.some((item) => item.action === 'security.token-refused')).toBe(true);
  });

  it('keeps the filter to the callers who may read the audit, and to known categories', async () => {
    expectProblem(await t.send({ host: HOSTS.acme, token: bob, path: '/api/audit?category=security' }), 403);
    expectProblem(await t.send({ host: HOSTS.acme, token: alice, path: '/api/audit?category=nope' }), 422);
    const verify = await t.send({ host: HOSTS.acme, token: alice, path: '/api/audit/verify' });
    expect(verify.body.valid, verify.text).toBe(true);
  });
});

describe('the agent channel', () => {
  it('records no refused token for an agent calling with its own, so a flood of polls leaves the budget to refusals', async () => {
    const created = await t.send({
      host: HOSTS.acme,
      token: alice,
      method: 'POST',
      path: '/api/agents',
      body: { name: 'box' },
    });
    expect(created.status, created.text).toBe(201);
    const agent = String(created.body.token);
    const seen = new Set((await securityEntries(HOSTS.acme, alice)).map((item) => item.id));
    const poll = (token: string) =>
      t.send({
        host: HOSTS.acme,
        token,
        method: 'POST',
        path: '/api/agent/poll',
        body: { name: 'box', version: '1.0.0', waitSeconds: 0 },
      });
    // More polls than a source may have events recorded in a window (20).
    for (let i = 0; i < 25; i++) {
      const polled = await poll(agent);
      expect(polled.status, polled.text).toBe(204);
    }
    // A forged agent token is refused by the route's own authentication, and recorded.
    expectProblem(await poll(`${agent.slice(0, -4)}AAAA`), 401);
    // A route anybody may call reads no credential: a bad token sent there is not tried, so not refused.
    expect(
      (await t.send({ host: HOSTS.acme, token: `${bob.slice(0, -4)}AAAA`, path: '/api/health' })).status,
    ).toBe(200);
    // After the polls, a viewer's refused privileged request from the same address is recorded.
    expectProblem(
      await t.send({ host: HOSTS.acme, token: bob, method: 'DELETE', path: '/api/agents/box/token' }),
      403,
    );

    const recorded = (await securityEntries(HOSTS.acme, alice)).filter((item) => !seen.has(item.id));
    expect(recorded.find((item) => item.action === 'security.privileged-request-refused')).toMatchObject({
      actor: { username: 'bob' },
      details: { method: 'DELETE', route: '/api/agents/{name}/token', permission: 'agent:manage' },
    });
    const refusedTokens = recorded.filter((item) => item.action === 'security.token-refused');
    expect(refusedTokens.map((item) => item.details?.route)).toEqual(['/api/agent/poll']);
  });
});

describe('flood control', () => {
  it('writes a bounded number per source and window, then one summary of the rest', async () => {
    const tenant = await readTenantSummary(t.core.table, 'globex', true);
    if (tenant === null) throw new Error('globex missing');
    const domain: TenantContext = { kind: 'tenant', host: HOSTS.globex, tenant };
    let clock = Date.parse('2031-01-01T00:00:10.000Z');
    const events = new SecurityEvents({
      table: t.core.table,
      audit: t.core.audit,
      now: () => new Date(clock),
      maxPerWindow: 5,
      windowSeconds: 60,
    });
    const outcomes: string[] = [];
    for (let i = 0; i < 40; i++) {
      outcomes.push(
        await events.record(domain, {
          kind: 'internal-message-refused',
          source: 'queue:execution-results',
          detail: { messageId: `m-${i}`, reason: 'bad signature', nested: { dropped: true } },
        }),
      );
      clock += 100;
    }
    expect(outcomes.filter((outcome) => outcome === 'recorded')).toHaveLength(5);
    // Another source has its own budget.
    expect(await events.record(domain, { kind: 'token-refused', source: '203.0.113.9' })).toBe('recorded');

    clock = Date.parse('2031-01-01T00:01:30.000Z'); // the window is over
    expect(await events.flush(domain)).toBe(1);
    expect(await events.flush(domain)).toBe(0); // once
    const page = await t.core.audit.list(domain, 100, undefined, { category: 'security' });
    const fromQueue = page.items.filter((item) => item.target === 'source:queue:execution-results');
    expect(fromQueue.filter((item) => item.action === 'security.internal-message-refused')).toHaveLength(5);
    expect(fromQueue.find((item) => item.action === 'security.suppressed')?.details).toMatchObject({
      kind: 'internal-message-refused',
      suppressed: 35,
      recorded: 5,
    });
    expect(fromQueue[fromQueue.length - 1]?.details).not.toHaveProperty('nested');
  });
});
