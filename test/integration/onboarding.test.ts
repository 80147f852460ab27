/**
 * Onboarding a host end to end, in the AWS wiring's shape: the governance core on a real
 * DynamoDB-compatible store (dynalite), its DNS check through Node's real resolver against a stub
 * DNS server on loopback, and its edge through the real AWS SDK CloudFront client against the
 * loopback stand-in — refused before DNS, served after, retried through passing faults, never
 * failing the tenant. The clock is the test's, so backoff and deadlines are checked at their edges.
 */
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { CloudFrontHostEdge } from '../../functions/clients/cloudfront-edge.ts';
import { AuditLog } from '../../functions/core/audit/chain.ts';
import type { Table } from '../../functions/core/db.ts';
import { nodeDnsLookup, RoutingEndpointVerifier } from '../../functions/core/governance/dns.ts';
import { BindingOnlyHostEdge, distributionTenantName } from '../../functions/core/governance/edge.ts';
import { createGovernance, type Governance } from '../../functions/core/governance/index.ts';
import { runScan } from '../../functions/core/governance/lifecycle.ts';
import { HostOnboarding, ONBOARDING_LIMITS } from '../../functions/core/governance/onboarding.ts';
import { TenantRegistry } from '../../functions/core/tenancy/tenants.ts';
import { type LocalServices, startLocalServices } from '../../lib/local/services.ts';
import { CloudFrontStandIn } from '../support/cloudfront-standin.ts';
import { type DnsStub, startDnsStub } from '../support/dns-stub.ts';

const DISTRIBUTION = 'E2ONBOARD';
const ENDPOINT = 'd123onboard.cloudfront.net';
const ENDPOINT_ADDRESSES = ['203.0.113.10', '203.0.113.11'];
const by = { actor: { username: 'ops', via: 'session' } } as const;

let services: LocalServices;
let table: Table;
let dns: DnsStub;
const standIn = new CloudFrontStandIn();
let governance: Governance;
let clock = new Date('2030-01-01T00:00:00.000Z');
let sequence = 0;

const advanceClock = (seconds: number) => {
  clock = new Date(clock.getTime() + seconds * 1000);
};

async function newTenant(hosts: string[]) {
  sequence += 1;
  return governance.tenants.create(
    {
      id: `tenant-${sequence}`,
      name: `Tenant ${sequence}`,
      plan: 'standard',
      hosts,
      expiresAt: '2031-01-01T00:00:00Z',
    },
    by,
  );
}

beforeAll(async () => {
  services = await startLocalServices({ dataDir: null, visibilityTimeoutSeconds: null });
  table = {
    client: DynamoDBDocumentClient.from(services.dynamodb, {
      marshallOptions: { removeUndefinedValues: true },
    }),
    name: services.tableName,
  };
  dns = await startDnsStub();
  await standIn.start();
  dns.set(ENDPOINT, { a: ENDPOINT_ADDRESSES });
  const now = () => clock;
  governance = createGovernance({
    table,
    audit: new AuditLog({ table, now }),
    now,
    hostEdge: new CloudFrontHostEdge({
      client: standIn.client,
      distributionId: DISTRIBUTION,
      connectionGroupId: 'cg_onboard',
      routingEndpoint: ENDPOINT,
      certificate: {
        arn: 'arn:aws:acm:us-east-1:111122223333:certificate/platform',
        hosts: ['*.platform.example'],
      },
    }),
    dnsVerifier: new RoutingEndpointVerifier({
      lookup: nodeDnsLookup({ servers: [dns.server], timeoutMs: 500 }),
      target: ENDPOINT,
    }),
    platformHosts: { governance: ['admin.platform.example'], free: [], docs: ['docs.platform.example'] },
  });
});

afterAll(async () => {
  await standIn.stop();
  await dns?.close();
  await services?.stop();
});

beforeEach(() => {
  standIn.reset();
});

describe('a customer host', () => {
  it('is bound at once with the DNS records to create, and nothing is asked of CloudFront before DNS', async () => {
    const tenant = await newTenant(['shop.customer.example']);
    expect(tenant.hosts).toEqual(['shop.customer.example']);
    const view = await governance.onboarding.get('shop.customer.example');
    expect(view).toMatchObject({
      state: 'pending-dns',
      code: 'dns-missing',
      certificate: 'managed',
      target: ENDPOINT,
      owner: { domain: 'tenant', tenantId: tenant.id },
      attempts: 1,
    });
    expect(view.reason).toContain(`CNAME shop.customer.example → ${ENDPOINT}`);
    expect(view.dns).toContainEqual(
      expect.objectContaining({
        type: 'CNAME',
        name: 'shop.customer.example',
        value: ENDPOINT,
        required: true,
      }),
    );
    expect(dns.asked).toContain('CNAME shop.customer.example');
    expect(standIn.sent).toEqual([]);
    // Not due yet: an early call checks nothing.
    const asked = dns.asked.length;
    await governance.onboarding.advance('shop.customer.example');
    expect(dns.asked.length).toBe(asked);
  });

  it('goes back to waiting for DNS when CloudFront refuses it, then is served after, through passing faults', async () => {
    dns.set('shop.customer.example', { cname: ENDPOINT });
    standIn.resolves = () => false; // CloudFront's resolvers have not seen the record yet
    let view = await governance.onboarding.advance('shop.customer.example', { force: true });
    expect(view).toMatchObject({ state: 'pending-dns', code: 'edge-sees-no-dns' });
    expect(view.reason).toMatch(/^CloudFront: .*CNAME/);
    expect(standIn.sent.filter((request) => request.method === 'POST')).toHaveLength(1);
    expect(standIn.tenants.size).toBe(0);

    standIn.resolves = () => true;
    standIn.failNext = 3; // GET (look-up) fails, then the retry's GET, then …
    view = await governance.onboarding.advance('shop.customer.example', { force: true });
    expect(view).toMatchObject({ state: 'provisioning', code: 'edge-unavailable', attempts: 1 });
    expect(Date.parse(view.nextAttemptAt ?? '')).toBe(
      clock.getTime() + ONBOARDING_LIMITS.edgeRetryBaseSeconds * 1000,
    );
    view = await governance.onboarding.advance('shop.customer.example', { force: true });
    expect(view).toMatchObject({ state: 'provisioning', code: 'edge-unavailable', attempts: 2 });
    expect(Date.parse(view.nextAttemptAt ?? '')).toBe(
      clock.getTime() + 2 * ONBOARDING_LIMITS.edgeRetryBaseSeconds * 1000,
    );
    view = await governance.onboarding.advance('shop.customer.example', { force: true });
    expect(view).toMatchObject({ state: 'provisioning', attempts: 3 });

    view = await governance.onboarding.advance('shop.customer.example', { force: true });
    expect(view).toMatchObject({ state: 'provisioning', code: 'certificate-validating' });
    const [created] = standIn.tenants.values();
    expect(created).toMatchObject({
      name: distributionTenantName(DISTRIBUTION, 'shop.customer.example'),
      domains: ['shop.customer.example'],
      managedCertificate: true,
    });

    view = await governance.onboarding.advance('shop.customer.example', { force: true });
    expect(view).toMatchObject({ state: 'active', code: 'served' });
    expect(view.nextAttemptAt).toBeUndefined();
    // Settled: nothing more is asked of anyone.
    const sent = standIn.sent.length;
    await governance.onboarding.advance('shop.customer.example', { force: true });
    expect(standIn.sent.length).toBe(sent);
  });

  it('is advanced by the host-onboarding scan once due, and only then', async () => {
    await newTenant(['blog.customer.example']);
    dns.set('blog.customer.example', { cname: 'alias.customer.example' });
    dns.set('alias.customer.example', { cname: ENDPOINT }); // a chain reaching the endpoint
    const early = await runScan(governance.scans, 'host-onboarding', { now: clock });
    expect(early.changed.filter((change) => change.host === 'blog.customer.example')).toEqual([]);

    advanceClock(ONBOARDING_LIMITS.dnsRetryBaseSeconds);
    const due = await runScan(governance.scans, 'host-onboarding', { now: clock });
    expect(due.changed).toContainEqual({
      tenantId: expect.any(String),
      host: 'blog.customer.example',
      action: 'host:provisioning',
    });
    advanceClock(ONBOARDING_LIMITS.pendingPollSeconds);
    await runScan(governance.scans, 'host-onboarding', { now: clock });
    expect((await governance.onboarding.get('blog.customer.example')).state).toBe('active');
  });

  it('fails after the passing faults run out, says why, and starts over on retry', async () => {
    await newTenant(['flaky.customer.example']);
    dns.set('flaky.customer.example', { cname: ENDPOINT });
    standIn.failNext = 1000;
    let view = await governance.onboarding.advance('flaky.customer.example', { force: true });
    for (let attempt = 1; attempt < ONBOARDING_LIMITS.maxEdgeAttempts - 1; attempt++) {
      view = await governance.onboarding.advance('flaky.customer.example', { force: true });
      expect(view.state).toBe('provisioning');
    }
    expect(view.attempts).toBe(ONBOARDING_LIMITS.maxEdgeAttempts - 1);
    view = await governance.onboarding.advance('flaky.customer.example', { force: true });
    expect(view).toMatchObject({ state: 'failed', code: 'edge-unavailable' });
    expect(view.reason).toMatch(/kept failing \(8 tries\)/);
    // The tenant is untouched by all of it.
    expect(
      (await governance.registry.get(view.owner.domain === 'tenant' ? view.owner.tenantId : '')).status,
    ).toBe('active');

    standIn.failNext = 0;
    view = await governance.onboarding.retry('flaky.customer.example');
    expect(view).toMatchObject({ state: 'provisioning', code: 'certificate-validating', attempts: 0 });
  });

  it('reports a CNAME that points elsewhere, and CAA records that forbid Amazon’s CA', async () => {
    await newTenant(['wrong.customer.example', 'caa.customer.example']);
    dns.set('wrong.customer.example', { cname: 'old-cdn.example.net' });
    dns.set('old-cdn.example.net', { a: ['198.51.100.7'] });
    const wrong = await governance.onboarding.advance('wrong.customer.example', { force: true });
    expect(wrong).toMatchObject({ state: 'pending-dns', code: 'dns-elsewhere' });
    expect(wrong.reason).toContain('old-cdn.example.net');

    dns.set('caa.customer.example', { cname: ENDPOINT });
    dns.set('customer.example', { caa: [{ tag: 'issue', value: 'letsencrypt.org' }] });
    const caa = await governance.onboarding.advance('caa.customer.example', { force: true });
    expect(caa).toMatchObject({ state: 'pending-dns', code: 'caa-refuses' });
    expect(caa.reason).toContain('CAA 0 issue "amazon.com" on customer.example');
    dns.set('customer.example', {
      caa: [
        { tag: 'issue', value: 'letsencrypt.org' },
        { tag: 'issue', value: 'amazon.com' },
      ],
    });
    expect((await governance.onboarding.advance('caa.customer.example', { force: true })).state).toBe(
      'provisioning',
    );
    dns.delete('customer.example');
  });

  it('accepts an apex name whose ALIAS answers with the endpoint’s addresses', async () => {
    await newTenant(['apex.example']);
    dns.set('apex.example', { a: [ENDPOINT_ADDRESSES[1] ?? ''] });
    const view = await governance.onboarding.advance('apex.example', { force: true });
    expect(view.state).toBe('provisioning');
    expect(standIn.tenants.size).toBe(1);
  });

  it('keeps waiting while DNS cannot answer, and fails only when the DNS deadline has passed', async () => {
    await newTenant(['late.customer.example']);
    dns.failing.add('late.customer.example');
    const unavailable = await governance.onboarding.advance('late.customer.example', { force: true });
    expect(unavailable).toMatchObject({ state: 'pending-dns', code: 'dns-unavailable' });
    dns.failing.delete('late.customer.example');

    const since = Date.parse(unavailable.since);
    clock = new Date(since + ONBOARDING_LIMITS.dnsDeadlineDays * 24 * 3600 * 1000 - 1);
    expect((await governance.onboarding.advance('late.customer.example', { force: true })).state).toBe(
      'pending-dns',
    );
    clock = new Date(since + ONBOARDING_LIMITS.dnsDeadlineDays * 24 * 3600 * 1000);
    const failed = await governance.onboarding.advance('late.customer.example', { force: true });
    expect(failed).toMatchObject({ state: 'failed', code: 'dns-timeout' });
    expect(failed.reason).toMatch(/within 14 days/);
  });

  it('removes the distribution tenant with the host', async () => {
    const tenant = await newTenant(['keep.customer.example', 'gone.platform.example']);
    dns.set('gone.platform.example', { cname: ENDPOINT });
    await governance.onboarding.advance('gone.platform.example', { force: true });
    await governance.onboarding.advance('gone.platform.example', { force: true });
    expect((await governance.onboarding.get('gone.platform.example')).state).toBe('active');
    expect([...standIn.tenants.values()].flatMap((item) => item.domains)).toContain('gone.platform.example');
    await governance.tenants.removeHost(tenant.id, 'gone.platform.example', by);
    expect([...standIn.tenants.values()].flatMap((item) => item.domains)).not.toContain(
      'gone.platform.example',
    );
    await expect(governance.onboarding.get('gone.platform.example')).rejects.toThrow(/not bound/);
  });
});

describe('the platform’s own hosts', () => {
  it('are bound by the host-onboarding scan after a deploy and follow the same path, with the configured certificate', async () => {
    const first = await runScan(governance.scans, 'host-onboarding', { now: clock });
    expect(first.scan).toBe('host-onboarding');
    // Earlier scans in this suite bound it already, and its clock has since run past the DNS
    // deadline: an operator's retry starts it over.
    expect((await governance.onboarding.listPublic()).map((view) => view.host)).toEqual([
      'admin.platform.example',
      'docs.platform.example',
    ]);
    // The docs site's host is the public domain's too (no tenant can claim it), on its own surface.
    expect((await governance.onboarding.listPublic())[1]).toMatchObject({
      host: 'docs.platform.example',
      owner: { domain: 'public', surface: 'docs' },
    });
    await governance.onboarding.retry('admin.platform.example');
    let [admin] = await governance.onboarding.listPublic();
    expect(admin).toMatchObject({
      host: 'admin.platform.example',
      owner: { domain: 'public', surface: 'governance' },
      state: 'pending-dns',
      certificate: 'configured',
    });
    expect(admin?.dns.map((record) => record.type)).toEqual(['CNAME']);

    dns.set('admin.platform.example', { cname: ENDPOINT });
    advanceClock(ONBOARDING_LIMITS.dnsRetryMaxSeconds);
    await runScan(governance.scans, 'host-onboarding', { now: clock });
    advanceClock(ONBOARDING_LIMITS.pendingPollSeconds);
    await runScan(governance.scans, 'host-onboarding', { now: clock });
    [admin] = await governance.onboarding.listPublic();
    expect(admin?.state).toBe('active');
    const created = [...standIn.tenants.values()].find((item) =>
      item.domains.includes('admin.platform.example'),
    );
    expect(created).toMatchObject({
      managedCertificate: false,
      certificateArn: expect.stringContaining('platform'),
    });
  });
});

// Last: its own onboarding advances every host due in the shared table.
describe('the host-onboarding scan', () => {
  it('gives every due host its turn even when one host’s check throws, then reports the fault', async () => {
    const verifier = {
      verify: async (host: string) => {
        if (host === 'broken.scan.example') throw new Error('resolver crashed');
        return { ok: true, via: 'loopback' } as const;
      },
    };
    const onboarding = new HostOnboarding({
      table,
      edge: new BindingOnlyHostEdge(),
      verifier,
      now: () => clock,
    });
    const registry = new TenantRegistry({ table, onboarding, now: () => clock });
    await registry.create({
      id: 'scan-faults',
      name: 'Scan faults',
      plan: 'standard',
      hosts: ['broken.scan.example', 'fine.scan.example'],
      expiresAt: '2031-01-01T00:00:00Z',
    });
    // The inline first step swallowed the throw: both hosts are still due.
    expect((await onboarding.get('broken.scan.example')).state).toBe('pending-dns');
    await expect(onboarding.advanceDue()).rejects.toThrow('resolver crashed');
    expect((await onboarding.get('fine.scan.example')).state).toBe('active');
    expect((await onboarding.get('broken.scan.example')).state).toBe('pending-dns');
  });
});
