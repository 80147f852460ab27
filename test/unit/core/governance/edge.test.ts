/**
 * The CloudFront host edge through the real AWS SDK client, against the loopback stand-in of the
 * distribution-tenant API (`test/support/cloudfront-standin.ts`): what goes on the wire (signed,
 * with the right certificate choice) and how every answer is classified for the onboarding state
 * machine — refused before DNS, served after, passing faults, conflicts, certificates validating.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { CloudFrontHostEdge, hostEdgeFromEnv } from '../../../../functions/clients/cloudfront-edge.ts';
import { ENV, MissingConfigurationError } from '../../../../functions/core/env.ts';
import {
  BindingOnlyHostEdge,
  certificateCovers,
  distributionTenantName,
} from '../../../../functions/core/governance/edge.ts';
import { HostEdgeError } from '../../../../functions/core/governance/errors.ts';
import { CloudFrontStandIn, tag } from '../../../support/cloudfront-standin.ts';

const DISTRIBUTION = 'E2MULTITENANT';
const CONNECTION_GROUP = 'cg_2abcdef';
const ENDPOINT = 'd111111abcdef8.cloudfront.net';
const CERTIFICATE = 'arn:aws:acm:us-east-1:111122223333:certificate/platform';

const standIn = new CloudFrontStandIn();
let edge: CloudFrontHostEdge;
const name = (host: string) => distributionTenantName(DISTRIBUTION, host);

beforeAll(async () => {
  await standIn.start();
  edge = new CloudFrontHostEdge({
    client: standIn.client,
    distributionId: DISTRIBUTION,
    connectionGroupId: CONNECTION_GROUP,
    routingEndpoint: `${ENDPOINT}.`,
    certificate: { arn: CERTIFICATE, hosts: ['*.platform.example'] },
  });
});

afterAll(async () => {
  await standIn.stop();
});

beforeEach(() => {
  standIn.reset();
});

describe('CloudFrontHostEdge.provision', () => {
  it('creates a signed CreateDistributionTenant with a CloudFront-managed certificate for a customer host', async () => {
    const outcome = await edge.provision('shop.example.com');
    expect(outcome).toEqual({ kind: 'pending', code: 'certificate-validating', reason: expect.any(String) });
    const create = standIn.sent.find((request) => request.method === 'POST');
    expect(create?.path).toBe('/2020-05-31/distribution-tenant');
    expect(create?.headers.authorization).toMatch(
      /^AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE\/\d{8}\/us-east-1\/cloudfront\//,
    );
    expect(tag(create?.body ?? '', 'DistributionId')).toEqual([DISTRIBUTION]);
    expect(tag(create?.body ?? '', 'ConnectionGroupId')).toEqual([CONNECTION_GROUP]);
    expect(tag(create?.body ?? '', 'Name')).toEqual([name('shop.example.com')]);
    expect(tag(create?.body ?? '', 'Domain')).toEqual(['shop.example.com']);
    expect(tag(create?.body ?? '', 'ValidationTokenHost')).toEqual(['cloudfront']);
    expect(tag(create?.body ?? '', 'PrimaryDomainName')).toEqual(['shop.example.com']);
    expect(create?.body).not.toContain('<Customizations>');
  });

  it('serves a host the configured certificate covers with that certificate, and needs no managed one', async () => {
    expect(edge.certificate('acme.platform.example')).toBe('configured');
    expect(edge.certificate('deep.acme.platform.example')).toBe('managed');
    standIn.resolves = () => false; // a configured certificate does not wait for DNS
    expect(await edge.provision('acme.platform.example')).toEqual({
      kind: 'pending',
      code: 'edge-deploying',
      reason: expect.stringContaining('InProgress'),
    });
    const create = standIn.sent.find((request) => request.method === 'POST');
    expect(tag(create?.body ?? '', 'Arn')).toEqual([CERTIFICATE]);
    expect(create?.body).not.toContain('<ManagedCertificateRequest>');
    expect(await edge.provision('acme.platform.example')).toEqual({ kind: 'active' });
    expect(standIn.sent.filter((request) => request.method === 'POST')).toHaveLength(1);
  });

  it('is refused before the domain resolves to the connection group, and serves it after', async () => {
    standIn.resolves = () => false;
    const refused = await edge.provision('shop.example.com');
    expect(refused).toEqual({
      kind: 'dns-not-ready',
      reason: expect.stringMatching(/CNAME.*routing endpoint/),
    });
    expect(standIn.tenants.size).toBe(0);

    standIn.resolves = () => true;
    expect((await edge.provision('shop.example.com')).kind).toBe('pending'); // certificate validating
    expect(await edge.provision('shop.example.com')).toEqual({ kind: 'active' }); // issued, deployed
    expect(standIn.tenants.size).toBe(1);
  });

  it('reports a passing fault as transient and a refusal as failed, naming CloudFront’s reason', async () => {
    standIn.failNext = 1;
    expect(await edge.provision('shop.example.com')).toEqual({
      kind: 'transient',
      code: 'edge-unavailable',
      reason: expect.stringContaining('ServiceUnavailable'),
    });
    standIn.failWith = {
      status: 403,
      code: 'AccessDenied',
      message: 'not authorized to perform cloudfront:CreateDistributionTenant',
    };
    expect(await edge.provision('shop.example.com')).toEqual({
      kind: 'failed',
      code: 'edge-denied',
      reason: expect.stringContaining('not authorized'),
    });
    standIn.failWith = { status: 400, code: 'Throttling', message: 'Rate exceeded' };
    expect((await edge.provision('shop.example.com')).kind).toBe('transient');
  });

  it('refuses a host another distribution tenant already serves', async () => {
    standIn.add({
      name: 'someone-else',
      distributionId: 'E3OTHER',
      connectionGroupId: CONNECTION_GROUP,
      domains: ['taken.example.com'],
      enabled: true,
    });
    expect(await edge.provision('taken.example.com')).toEqual({
      kind: 'failed',
      code: 'host-taken',
      reason: expect.stringContaining('Another CloudFront distribution'),
    });
    expect(standIn.tenants.size).toBe(1);
  });

  it('reuses its own tenant on a repeated provision, re-enabling a half-detached one', async () => {
    const half = standIn.add({
      name: name('acme.platform.example'),
      distributionId: DISTRIBUTION,
      connectionGroupId: CONNECTION_GROUP,
      domains: ['acme.platform.example'],
      enabled: false,
    });
    const etag = half.etag;
    expect(await edge.provision('acme.platform.example')).toEqual({ kind: 'active' });
    const update = standIn.sent.find((request) => request.method === 'PUT');
    expect(update?.path).toBe(`/2020-05-31/distribution-tenant/${half.id}`);
    expect(update?.headers['if-match']).toBe(etag);
    expect(tag(update?.body ?? '', 'Enabled')).toEqual(['true']);
    expect(standIn.sent.some((request) => request.method === 'POST')).toBe(false);
  });

  it('names tenants per distribution, so two stages in one account never collide', () => {
    expect(distributionTenantName('E2STAGING', 'a.example.com')).not.toBe(
      distributionTenantName('E2PRODUCTION', 'a.example.com'),
    );
    expect(distributionTenantName(DISTRIBUTION, 'a-b.example.com')).not.toBe(
      distributionTenantName(DISTRIBUTION, 'a.b-example.com'),
    );
    expect(
      distributionTenantName(DISTRIBUTION, `${'x'.repeat(63)}.${'y'.repeat(63)}.example.com`).length,
    ).toBeLessThanOrEqual(128);
  });

  it('answers the DNS records a host needs: the CNAME, and a CAA record only where a managed certificate is requested', () => {
    expect(edge.records('shop.example.com')).toEqual([
      expect.objectContaining({ type: 'CNAME', name: 'shop.example.com', value: ENDPOINT, required: true }),
      expect.objectContaining({
        type: 'CAA',
        name: 'shop.example.com',
        value: '0 issue "amazon.com"',
        required: false,
      }),
    ]);
    expect(edge.records('acme.platform.example')).toEqual([
      expect.objectContaining({ type: 'CNAME', value: ENDPOINT }),
    ]);
  });
});

describe('CloudFrontHostEdge.detach', () => {
  it('disables with the current ETag, then deletes with the new one', async () => {
    await edge.provision('acme.platform.example');
    const [created] = standIn.tenants.values();
    const firstEtag = created?.etag;
    standIn.sent = [];
    await edge.detach('acme.platform.example');
    expect(standIn.sent.map((request) => `${request.method} ${request.path}`)).toEqual([
      `GET /2020-05-31/distribution-tenant/${name('acme.platform.example')}`,
      `PUT /2020-05-31/distribution-tenant/${created?.id}`,
      `DELETE /2020-05-31/distribution-tenant/${created?.id}`,
    ]);
    expect(standIn.sent[1]?.headers['if-match']).toBe(firstEtag);
    expect(tag(standIn.sent[1]?.body ?? '', 'Enabled')).toEqual(['false']);
    expect(standIn.sent[2]?.headers['if-match']).not.toBe(firstEtag);
    expect(standIn.tenants.size).toBe(0);
  });

  it('treats an unknown or foreign host as nothing to do, and finishes a detach that stopped after disabling', async () => {
    await edge.detach('nobody.example.com');
    standIn.add({
      name: name('foreign.example.com'),
      distributionId: 'E3OTHER',
      connectionGroupId: CONNECTION_GROUP,
      domains: ['foreign.example.com'],
      enabled: true,
    });
    await edge.detach('foreign.example.com');
    expect(standIn.tenants.size).toBe(1);
    standIn.add({
      name: name('half.example.com'),
      distributionId: DISTRIBUTION,
      connectionGroupId: CONNECTION_GROUP,
      domains: ['half.example.com'],
      enabled: false,
    });
    await edge.detach('half.example.com');
    expect([...standIn.tenants.values()].map((tenant) => tenant.domains[0])).toEqual(['foreign.example.com']);
  });

  it('reports a CloudFront failure as a HostEdgeError that names the host', async () => {
    standIn.failWith = { status: 403, code: 'AccessDenied' };
    const error = await edge.detach('shop.example.com').catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(HostEdgeError);
    expect((error as HostEdgeError).extra).toEqual({ host: 'shop.example.com' });
  });
});

describe('certificates and configuration', () => {
  it('covers exactly one label with a wildcard name', () => {
    expect(certificateCovers(['*.example.com'], 'a.example.com')).toBe(true);
    expect(certificateCovers(['*.example.com'], 'example.com')).toBe(false);
    expect(certificateCovers(['*.example.com'], 'a.b.example.com')).toBe(false);
    expect(certificateCovers(['*.example.com'], 'aexample.com')).toBe(false);
    expect(certificateCovers(['example.com'], 'example.com')).toBe(true);
  });

  it('uses the binding alone where no distribution is configured, and needs the rest with one', () => {
    expect(hostEdgeFromEnv({})).toBeInstanceOf(BindingOnlyHostEdge);
    expect(() => hostEdgeFromEnv({ [ENV.distributionId]: DISTRIBUTION })).toThrow(MissingConfigurationError);
    const configured = hostEdgeFromEnv({
      [ENV.distributionId]: DISTRIBUTION,
      [ENV.connectionGroupId]: CONNECTION_GROUP,
      [ENV.routingEndpoint]: ENDPOINT,
      [ENV.certificateArn]: CERTIFICATE,
      [ENV.certificateHosts]: 'admin.platform.example, *.platform.example',
    });
    expect(configured).toBeInstanceOf(CloudFrontHostEdge);
    expect(configured.target).toBe(ENDPOINT);
    expect(configured.certificate('admin.platform.example')).toBe('configured');
    expect(configured.certificate('shop.example.com')).toBe('managed');
  });

  it('locally, serves any host and asks for DNS only for names outside *.localhost', async () => {
    const local = new BindingOnlyHostEdge();
    expect(await local.provision()).toEqual({ kind: 'active' });
    expect(local.records('acme.localhost')).toEqual([]);
    expect(local.records('shop.example.test')).toEqual([
      expect.objectContaining({ type: 'A', name: 'shop.example.test', value: '127.0.0.1' }),
    ]);
  });
});
