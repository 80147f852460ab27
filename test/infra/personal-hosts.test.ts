/**
 * The personal spaces' wildcard in AWS (`docs/decisions/free-wildcard-hosts.md`): with a certificate
 * covering `*.<free host>`, the stack serves every `<handle>.<free host>` through one distribution
 * tenant of the same distribution (same origins, same viewer-request function), creates the DNS
 * record where it knows the hosted zone and names it in an output where it does not; without a
 * certificate or without free hosts it creates none of it. And no handle can name a host the
 * wildcard would not cover.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { ValidationError } from '../../functions/core/errors.ts';
import { handleProblem, parseHandle, personalHost } from '../../functions/core/free/handles.ts';
import { certificateCovers, distributionTenantName } from '../../functions/core/governance/edge.ts';
import { HOST_HEADER } from '../../functions/core/headers.ts';
import { CONTEXT, stackPropsFromContext } from '../../lib/aws/context.ts';
import { personalHostsTenantName } from '../../lib/aws/edge.ts';
import { personalHostsPlan, REPOSITORY_ROOT, STACK_ID } from '../../lib/aws/stack.ts';
import { compileViewerRequest } from '../../lib/edge/viewer-request.ts';
import {
  functionRoleStatements,
  logicalId,
  resourcesOfType,
  type Synthesized,
  synthesize,
} from './support.ts';

const FREE_HOST = 'free.execfabric.example';
const WILDCARD = `*.${FREE_HOST}`;
const CERTIFICATE = 'arn:aws:acm:us-east-1:111122223333:certificate/11111111-2222-3333-4444-555555555555';
const VIEWER_CERTIFICATE =
  'arn:aws:acm:us-east-1:111122223333:certificate/00000000-0000-0000-0000-000000000000';
const ZONE = { id: 'Z0123456789ABCDEFGHIJ', name: 'execfabric.example' };

type Outputs = Record<string, { Description?: string; Value?: unknown }>;
const outputsOf = (synth: Synthesized): Outputs =>
  (synth.template.toJSON() as { Outputs?: Outputs }).Outputs ?? {};
const personalOutputs = (synth: Synthesized): string[] =>
  Object.keys(outputsOf(synth)).filter((id) => id.startsWith('PersonalHosts'));

describe('with a personal-hosts certificate and the hosted zone of the free host', () => {
  let synth: Synthesized;
  beforeAll(() => {
    synth = synthesize({ personalHostsCertificateArn: CERTIFICATE, hostedZone: ZONE });
    // Left beside the synth test's template for `npm run check:cfn-lint` (scripts/cfn-lint.mjs).
    const dir = join(REPOSITORY_ROOT, 'cdk.out', 'infra-test');
    mkdirSync(dir, { recursive: true });
    writeFileSync(
      join(dir, `${STACK_ID}-personal-hosts.template.json`),
      JSON.stringify(synth.template.toJSON(), null, 1),
    );
  });

  it('serves *.<free host> through one distribution tenant of the platform distribution, with that certificate', () => {
    const tenants = resourcesOfType(synth.resources, 'AWS::CloudFront::DistributionTenant');
    expect(tenants).toHaveLength(1);
    const properties = tenants[0]?.[1].Properties ?? {};
    const distribution = logicalId(synth.stack, synth.stack.edge.distribution);
    const group = logicalId(synth.stack, synth.stack.edge.connectionGroup);
    expect(properties).toEqual({
      Name: personalHostsTenantName(STACK_ID, FREE_HOST),
      DistributionId: { Ref: distribution },
      ConnectionGroupId: { 'Fn::GetAtt': [group, 'Id'] },
      Domains: [WILDCARD],
      Enabled: true,
      Customizations: { Certificate: { Arn: CERTIFICATE } },
    });
    // A managed certificate cannot be a wildcard (HTTP validation), so none is requested.
    expect(properties).not.toHaveProperty('ManagedCertificateRequest');
    // The distribution itself is unchanged: the same origins and viewer-request function serve it.
    synth.template.hasResourceProperties('AWS::CloudFront::Distribution', {
      DistributionConfig: { ViewerCertificate: { CloudFrontDefaultCertificate: true } },
    });
  });

  it('creates *.<free host> CNAME <routing endpoint> in the hosted zone, and needs no output for it', () => {
    const group = logicalId(synth.stack, synth.stack.edge.connectionGroup);
    const records = resourcesOfType(synth.resources, 'AWS::Route53::RecordSet');
    expect(records).toHaveLength(1);
    expect(records[0]?.[1].Properties).toMatchObject({
      HostedZoneId: ZONE.id,
      Name: `${WILDCARD}.`,
      Type: 'CNAME',
      TTL: '300',
      ResourceRecords: [{ 'Fn::GetAtt': [group, 'RoutingEndpoint'] }],
    });
    expect(personalOutputs(synth)).toEqual([]);
  });

  it('routes every name under the wildcard to the tenant surface with its own Host, the binding deciding', () => {
    const deployed = synth.resources[logicalId(synth.stack, synth.stack.edge.viewerRequest)]?.Properties
      ?.FunctionCode as string;
    const handler = compileViewerRequest(deployed);
    for (const host of [`alice.${FREE_HOST}`, `a.b.${FREE_HOST}`, `*.${FREE_HOST}`]) {
      const routed = handler({
        request: {
          uri: '/api/me',
          method: 'GET',
          headers: { host: { value: host }, [HOST_HEADER]: { value: `victim.${FREE_HOST}` } },
        },
      });
      expect(routed.uri, host).toBe('/tenant/api/me');
      // The viewer's own Host, never a client's copy: a name with no binding answers 404 there.
      expect(routed.headers[HOST_HEADER], host).toEqual({ value: host });
    }
    expect(
      handler({
        request: { uri: '/api/free/offers', method: 'GET', headers: { host: { value: FREE_HOST } } },
      }).uri,
    ).toBe('/free/api/free/offers');
  });

  it('denies the functions that onboard hosts any change to the wildcard tenant (attacker: a bug or a stolen role)', () => {
    const tenant = resourcesOfType(synth.resources, 'AWS::CloudFront::DistributionTenant')[0]?.[0];
    for (const name of ['governance-api', 'lifecycle-scan'] as const) {
      const deny = functionRoleStatements(synth, name).filter((statement) => statement.Effect === 'Deny');
      expect(deny, name).toEqual([
        {
          Sid: 'KeepPersonalHostsWildcard',
          Effect: 'Deny',
          Action: ['cloudfront:UpdateDistributionTenant', 'cloudfront:DeleteDistributionTenant'],
          Resource: [{ 'Fn::GetAtt': [tenant, 'Arn'] }],
        },
      ]);
    }
    // No other function may touch distribution tenants at all.
    for (const name of ['tenant-api', 'free-api'] as const) {
      expect(JSON.stringify(functionRoleStatements(synth, name)), name).not.toContain('DistributionTenant');
    }
  });

  it('gives the wildcard tenant a name the run-time onboarding never derives, nor adopts or detaches', () => {
    const name = personalHostsTenantName(STACK_ID, FREE_HOST);
    expect(name).toMatch(/^[a-zA-Z0-9][a-zA-Z0-9-.]{1,126}[a-zA-Z0-9]$/);
    expect(name.startsWith('ef-')).toBe(false);
    expect(distributionTenantName('E123', WILDCARD).startsWith('ef-')).toBe(true);
    expect(personalHostsTenantName('ExecFabric-staging', FREE_HOST)).not.toBe(name);
    const long = `${'a'.repeat(63)}.${'b'.repeat(63)}.${'c'.repeat(63)}.example`;
    expect(personalHostsTenantName(`${STACK_ID}-abcdefghijklmnopqrstuvwx`, long)).toMatch(
      /^[a-zA-Z0-9][a-zA-Z0-9-.]{1,126}[a-zA-Z0-9]$/,
    );
  });
});

describe('with a certificate but no hosted zone for the free host', () => {
  it('outputs the record the operator must create', () => {
    const synth = synthesize({
      personalHostsCertificateArn: CERTIFICATE,
      hostedZone: { id: ZONE.id, name: 'elsewhere.example' },
    });
    expect(resourcesOfType(synth.resources, 'AWS::CloudFront::DistributionTenant')).toHaveLength(1);
    expect(resourcesOfType(synth.resources, 'AWS::Route53::RecordSet')).toHaveLength(0);
    const outputs = outputsOf(synth);
    const ids = personalOutputs(synth);
    expect(ids).toHaveLength(1);
    const output = outputs[ids[0] ?? ''];
    const group = logicalId(synth.stack, synth.stack.edge.connectionGroup);
    expect(output?.Value).toEqual({
      'Fn::Join': [' ', [`${WILDCARD} CNAME`, { 'Fn::GetAtt': [group, 'RoutingEndpoint'] }]],
    });
    expect(output?.Description).toContain(FREE_HOST);
  });
});

describe('with the viewer certificate covering *.<free host>', () => {
  it('uses it for the wildcard; a *.example.com certificate does not cover *.free.example.com', () => {
    const synth = synthesize({
      certificateArn: VIEWER_CERTIFICATE,
      certificateHosts: ['admin.execfabric.example', WILDCARD],
    });
    synth.template.hasResourceProperties('AWS::CloudFront::DistributionTenant', {
      Domains: [WILDCARD],
      Customizations: { Certificate: { Arn: VIEWER_CERTIFICATE } },
    });
    expect(
      personalHostsPlan([FREE_HOST], {
        certificateArn: VIEWER_CERTIFICATE,
        certificateHosts: ['*.execfabric.example'],
      }),
    ).toEqual([]);
    expect(
      personalHostsPlan(['free.a.example', 'free.b.example'], { personalHostsCertificateArn: CERTIFICATE }),
    ).toEqual([
      { freeHost: 'free.a.example', certificateArn: CERTIFICATE },
      { freeHost: 'free.b.example', certificateArn: CERTIFICATE },
    ]);
  });
});

describe('without what the wildcard needs', () => {
  it('creates none of it for a stack without free hosts, even with a certificate and a zone', () => {
    const synth = synthesize({ freeHosts: [], personalHostsCertificateArn: CERTIFICATE, hostedZone: ZONE });
    synth.template.resourceCountIs('AWS::CloudFront::DistributionTenant', 0);
    synth.template.resourceCountIs('AWS::Route53::RecordSet', 0);
    expect(personalOutputs(synth)).toEqual([]);
  });

  it('serves no wildcard without a certificate, and says in an output which one it needs', () => {
    const synth = synthesize({ hostedZone: ZONE });
    synth.template.resourceCountIs('AWS::CloudFront::DistributionTenant', 0);
    synth.template.resourceCountIs('AWS::Route53::RecordSet', 0);
    const outputs = outputsOf(synth);
    const ids = personalOutputs(synth);
    expect(ids).toHaveLength(1);
    expect(outputs[ids[0] ?? '']?.Value).toBe(WILDCARD);
    expect(outputs[ids[0] ?? '']?.Description).toContain(CONTEXT.personalHostsCertificateArn);
  });
});

describe('context', () => {
  const read = (values: Record<string, unknown>) => (key: string) => values[key];

  it('reads the personal-hosts certificate and the hosted zone', () => {
    const props = stackPropsFromContext(
      read({
        [CONTEXT.personalHostsCertificateArn]: CERTIFICATE,
        [CONTEXT.hostedZoneId]: ZONE.id,
        [CONTEXT.hostedZoneName]: 'Execfabric.Example.',
      }),
    );
    expect(props.personalHostsCertificateArn).toBe(CERTIFICATE);
    expect(props.hostedZone).toEqual(ZONE);
  });

  it('refuses a certificate outside us-east-1, half a hosted zone and a malformed zone', () => {
    expect(() =>
      stackPropsFromContext(
        read({ [CONTEXT.personalHostsCertificateArn]: CERTIFICATE.replace('us-east-1', 'eu-west-1') }),
      ),
    ).toThrow(/personalHostsCertificateArn.*us-east-1/);
    expect(() => stackPropsFromContext(read({ [CONTEXT.hostedZoneId]: ZONE.id }))).toThrow(
      CONTEXT.hostedZoneName,
    );
    expect(() => stackPropsFromContext(read({ [CONTEXT.hostedZoneName]: ZONE.name }))).toThrow(
      CONTEXT.hostedZoneId,
    );
    expect(() =>
      stackPropsFromContext(read({ [CONTEXT.hostedZoneId]: 'zone-1', [CONTEXT.hostedZoneName]: ZONE.name })),
    ).toThrow(/hosted zone id/);
    expect(() =>
      stackPropsFromContext(
        read({ [CONTEXT.hostedZoneId]: ZONE.id, [CONTEXT.hostedZoneName]: 'not a name' }),
      ),
    ).toThrow(CONTEXT.hostedZoneName);
  });
});

describe('handles an attacker picks', () => {
  it('never name the wildcard itself, a deeper host or a host outside the free host', () => {
    for (const bad of [
      '*',
      '*.x',
      'a*b',
      'evil.com',
      `x.${FREE_HOST}`,
      'a.b',
      'abc/..',
      'abc%2e',
      'abc\ndef',
      'abc def',
    ]) {
      expect(handleProblem(bad.trim().toLowerCase()), bad).not.toBeNull();
      expect(() => parseHandle(bad), bad).toThrow(ValidationError);
    }
  });

  it('only ever make a host the wildcard certificate covers, one label under the free host (property)', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 40 }), (raw) => {
        let handle: string;
        try {
          handle = parseHandle(raw);
        } catch {
          return;
        }
        const host = personalHost(handle, FREE_HOST);
        expect(certificateCovers([WILDCARD], host)).toBe(true);
        expect(host.slice(0, -FREE_HOST.length - 1)).toBe(handle);
        expect(host).not.toContain('*');
      }),
      { numRuns: 2000 },
    );
  });
});
