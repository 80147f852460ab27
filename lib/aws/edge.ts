/**
 * The edge: one CloudFront multi-tenant distribution (L1, `connectionMode: tenant-only`), its
 * connection group, the viewer-request CloudFront Function (the exact source `lib/edge/viewer-request.ts` generates, which the local router also
 * runs), the private static-site bucket behind origin access control, and the access-log bucket.
 *
 * Routing by host happens in the function: it strips client `x-execfabric-*` headers, sets
 * `x-execfabric-host`, and prefixes the URI with the surface (`/governance`, `/free`, `/tenant`),
 * which selects both the API route and the site folder in the bucket; a docs host's pages are under
 * `/docs`, the documentation site's folder in the same bucket. The API origin receives the
 * origin secret in `x-execfabric-origin` as a Secrets Manager dynamic reference, never a literal,
 * and the viewer scheme in `x-execfabric-scheme`. Every viewer path the topology gives an API
 * (`/api/*`, `/mcp`, the OAuth protected-resource metadata) has its own uncached behaviour.
 *
 * The stack creates no distribution tenant for a named host. A tenant with a CloudFront-managed
 * certificate is refused until its domain resolves to the connection group this very stack creates, so
 * every host — the platform's own and each customer's — is onboarded at run time by the governance
 * core, once its DNS points here (`functions/core/governance/onboarding.ts`). A first deploy therefore
 * depends on no DNS.
 *
 * The one exception is the personal spaces' wildcard (`docs/decisions/free-wildcard-hosts.md`): for
 * each free host whose `*.<free host>` an operator-supplied ACM certificate covers, the stack creates
 * one distribution tenant with the domain `*.<free host>`, that certificate, this distribution and
 * connection group. The certificate proves the domain, so no DNS is needed first, and a sign-up costs
 * no CloudFront call: every `<handle>.<free host>` reaches the same origins and viewer-request function,
 * and the Host still binds the tenant. (A managed certificate cannot do this: CloudFront requests
 * those with HTTP validation, which ACM refuses for wildcard names.)
 */
import { createHash } from 'node:crypto';
import { existsSync, readdirSync } from 'node:fs';
import { join, relative, sep } from 'node:path';
import {
  Arn,
  ArnFormat,
  Aws,
  DefaultStackSynthesizer,
  Duration,
  RemovalPolicy,
  Stack,
  Validations,
} from 'aws-cdk-lib';
import type { HttpApi } from 'aws-cdk-lib/aws-apigatewayv2';
import {
  CachePolicy,
  CfnConnectionGroup,
  CfnDistribution,
  CfnDistributionTenant,
  CfnOriginAccessControl,
  Function as EdgeFunction,
  FunctionCode,
  FunctionRuntime,
  OriginRequestPolicy,
  ResponseHeadersPolicy,
} from 'aws-cdk-lib/aws-cloudfront';
import { Effect, PolicyStatement, Role, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import { LogGroup, RetentionDays } from 'aws-cdk-lib/aws-logs';
import {
  BlockPublicAccess,
  Bucket,
  BucketEncryption,
  type CfnBucket,
  ObjectOwnership,
} from 'aws-cdk-lib/aws-s3';
import { BucketDeployment, CacheControl, Source } from 'aws-cdk-lib/aws-s3-deployment';
import type { ISecret } from 'aws-cdk-lib/aws-secretsmanager';
import { Construct } from 'constructs';
import { ORIGIN_HEADER, SCHEME_HEADER } from '../../functions/core/headers.ts';
import { viewerRequestSource, viewerResponseSource } from '../edge/viewer-request.ts';
import { apiPaths, edgePathPattern, type SiteName, sites } from '../topology.ts';
import { AwsWiringError, MissingSourceError } from './errors.ts';
import { HostRateLimit } from './host-rate-limit.ts';

export interface EdgeProps {
  /** The HTTP API that `/api/*` is forwarded to. */
  readonly api: HttpApi;
  /** The secret whose value CloudFront sends in `x-execfabric-origin` and the APIs compare. */
  readonly originSecret: ISecret;
  /**
   * Hosts of the governance console.
   * @default []
   */
  readonly adminHosts?: readonly string[];
  /**
   * Hosts of the free personal-edition entry.
   * @default []
   */
  readonly freeHosts?: readonly string[];
  /**
   * Hosts of the documentation site.
   * @default []
   */
  readonly docsHosts?: readonly string[];
  /**
   * ACM certificate (us-east-1) covering every configured host, served with TLS 1.2+ over SNI.
   * @default - the distribution keeps the CloudFront default certificate (never served: a tenant-only
   * distribution has no endpoint of its own) and each distribution tenant requests a
   * CloudFront-managed certificate for its host
   */
  readonly certificateArn?: string;
  /**
   * A WAFv2 web ACL (CLOUDFRONT scope) for the distribution, instead of the one made with the
   * per-host API rate limit when the stack deploys in us-east-1 (lib/aws/host-rate-limit.ts).
   * @default - made in us-east-1, none elsewhere
   */
  readonly webAclArn?: string;
  /** Retention of the web ACL's blocked-request log. @default one year */
  readonly logRetention?: RetentionDays;
  /**
   * The personal spaces' wildcard domains: for each, one distribution tenant serving `*.<freeHost>`
   * with the given certificate (us-east-1, covering `*.<freeHost>`). Each free host appears at most once.
   * @default []
   */
  readonly personalHosts?: readonly PersonalHostsDomain[];
  /**
   * Built site folders to upload, by site. A named folder without an `index.html` stops the synth:
   * a deployment whose pages would answer 403 is refused rather than made.
   * @default - none
   */
  readonly siteDirs?: Readonly<Partial<Record<SiteName, string>>>;
}

/** One free host's wildcard for personal spaces and the certificate that covers it. */
export interface PersonalHostsDomain {
  /** The free host, e.g. `free.example.com`; the domain served is `*.free.example.com`. */
  readonly freeHost: string;
  /** ACM certificate (us-east-1) whose names include `*.<freeHost>`. */
  readonly certificateArn: string;
}

/** `*.<free host>`: every personal space's host under it, one label deep. */
export function personalHostsDomain(freeHost: string): string {
  return `*.${freeHost}`;
}

/**
 * The name of a free host's wildcard distribution tenant: unique per stack and free host, within
 * CloudFront's pattern (`[a-zA-Z0-9][a-zA-Z0-9-.]{1,126}[a-zA-Z0-9]`), and never one the run-time
 * onboarding derives (those start `ef-`, `distributionTenantName`), so it never adopts or detaches it.
 */
export function personalHostsTenantName(stackName: string, freeHost: string): string {
  const digest = createHash('sha256').update(freeHost, 'utf8').digest('hex').slice(0, 8);
  const readable = freeHost.slice(0, 60).replace(/[^a-z0-9]+$/, '');
  return `${stackName}-personal-${digest}-${readable}`;
}

/** Prefixes in the log bucket. */
const LOG_PREFIX = { cloudFront: 'cloudfront/', siteAccess: 'site-bucket-access/' } as const;

const SITE_ORIGIN_ID = 'sites';
const API_ORIGIN_ID = 'api';
/** CloudFront Functions' largest code. */
const CLOUDFRONT_FUNCTION_MAX_BYTES = 10 * 1024;

/** The HTML pages of a built site, as `/`-rooted paths (its assets are not pages). */
export function builtPages(dir: string): string[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((entry) => entry.isFile() && entry.name.endsWith('.html'))
    .map((entry) => `/${relative(dir, join(entry.parentPath, entry.name)).split(sep).join('/')}`)
    .sort();
}

export class Edge extends Construct {
  readonly distribution: CfnDistribution;
  readonly connectionGroup: CfnConnectionGroup;
  readonly viewerRequest: EdgeFunction;
  /** Gives the docs site's 404 page its status (see viewerResponseSource). */
  readonly viewerResponse: EdgeFunction;
  readonly siteBucket: Bucket;
  readonly logBucket: Bucket;
  /** `arn:…:cloudfront::<account>:distribution/<id>`. */
  readonly distributionArn: string;
  /** The pattern every distribution tenant ARN of this account matches. */
  readonly distributionTenantsArn: string;
  /** The wildcard distribution tenant of each free host that has one, by free host. */
  readonly personalHostTenants: ReadonlyMap<string, CfnDistributionTenant>;
  /** The web ACL with the per-host API rate limit. */
  readonly rateLimit: HostRateLimit;

  constructor(scope: Construct, id: string, props: EdgeProps) {
    super(scope, id);
    const stack = Stack.of(this);
    const adminHosts = props.adminHosts ?? [];
    const freeHosts = props.freeHosts ?? [];
    const docsHosts = props.docsHosts ?? [];

    this.logBucket = new Bucket(this, 'LogBucket', {
      // CloudFront standard logging writes with ACLs, so the log bucket keeps object-writer ownership.
      objectOwnership: ObjectOwnership.OBJECT_WRITER,
      blockPublicAccess: BlockPublicAccess.BLOCK_ALL,
      encryption: BucketEncryption.S3_MANAGED,
      enforceSSL: true,
      lifecycleRules: [{ expiration: Duration.days(365) }],
      removalPolicy: RemovalPolicy.RETAIN,
    });
    Validations.of(this.logBucket).acknowledge({
      id: 'AwsSolutions-S1',
      reason:
        'This bucket is the access-log destination for the distribution and the site bucket; logging it into itself would loop.',
    });

    this.siteBucket = new Bucket(this, 'SiteBucket', {
      objectOwnership: ObjectOwnership.BUCKET_OWNER_ENFORCED,
      blockPublicAccess: BlockPublicAccess.BLOCK_ALL,
      encryption: BucketEncryption.S3_MANAGED,
      enforceSSL: true,
      versioned: true,
      lifecycleRules: [{ noncurrentVersionExpiration: Duration.days(30) }],
      serverAccessLogsBucket: this.logBucket,
      serverAccessLogsPrefix: LOG_PREFIX.siteAccess,
      removalPolicy: RemovalPolicy.RETAIN,
    });

    const docsDir = props.siteDirs?.docs;
    const viewerRequestCode = viewerRequestSource(
      { adminHosts, freeHosts, docsHosts },
      docsDir === undefined || !existsSync(docsDir) ? {} : { docsPages: builtPages(docsDir) },
    );
    if (Buffer.byteLength(viewerRequestCode, 'utf8') > CLOUDFRONT_FUNCTION_MAX_BYTES) {
      throw new AwsWiringError(
        `The viewer-request function is ${Buffer.byteLength(viewerRequestCode, 'utf8')} bytes; CloudFront Functions take at most ${CLOUDFRONT_FUNCTION_MAX_BYTES} (too many hosts or docs pages)`,
      );
    }
    this.viewerRequest = new EdgeFunction(this, 'ViewerRequest', {
      code: FunctionCode.fromInline(viewerRequestCode),
      runtime: FunctionRuntime.JS_2_0,
      comment: 'ExecFabric: strip client x-execfabric-* headers, bind the host, route by surface',
    });
    this.viewerResponse = new EdgeFunction(this, 'ViewerResponse', {
      code: FunctionCode.fromInline(viewerResponseSource()),
      runtime: FunctionRuntime.JS_2_0,
      comment: 'ExecFabric: the docs site answers a missing page with its 404 page and status 404',
    });

    const originAccessControl = new CfnOriginAccessControl(this, 'SiteOriginAccessControl', {
      originAccessControlConfig: {
        name: `${stack.stackName}-sites`.slice(0, 64),
        description: 'ExecFabric static sites',
        originAccessControlOriginType: 's3',
        signingBehavior: 'always',
        signingProtocol: 'sigv4',
      },
    });

    this.connectionGroup = new CfnConnectionGroup(this, 'ConnectionGroup', {
      name: `${stack.stackName}-hosts`.slice(0, 64),
      enabled: true,
      ipv6Enabled: true,
    });

    const edgeFunctions = [
      { eventType: 'viewer-request', functionArn: this.viewerRequest.functionArn },
    ] satisfies CfnDistribution.FunctionAssociationProperty[];

    this.rateLimit = new HostRateLimit(this, 'RateLimit', {
      ...(props.webAclArn === undefined ? {} : { webAclArn: props.webAclArn }),
      ...(props.logRetention === undefined ? {} : { logRetention: props.logRetention }),
    });

    this.distribution = new CfnDistribution(this, 'Distribution', {
      distributionConfig: {
        connectionMode: 'tenant-only',
        // Distribution tenants inherit it: each host's API requests are counted under its own Host.
        webAclId: this.rateLimit.webAclId,
        enabled: true,
        comment: `${stack.stackName}: governance console, tenant front, free entry and their APIs`.slice(
          0,
          128,
        ),
        httpVersion: 'http2and3',
        origins: [
          {
            id: SITE_ORIGIN_ID,
            domainName: this.siteBucket.bucketRegionalDomainName,
            originAccessControlId: originAccessControl.attrId,
            s3OriginConfig: { originAccessIdentity: '' },
          },
          {
            id: API_ORIGIN_ID,
            domainName: `${props.api.apiId}.execute-api.${Aws.REGION}.${Aws.URL_SUFFIX}`,
            customOriginConfig: {
              originProtocolPolicy: 'https-only',
              originSslProtocols: ['TLSv1.2'],
              httpsPort: 443,
            },
            // A dynamic reference: CloudFormation resolves it at deploy time; the template holds none of it.
            originCustomHeaders: [
              { headerName: ORIGIN_HEADER, headerValue: props.originSecret.secretValue.unsafeUnwrap() },
              // The API behaviours are https-only, so that is the scheme every viewer used.
              { headerName: SCHEME_HEADER, headerValue: 'https' },
            ],
          },
        ],
        defaultCacheBehavior: {
          targetOriginId: SITE_ORIGIN_ID,
          viewerProtocolPolicy: 'redirect-to-https',
          allowedMethods: ['GET', 'HEAD', 'OPTIONS'],
          cachedMethods: ['GET', 'HEAD'],
          compress: true,
          cachePolicyId: CachePolicy.CACHING_OPTIMIZED.cachePolicyId,
          responseHeadersPolicyId: ResponseHeadersPolicy.SECURITY_HEADERS.responseHeadersPolicyId,
          // Only the sites' behaviour: custom error responses would apply to the API's 403s and
          // 404s too (they are distribution-wide), replacing its problem+json with a page.
          functionAssociations: [
            ...edgeFunctions,
            { eventType: 'viewer-response', functionArn: this.viewerResponse.functionArn },
          ],
        },
        cacheBehaviors: apiPaths.map((spec) => ({
          pathPattern: edgePathPattern(spec),
          targetOriginId: API_ORIGIN_ID,
          viewerProtocolPolicy: 'https-only',
          allowedMethods: ['GET', 'HEAD', 'OPTIONS', 'PUT', 'PATCH', 'POST', 'DELETE'],
          cachedMethods: ['GET', 'HEAD'],
          compress: true,
          cachePolicyId: CachePolicy.CACHING_DISABLED.cachePolicyId,
          originRequestPolicyId: OriginRequestPolicy.ALL_VIEWER_EXCEPT_HOST_HEADER.originRequestPolicyId,
          functionAssociations: edgeFunctions,
        })),
        logging: {
          bucket: this.logBucket.bucketRegionalDomainName,
          prefix: LOG_PREFIX.cloudFront,
          includeCookies: false,
        },
        viewerCertificate:
          props.certificateArn === undefined
            ? { cloudFrontDefaultCertificate: true }
            : {
                acmCertificateArn: props.certificateArn,
                sslSupportMethod: 'sni-only',
                minimumProtocolVersion: 'TLSv1.2_2021',
              },
      },
    });
    Validations.of(this.distribution).acknowledge({
      id: 'AwsSolutions-CFR1',
      reason:
        'A global SaaS serves customers wherever they are; a customer that needs geo restriction gets it on its own distribution tenant (customizations.geoRestrictions).',
    });
    if (props.certificateArn === undefined) {
      Validations.of(this.distribution).acknowledge({
        id: 'AwsSolutions-CFR4',
        reason:
          'A tenant-only distribution has no endpoint of its own, so its default certificate is never served; viewers reach it only through distribution tenants, each with its own CloudFront-managed certificate. Set context execfabric:certificateArn to pin a TLSv1.2_2021 certificate here.',
      });
    }

    const personalHostTenants = new Map<string, CfnDistributionTenant>();
    for (const { freeHost, certificateArn } of props.personalHosts ?? []) {
      if (personalHostTenants.has(freeHost)) throw new AwsWiringError(`Free host ${freeHost} is given twice`);
      personalHostTenants.set(
        freeHost,
        new CfnDistributionTenant(this, `PersonalHosts-${freeHost}`, {
          name: personalHostsTenantName(stack.stackName, freeHost),
          distributionId: this.distribution.ref,
          connectionGroupId: this.connectionGroup.attrId,
          domains: [personalHostsDomain(freeHost)],
          enabled: true,
          // The certificate proves the wildcard to CloudFront (no DNS needed first) and serves it.
          customizations: { certificate: { arn: certificateArn } },
        }),
      );
    }
    this.personalHostTenants = personalHostTenants;

    this.distributionArn = stack.formatArn({
      service: 'cloudfront',
      region: '',
      resource: 'distribution',
      resourceName: this.distribution.ref,
      arnFormat: ArnFormat.SLASH_RESOURCE_NAME,
    });
    this.distributionTenantsArn = stack.formatArn({
      service: 'cloudfront',
      region: '',
      resource: 'distribution-tenant',
      resourceName: '*',
      arnFormat: ArnFormat.SLASH_RESOURCE_NAME,
    });

    this.siteBucket.addToResourcePolicy(
      new PolicyStatement({
        sid: 'AllowThisDistributionOnly',
        effect: Effect.ALLOW,
        principals: [new ServicePrincipal('cloudfront.amazonaws.com')],
        actions: ['s3:GetObject'],
        resources: [this.siteBucket.arnForObjects('*')],
        conditions: { StringEquals: { 'AWS:SourceArn': this.distributionArn } },
      }),
    );

    const built = Object.values(sites).flatMap((site) => {
      const dir = props.siteDirs?.[site.name];
      if (dir === undefined) return [];
      if (!existsSync(join(dir, 'index.html'))) {
        throw new MissingSourceError(
          `Built site "${site.name}" (run \`npm run build:sites\`; \`npx cdk synth\` runs it for you)`,
          join(dir, 'index.html'),
        );
      }
      return [{ site: site.name, dir }];
    });
    if (built.length > 0) this.deploySites(built);
  }

  /** Account-level ARN of the connection group, for a read-only grant. */
  get connectionGroupArn(): string {
    return Arn.format(
      {
        service: 'cloudfront',
        region: '',
        resource: 'connection-group',
        resourceName: this.connectionGroup.attrId,
        arnFormat: ArnFormat.SLASH_RESOURCE_NAME,
      },
      Stack.of(this),
    );
  }

  /**
   * Uploads each built site under its prefix. BucketDeployment brings a Lambda-backed custom
   * resource; it gets its own role (no managed policy) and log group, and what aws-cdk-lib grants it
   * is acknowledged here, on that role and that handler only.
   */
  private deploySites(built: readonly { site: SiteName; dir: string }[]): void {
    const stack = Stack.of(this);
    const role = new Role(this, 'SiteDeploymentRole', {
      assumedBy: new ServicePrincipal('lambda.amazonaws.com'),
      description: 'ExecFabric: upload built static sites into the site bucket',
    });
    const logGroup = new LogGroup(this, 'SiteDeploymentLogs', { retention: RetentionDays.ONE_MONTH });
    logGroup.grantWrite(role);
    for (const { site, dir } of built) {
      new BucketDeployment(this, `Site-${site}`, {
        sources: [Source.asset(dir)],
        destinationBucket: this.siteBucket,
        destinationKeyPrefix: `${site}/`,
        cacheControl: [CacheControl.fromString('public, max-age=60')],
        prune: true,
        role,
        logGroup,
      });
    }

    const qualifier =
      stack.synthesizer instanceof DefaultStackSynthesizer
        ? (stack.synthesizer.bootstrapQualifier ?? DefaultStackSynthesizer.DEFAULT_QUALIFIER)
        : DefaultStackSynthesizer.DEFAULT_QUALIFIER;
    const siteBucketId = stack.getLogicalId(this.siteBucket.node.defaultChild as CfnBucket);
    const grantReason =
      'Granted by aws-cdk-lib BucketDeployment to its upload handler: read the staged asset zip from the CDK assets bucket and sync it into the site bucket (prune deletes stale files).';
    for (const finding of [
      'Action::s3:GetObject*',
      'Action::s3:GetBucket*',
      'Action::s3:List*',
      'Action::s3:DeleteObject*',
      'Action::s3:Abort*',
      `Resource::arn:<AWS::Partition>:s3:::cdk-${qualifier}-assets-<AWS::AccountId>-<AWS::Region>/*`,
      `Resource::<${siteBucketId}.Arn>/*`,
    ]) {
      Validations.of(role).acknowledge({ id: `AwsSolutions-IAM5[${finding}]`, reason: grantReason });
    }
    // The handler is a stack-level singleton whose runtime aws-cdk-lib chooses.
    for (const child of stack.node.children) {
      if (!child.node.id.startsWith('Custom::CDKBucketDeployment')) continue;
      Validations.of(child).acknowledge({
        id: 'AwsSolutions-L1',
        reason:
          'The upload handler and its runtime belong to aws-cdk-lib BucketDeployment; it runs only during deployments.',
      });
    }
  }
}
