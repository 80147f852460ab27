/**
 * cdk-nag (AWS Solutions) over the stack as `bin/cdk.ts` builds it. Synthesis itself fails on any
 * unacknowledged error; these tests also fail on any unacknowledged warning, on any other validation
 * plugin's finding, and on any acknowledgement that is not in the reviewed list below.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { type App, App as CdkApp, Stack, Validations } from 'aws-cdk-lib';
import { Bucket } from 'aws-cdk-lib/aws-s3';
import { AwsSolutionsChecks } from 'cdk-nag';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { STACK_ID } from '../../lib/aws/stack.ts';
import { type FunctionName, functions, routes, sites } from '../../lib/topology.ts';
import { scratchDir, type TempDir, tempDir } from '../support/scratch.ts';
import { logicalId, type Synthesized, synthesize } from './support.ts';

/** Unacknowledged findings, as `<rule> at <construct path>` lines (empty when clean). */
function findings(app: App): string[] {
  const report = new AwsSolutionsChecks(app).validateScope(app);
  return report.violations.flatMap((violation) =>
    violation.violatingResources.map(
      (resource) => `${violation.severity} ${violation.ruleName} at ${resource.constructPath}`,
    ),
  );
}

/** Every AwsSolutions acknowledgement in the app: `<path relative to the stack>: <rule>` → reason. */
function acknowledgements(app: App): Map<string, string> {
  const out = new Map<string, string>();
  for (const construct of app.node.findAll()) {
    for (const entry of construct.node.metadata) {
      if (entry.type !== Validations.ACKNOWLEDGED_RULES_METADATA_KEY) continue;
      for (const [id, reason] of Object.entries(entry.data as Record<string, string>)) {
        const rule = id.replace(/^annotation::/i, '');
        if (!rule.startsWith('AwsSolutions-')) continue; // aws-cdk-lib's own acknowledgements
        const path = construct.node.path.split('/').slice(1).join('/');
        out.set(`${path}: ${rule}`, reason);
      }
    }
  }
  return out;
}

const SECRET_PREFIX_FINDING =
  'AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:secretsmanager:<AWS::Region>:<AWS::AccountId>:secret:execfabric/ExecFabric/http-credentials/*]';
const DISTRIBUTION_TENANTS_FINDING =
  'AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:cloudfront::<AWS::AccountId>:distribution-tenant/*]';

/** The reviewed list. A new acknowledgement must be added here, with its reason in the code. */
function expectedAcknowledgements(options: { certificate: boolean; siteBucketId?: string }): string[] {
  const routePath = (path: string) => `ANY${path.replace(/\//g, '--')}`;
  return [
    'Secrets/OriginSecret: AwsSolutions-SMG4',
    'Secrets/TokenSecret: AwsSolutions-SMG4',
    'Secrets/JobsKey: AwsSolutions-SMG4',
    'Secrets/ReportsKey: AwsSolutions-SMG4',
    ...(Object.keys(functions) as FunctionName[]).map((name) => `Functions/${name}: AwsSolutions-L1`),
    `Functions/governance-api-role/DefaultPolicy: ${SECRET_PREFIX_FINDING}`,
    `Functions/governance-api-role/DefaultPolicy: ${DISTRIBUTION_TENANTS_FINDING}`,
    `Functions/lifecycle-scan-role/DefaultPolicy: ${DISTRIBUTION_TENANTS_FINDING}`,
    `Functions/http-executor-role/DefaultPolicy: ${SECRET_PREFIX_FINDING}`,
    // Tenant schedules are made at run time in the stage's group; Scheduler's own DLQ is a DLQ nag cannot see.
    `Functions/tenant-api-role/DefaultPolicy: AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:scheduler:<AWS::Region>:<AWS::AccountId>:schedule/${STACK_ID}-tenant-schedules/*]`,
    'TenantSchedules/DeadLetters: AwsSolutions-SQS3',
    ...routes.map((route) => `Api/HttpApi/${routePath(route.path)}: AwsSolutions-APIG4`),
    'Edge/LogBucket: AwsSolutions-S1',
    'Edge/Distribution: AwsSolutions-CFR1',
    ...(options.certificate ? [] : ['Edge/Distribution: AwsSolutions-CFR4']),
    ...(options.siteBucketId === undefined ? [] : siteDeploymentAcknowledgements(options.siteBucketId)),
  ].sort();
}

/** What aws-cdk-lib's BucketDeployment needs, acknowledged only once a site is actually deployed. */
function siteDeploymentAcknowledgements(siteBucketId: string): string[] {
  return [
    ...[
      'Action::s3:GetObject*',
      'Action::s3:GetBucket*',
      'Action::s3:List*',
      'Action::s3:DeleteObject*',
      'Action::s3:Abort*',
      'Resource::arn:<AWS::Partition>:s3:::cdk-hnb659fds-assets-<AWS::AccountId>-<AWS::Region>/*',
      `Resource::<${siteBucketId}.Arn>/*`,
    ].map((finding) => `Edge/SiteDeploymentRole: AwsSolutions-IAM5[${finding}]`),
    'Custom::CDKBucketDeployment8693BB64968944B69AAFB0CC9EB8756C: AwsSolutions-L1',
  ];
}

describe('cdk-nag on the configured stack', () => {
  let synth: Synthesized;
  beforeAll(() => {
    synth = synthesize();
  });

  it('leaves no unacknowledged error or warning', () => {
    expect(findings(synth.app)).toEqual([]);
  });

  it('acknowledges only the reviewed findings, each on its own construct with a specific reason', () => {
    const acks = acknowledgements(synth.app);
    const siteBucketId = logicalId(synth.stack, synth.stack.edge.siteBucket);
    expect([...acks.keys()].sort()).toEqual(expectedAcknowledgements({ certificate: false, siteBucketId }));
    for (const [id, reason] of acks) expect(reason.length, id).toBeGreaterThan(60);
    // Nothing is acknowledged stack- or app-wide.
    for (const scope of [synth.app, synth.stack]) {
      expect(
        scope.node.metadata.filter((m) => m.type === Validations.ACKNOWLEDGED_RULES_METADATA_KEY),
      ).toEqual([]);
    }
  });

  it('uses a check that does report what is not acknowledged', () => {
    const probe = new CdkApp({ outdir: scratchDir('execfabric-cdk-') });
    new Bucket(new Stack(probe, 'Probe'), 'Unlogged');
    expect(findings(probe)).toContain('error AwsSolutions-S1 at Probe/Unlogged/Resource');
  });
});

describe('cdk-nag with a viewer certificate and built sites', () => {
  let synth: Synthesized;
  let dist: TempDir | undefined;
  afterAll(() => dist?.remove());
  beforeAll(() => {
    dist = tempDir('execfabric-site-');
    const built = dist.path;
    for (const site of Object.keys(sites)) {
      mkdirSync(join(built, site));
      writeFileSync(join(built, site, 'index.html'), `<!doctype html><title>${site}</title>`);
    }
    synth = synthesize({
      certificateArn: 'arn:aws:acm:us-east-1:111122223333:certificate/00000000-0000-0000-0000-000000000000',
      siteDirs: Object.fromEntries(Object.keys(sites).map((site) => [site, join(built, site)])),
    });
  });

  it('deploys the given site folders, and stays clean', () => {
    synth.template.resourceCountIs('Custom::CDKBucketDeployment', Object.keys(sites).length);
    synth.template.hasResourceProperties('Custom::CDKBucketDeployment', {
      DestinationBucketKeyPrefix: 'governance/',
    });
    expect(findings(synth.app)).toEqual([]);
  });

  it('serves TLS 1.2+ over SNI and needs no CFR4 acknowledgement', () => {
    synth.template.hasResourceProperties('AWS::CloudFront::Distribution', {
      DistributionConfig: {
        ViewerCertificate: { SslSupportMethod: 'sni-only', MinimumProtocolVersion: 'TLSv1.2_2021' },
      },
    });
    const siteBucketId = logicalId(synth.stack, synth.stack.edge.siteBucket);
    expect([...acknowledgements(synth.app).keys()].sort()).toEqual(
      expectedAcknowledgements({ certificate: true, siteBucketId }),
    );
  });
});
