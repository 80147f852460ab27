/**
 * The ExecFabric stack: `lib/topology.ts` wired onto AWS. It composes the data stores, queues,
 * functions, HTTP API, edge and schedules, then adds the wiring that spans them: the origin and
 * token secrets (as dynamic references) for the API functions, the super-admin list for the
 * governance surface, the distribution for host bindings, and every function's declared permissions.
 */
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ArnFormat, CfnOutput, Duration, Fn, Stack, type StackProps, Validations } from 'aws-cdk-lib';
import { RetentionDays } from 'aws-cdk-lib/aws-logs';
import { CnameRecord, HostedZone } from 'aws-cdk-lib/aws-route53';
import type { Construct } from 'constructs';
import { ENV } from '../../functions/core/env.ts';
import { type FunctionName, routes, type SiteName, sites } from '../topology.ts';
import { type ApiThrottle, PlatformApi } from './api.ts';
import type { HostedZoneContext } from './context.ts';
import { DataStores } from './data.ts';
import { Edge, type PersonalHostsDomain, personalHostsDomain } from './edge.ts';
import { AwsWiringError } from './errors.ts';
import { PlatformFunctions } from './functions.ts';
import { ExecutionQueues } from './queues.ts';
import { mapRecord } from './record.ts';
import { PlatformSchedules } from './schedules.ts';
import { PlatformSecrets } from './secrets.ts';
import { TenantDataAccess } from './tenant-data.ts';
import { TenantSchedules } from './tenant-schedules.ts';

/** The repository root, from this file's place in it (`lib/aws/stack.ts`). */
export const REPOSITORY_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

/** The stack's construct id and (by default) its CloudFormation name. */
export const STACK_ID = 'ExecFabric';

/** The stack of a stage (`execfabric:stage`): `ExecFabric-<stage>`, or `ExecFabric` for none. */
export function stackIdFor(stage: string | undefined): string {
  return stage === undefined ? STACK_ID : `${STACK_ID}-${stage}`;
}

/** Secrets Manager prefix of a stack's HTTP credentials: one per stack, so stages never share one. */
export function defaultCredentialPrefix(stackName: string): string {
  return `execfabric/${stackName}/http-credentials/`;
}

export const DEFAULT_API_THROTTLE: ApiThrottle = { rateLimit: 200, burstLimit: 400 };

export interface ExecFabricStackProps extends StackProps {
  /**
   * Hosts of the governance console (the public domain).
   * @default []
   */
  readonly adminHosts?: readonly string[];
  /**
   * Hosts of the free personal-edition entry.
   * @default []
   */
  readonly freeHosts?: readonly string[];
  /**
   * Hosts of the documentation site (the `docs` site, served from the same bucket and distribution).
   * @default []
   */
  readonly docsHosts?: readonly string[];
  /**
   * Usernames recognised as platform super-admins on the public domain, passed comma-separated in
   * `EXECFABRIC_SUPER_ADMINS`.
   * @default []
   */
  readonly superAdmins?: readonly string[];
  /**
   * ACM certificate (us-east-1) for the hosts in `certificateHosts`; the distribution serves it, and a
   * host it covers is provisioned with it rather than with a CloudFront-managed certificate.
   * @default - every host gets a CloudFront-managed certificate once its DNS points at the platform
   */
  readonly certificateArn?: string;
  /**
   * Host names the certificate covers (`*.example.com` covers one label).
   * @default - the admin and free hosts
   */
  readonly certificateHosts?: readonly string[];
  /**
   * ACM certificate (us-east-1, DNS-validated) covering `*.<free host>` for every free host: the personal
   * spaces' hosts (`<handle>.<free host>`) are served through one wildcard distribution tenant per free
   * host. A free host whose `*.<free host>` is in `certificateHosts` uses `certificateArn` instead.
   * @default - personal hosts are served only where `certificateHosts` covers `*.<free host>`
   */
  readonly personalHostsCertificateArn?: string;
  /**
   * Route 53 hosted zone in which the stack creates `*.<free host> CNAME <RoutingEndpoint>` for each
   * free host in it that has a wildcard; any other is an output, the record for the operator to create.
   * @default - no record is created
   */
  readonly hostedZone?: HostedZoneContext;
  /**
   * Reserved concurrency by function; each must cover the queue mappings feeding the function.
   * @default - none
   */
  readonly reservedConcurrency?: Readonly<Partial<Record<FunctionName, number>>>;
  /**
   * Repository root that function entries, the Python worker, layers and site folders resolve from.
   * @default - the repository this file is in
   */
  readonly projectRoot?: string;
  /**
   * Built static sites to upload, by site; a site whose folder has no `index.html` at synth time stops
   * the synth (`bin/cdk.ts` builds them first).
   * @default - `<projectRoot>/<topology.sites[site].dir>` for every site
   */
  readonly siteDirs?: Readonly<Partial<Record<SiteName, string>>>;
  /**
   * Secrets Manager name prefix of HTTP resource credentials; the only secrets functions may touch.
   * @default - `execfabric/<stack name>/http-credentials/`
   */
  readonly credentialPrefix?: string;
  /**
   * HTTP API stage throttling.
   * @default { rateLimit: 200, burstLimit: 400 }
   */
  readonly apiThrottle?: ApiThrottle;
  /**
   * A WAFv2 web ACL (CLOUDFRONT scope, us-east-1) to attach to the distribution.
   * @default - in us-east-1 the stack makes one with the per-host API rate limit
   * (lib/aws/host-rate-limit.ts); elsewhere the distribution has none
   */
  readonly webAclArn?: string;
  /**
   * Retention of function and API access logs.
   * @default RetentionDays.THREE_MONTHS
   */
  readonly logRetention?: RetentionDays;
}

export class ExecFabricStack extends Stack {
  readonly secrets: PlatformSecrets;
  readonly data: DataStores;
  readonly queues: ExecutionQueues;
  readonly functions: PlatformFunctions;
  readonly api: PlatformApi;
  readonly edge: Edge;
  readonly schedules: PlatformSchedules;
  readonly tenantData: TenantDataAccess;
  readonly tenantSchedules: TenantSchedules;

  constructor(scope: Construct, id: string, props: ExecFabricStackProps = {}) {
    super(scope, id, props);
    const projectRoot = props.projectRoot ?? REPOSITORY_ROOT;
    const credentialPrefix = props.credentialPrefix ?? defaultCredentialPrefix(this.stackName);
    const logRetention = props.logRetention ?? RetentionDays.THREE_MONTHS;
    const adminHosts = props.adminHosts ?? [];
    const freeHosts = props.freeHosts ?? [];
    const docsHosts = props.docsHosts ?? [];
    assertHostsBindOnce({ adminHosts, freeHosts, docsHosts });
    const personalHosts = personalHostsPlan(freeHosts, props);

    this.secrets = new PlatformSecrets(this, 'Secrets');
    this.data = new DataStores(this, 'Data');
    this.queues = new ExecutionQueues(this, 'Queues');
    this.functions = new PlatformFunctions(this, 'Functions', {
      projectRoot,
      data: this.data,
      queues: this.queues,
      credentialPrefix,
      logRetention,
      messageKeys: this.secrets.messageKeys,
      ...(props.reservedConcurrency === undefined ? {} : { reservedConcurrency: props.reservedConcurrency }),
    });
    this.api = new PlatformApi(this, 'Api', {
      functions: this.functions,
      logRetention,
      throttle: props.apiThrottle ?? DEFAULT_API_THROTTLE,
    });
    this.edge = new Edge(this, 'Edge', {
      api: this.api.httpApi,
      originSecret: this.secrets.originSecret,
      adminHosts,
      freeHosts,
      docsHosts,
      ...(props.certificateArn === undefined ? {} : { certificateArn: props.certificateArn }),
      ...(props.webAclArn === undefined ? {} : { webAclArn: props.webAclArn }),
      logRetention,
      personalHosts,
      siteDirs: props.siteDirs ?? mapRecord(sites, (site) => resolve(projectRoot, site.dir)),
    });
    this.schedules = new PlatformSchedules(this, 'Schedules', { functions: this.functions });
    this.tenantSchedules = new TenantSchedules(this, 'TenantSchedules', { functions: this.functions });

    // API functions (route targets) compare the origin secret; those that sign people in (every
    // surface but the free entry, which has no sign-in yet) also get the token key; the governance
    // surface's functions learn the super-admin list. Values stay dynamic references.
    const apiFunctions = new Set<FunctionName>(routes.map((route) => route.function));
    const signInFunctions = new Set<FunctionName>(
      routes.filter((route) => route.surface !== 'free').map((route) => route.function),
    );
    const governanceFunctions = new Set<FunctionName>(
      routes.filter((route) => route.surface === 'governance').map((route) => route.function),
    );
    for (const name of apiFunctions) {
      const fn = this.functions.get(name);
      fn.addEnvironment(ENV.originSecret, this.secrets.originSecret.secretValue.unsafeUnwrap());
      if (signInFunctions.has(name)) {
        fn.addEnvironment(ENV.tokenSecret, this.secrets.tokenSecret.secretValue.unsafeUnwrap());
      }
      if (governanceFunctions.has(name))
        fn.addEnvironment(ENV.superAdmins, (props.superAdmins ?? []).join(','));
    }

    // Tenant-scoped functions reach a tenant's partitions only through the tenant-data role.
    this.tenantData = new TenantDataAccess(this, 'TenantData', {
      functions: this.functions,
      tableArn: this.data.table.tableArn,
      tableIndexArns: this.data.indexArns(),
    });
    for (const { spec, fn } of Object.values(this.functions.byName)) {
      if (spec.permissions.tableScope === 'tenant' || spec.permissions.tableScope === 'free')
        fn.addEnvironment(ENV.tenantDataRoleArn, this.tenantData.role.roleArn);
      // The free entry names personal hosts under the free hosts, and no handle may shadow a platform host.
      if (spec.permissions.tableScope === 'free') {
        fn.addEnvironment(ENV.adminHosts, adminHosts.join(','));
        fn.addEnvironment(ENV.freeHosts, freeHosts.join(','));
      }
    }
    // Functions that onboard hosts: the distribution and connection group new tenants join, the
    // CNAME target, the certificate, and the platform's own hosts (onboarded like a customer's).
    for (const { spec, fn } of Object.values(this.functions.byName)) {
      if (!spec.permissions.cloudFrontTenants) continue;
      fn.addEnvironment(ENV.distributionId, this.edge.distribution.ref);
      fn.addEnvironment(ENV.connectionGroupId, this.edge.connectionGroup.attrId);
      fn.addEnvironment(ENV.routingEndpoint, this.edge.connectionGroup.attrRoutingEndpoint);
      fn.addEnvironment(ENV.adminHosts, adminHosts.join(','));
      fn.addEnvironment(ENV.freeHosts, freeHosts.join(','));
      fn.addEnvironment(ENV.docsHosts, docsHosts.join(','));
      if (props.certificateArn !== undefined) {
        fn.addEnvironment(ENV.certificateArn, props.certificateArn);
        fn.addEnvironment(
          ENV.certificateHosts,
          (props.certificateHosts ?? [...adminHosts, ...freeHosts, ...docsHosts]).join(','),
        );
      }
    }

    const credentialSecretsArn = this.formatArn({
      service: 'secretsmanager',
      resource: 'secret',
      resourceName: `${credentialPrefix}*`,
      arnFormat: ArnFormat.COLON_RESOURCE_NAME,
    });
    this.functions.grantTopologyPermissions({
      tableArn: this.data.table.tableArn,
      tableIndexArns: this.data.indexArns(),
      claimsTableArn: this.data.claimsTable.tableArn,
      queueArns: mapRecord(this.queues.byName, ({ queue }) => queue.queueArn),
      tenantDataRoleArn: this.tenantData.role.roleArn,
      freeHosts,
      credentialSecretsArn,
      messageKeyArns: mapRecord(this.secrets.messageKeys, (secret) => secret.secretArn),
      tenantSchedules: {
        scheduleArns: this.tenantSchedules.scheduleArns,
        roleArn: this.tenantSchedules.role.roleArn,
      },
      cloudFront: {
        distributionArn: this.edge.distributionArn,
        distributionTenantsArn: this.edge.distributionTenantsArn,
        connectionGroupArn: this.edge.connectionGroupArn,
        personalHostTenantArns: [...this.edge.personalHostTenants.values()].map((tenant) => tenant.attrArn),
      },
    });
    this.acknowledgePatternGrants(credentialSecretsArn);

    new CfnOutput(this, 'RoutingEndpoint', {
      description:
        'CNAME target of every host, the platform’s own and each customer’s (the connection group routing endpoint)',
      value: this.edge.connectionGroup.attrRoutingEndpoint,
    });
    new CfnOutput(this, 'LifecycleFunction', {
      description: 'Invoke with {"scan":"host-onboarding"} to see (and advance) every host onboarding',
      value: this.functions.get('lifecycle-scan').functionName,
    });
    this.personalHostsDns(freeHosts, personalHosts, props.hostedZone);
    new CfnOutput(this, 'DistributionId', { value: this.edge.distribution.ref });
    new CfnOutput(this, 'SiteBucketName', { value: this.edge.siteBucket.bucketName });
  }

  /**
   * DNS for the personal spaces' wildcards: the record in the hosted zone when the free host is in it,
   * otherwise an output naming the record to create; and an output for each free host left without a
   * wildcard, saying which certificate would serve it.
   */
  private personalHostsDns(
    freeHosts: readonly string[],
    personalHosts: readonly PersonalHostsDomain[],
    hostedZone: HostedZoneContext | undefined,
  ): void {
    const endpoint = this.edge.connectionGroup.attrRoutingEndpoint;
    const zone =
      hostedZone === undefined
        ? undefined
        : HostedZone.fromHostedZoneAttributes(this, 'HostedZone', {
            hostedZoneId: hostedZone.id,
            zoneName: hostedZone.name,
          });
    for (const freeHost of freeHosts) {
      const domain = personalHostsDomain(freeHost);
      if (!personalHosts.some((entry) => entry.freeHost === freeHost)) {
        new CfnOutput(this, `PersonalHostsUnserved-${freeHost}`, {
          description: `Personal spaces under ${freeHost} are not served: set execfabric:personalHostsCertificateArn to an ACM certificate in us-east-1 covering ${domain} (docs/deploy.md, "Personal spaces")`,
          value: domain,
        });
        continue;
      }
      if (zone !== undefined && hostedZone !== undefined && inZone(freeHost, hostedZone.name)) {
        new CnameRecord(this, `PersonalHostsRecord-${freeHost}`, {
          zone,
          recordName: `${domain}.`,
          domainName: endpoint,
          ttl: Duration.minutes(5),
          comment: `ExecFabric: personal spaces under ${freeHost}`,
        });
        continue;
      }
      new CfnOutput(this, `PersonalHostsRecord-${freeHost}`, {
        description: `DNS record to create for the personal spaces under ${freeHost}`,
        value: Fn.join(' ', [domain, 'CNAME', endpoint]),
      });
    }
  }

  /**
   * The two grants whose resources are name patterns, acknowledged on exactly the roles that hold
   * them and for exactly those resources.
   */
  private acknowledgePatternGrants(credentialSecretsArn: string): void {
    for (const { spec, role } of Object.values(this.functions.byName)) {
      const policy = role.node.tryFindChild('DefaultPolicy');
      if (policy === undefined) continue;
      if (spec.permissions.httpCredentials !== 'none') {
        Validations.of(policy).acknowledge({
          id: `AwsSolutions-IAM5[Resource::${nagResource(this, credentialSecretsArn)}]`,
          reason:
            'HTTP resource credentials are created at run time, one secret per resource, so they are named by the credential prefix; no other secret matches it.',
        });
      }
      if (spec.permissions.tenantSchedules) {
        Validations.of(policy).acknowledge({
          id: `AwsSolutions-IAM5[Resource::${nagResource(this, this.tenantSchedules.scheduleArns)}]`,
          reason:
            'Tenant schedules are created at run time, one per schedule a tenant makes, so they are named by the stage’s schedule group; the grant is limited to single-schedule actions in that group.',
        });
      }
      if (spec.permissions.cloudFrontTenants) {
        Validations.of(policy).acknowledge({
          id: `AwsSolutions-IAM5[Resource::${nagResource(this, this.edge.distributionTenantsArn)}]`,
          reason:
            'Distribution tenants are created at run time when a host is bound, and CloudFront assigns their ids, so they cannot be named in advance; the grant is limited to tenant actions in this account.',
        });
      }
    }
  }
}

/**
 * Which free hosts get their `*.<free host>` wildcard, and with which certificate: the personal-hosts
 * certificate when given (it must cover `*.<free host>` for every free host), otherwise the viewer
 * certificate where `certificateHosts` names `*.<free host>` (a `*.example.com` certificate does not
 * cover `*.free.example.com`: a wildcard is one label).
 */
export function personalHostsPlan(
  freeHosts: readonly string[],
  props: Pick<ExecFabricStackProps, 'personalHostsCertificateArn' | 'certificateArn' | 'certificateHosts'>,
): PersonalHostsDomain[] {
  return freeHosts.flatMap((freeHost) => {
    if (props.personalHostsCertificateArn !== undefined) {
      return [{ freeHost, certificateArn: props.personalHostsCertificateArn }];
    }
    if (
      props.certificateArn !== undefined &&
      props.certificateHosts?.includes(personalHostsDomain(freeHost))
    ) {
      return [{ freeHost, certificateArn: props.certificateArn }];
    }
    return [];
  });
}

/** Whether a host is the zone's apex or under it. */
function inZone(host: string, zoneName: string): boolean {
  return host === zoneName || host.endsWith(`.${zoneName}`);
}

/** A host reaches exactly one surface, so it may appear in exactly one host list. */
function assertHostsBindOnce(lists: Readonly<Record<string, readonly string[]>>): void {
  const seen = new Map<string, string>();
  for (const [list, hosts] of Object.entries(lists)) {
    for (const host of hosts) {
      const earlier = seen.get(host);
      if (earlier !== undefined) throw new AwsWiringError(`Host ${host} is in both ${earlier} and ${list}`);
      seen.set(host, list);
    }
  }
}

/**
 * How cdk-nag prints a resource in an IAM5 finding id: the resolved value with `Ref`/`GetAtt`
 * written as `<Ref>`/`<LogicalId.Attr>` and `Fn::Join` flattened.
 */
function nagResource(stack: Stack, value: string): string {
  const render = (node: unknown): string => {
    if (typeof node === 'string') return node;
    if (node !== null && typeof node === 'object') {
      const entries = Object.entries(node);
      const [key, arg] = entries[0] ?? [];
      if (entries.length === 1 && key === 'Ref' && typeof arg === 'string') return `<${arg}>`;
      if (entries.length === 1 && key === 'Fn::GetAtt' && Array.isArray(arg)) return `<${arg.join('.')}>`;
      if (entries.length === 1 && key === 'Fn::Join' && Array.isArray(arg)) {
        const [separator, parts] = arg as [string, unknown[]];
        return parts.map(render).join(separator);
      }
    }
    return JSON.stringify(node);
  };
  return render(stack.resolve(value));
}
