/**
 * The ExecFabric stack: `lib/topology.ts` wired onto AWS. It composes the data stores, queues,
 * functions, HTTP API, edge and schedules, then adds the wiring that spans them: the origin and
 * token secrets (as dynamic references) for the API functions, the super-admin list for the
 * governance surface, the distribution for host bindings, and every function's declared permissions.
 */
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ArnFormat, CfnOutput, Stack, type StackProps, Validations } from 'aws-cdk-lib';
import { RetentionDays } from 'aws-cdk-lib/aws-logs';
import type { Construct } from 'constructs';
import { ENV } from '../../functions/core/env.ts';
import { type FunctionName, routes, type SiteName, sites } from '../topology.ts';
import { type ApiThrottle, PlatformApi } from './api.ts';
import { DataStores } from './data.ts';
import { Edge } from './edge.ts';
import { AwsWiringError } from './errors.ts';
import { PlatformFunctions } from './functions.ts';
import { ExecutionQueues } from './queues.ts';
import { mapRecord } from './record.ts';
import { PlatformSchedules } from './schedules.ts';
import { PlatformSecrets } from './secrets.ts';
import { TenantSchedules } from './tenant-schedules.ts';

/** The repository root, from this file's place in it (`lib/aws/stack.ts`). */
export const REPOSITORY_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

/** The stack's construct id and (by default) its CloudFormation name. */
export const STACK_ID = 'ExecFabric';

export const DEFAULT_CREDENTIAL_PREFIX = 'execfabric/http-credentials/';

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
   * Customer hosts bound at deploy time; the governance API binds later ones at run time.
   * @default []
   */
  readonly tenantHosts?: readonly string[];
  /**
   * Usernames recognised as platform super-admins on the public domain, passed comma-separated in
   * `EXECFABRIC_SUPER_ADMINS`.
   * @default []
   */
  readonly superAdmins?: readonly string[];
  /**
   * ACM certificate (us-east-1) covering every configured host.
   * @default - each distribution tenant requests a CloudFront-managed certificate for its host
   */
  readonly certificateArn?: string;
  /**
   * Repository root that function entries, the Python worker, layers and site folders resolve from.
   * @default - the repository this file is in
   */
  readonly projectRoot?: string;
  /**
   * Built static sites to upload, by site; a folder that does not exist at synth time is skipped.
   * @default - `<projectRoot>/<topology.sites[site].dir>` for every site
   */
  readonly siteDirs?: Readonly<Partial<Record<SiteName, string>>>;
  /**
   * Secrets Manager name prefix of HTTP resource credentials; the only secrets functions may touch.
   * @default 'execfabric/http-credentials/'
   */
  readonly credentialPrefix?: string;
  /**
   * HTTP API stage throttling.
   * @default { rateLimit: 200, burstLimit: 400 }
   */
  readonly apiThrottle?: ApiThrottle;
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
  readonly tenantSchedules: TenantSchedules;

  constructor(scope: Construct, id: string, props: ExecFabricStackProps = {}) {
    super(scope, id, props);
    const projectRoot = props.projectRoot ?? REPOSITORY_ROOT;
    const credentialPrefix = props.credentialPrefix ?? DEFAULT_CREDENTIAL_PREFIX;
    const logRetention = props.logRetention ?? RetentionDays.THREE_MONTHS;
    assertHostsBindOnce({
      adminHosts: props.adminHosts ?? [],
      freeHosts: props.freeHosts ?? [],
      tenantHosts: props.tenantHosts ?? [],
    });

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
    });
    this.api = new PlatformApi(this, 'Api', {
      functions: this.functions,
      logRetention,
      throttle: props.apiThrottle ?? DEFAULT_API_THROTTLE,
    });
    this.edge = new Edge(this, 'Edge', {
      api: this.api.httpApi,
      originSecret: this.secrets.originSecret,
      adminHosts: props.adminHosts ?? [],
      freeHosts: props.freeHosts ?? [],
      tenantHosts: props.tenantHosts ?? [],
      ...(props.certificateArn === undefined ? {} : { certificateArn: props.certificateArn }),
      siteDirs: props.siteDirs ?? mapRecord(sites, (site) => resolve(projectRoot, site.dir)),
    });
    this.schedules = new PlatformSchedules(this, 'Schedules', { functions: this.functions });
    this.tenantSchedules = new TenantSchedules(this, 'TenantSchedules', { functions: this.functions });

    // API functions (route targets) compare the origin secret and sign tokens; the governance
    // surface's functions also learn the super-admin list. Values stay dynamic references.
    const apiFunctions = new Set<FunctionName>(routes.map((route) => route.function));
    const governanceFunctions = new Set<FunctionName>(
      routes.filter((route) => route.surface === 'governance').map((route) => route.function),
    );
    for (const name of apiFunctions) {
      const fn = this.functions.get(name);
      fn.addEnvironment(ENV.originSecret, this.secrets.originSecret.secretValue.unsafeUnwrap());
      fn.addEnvironment(ENV.tokenSecret, this.secrets.tokenSecret.secretValue.unsafeUnwrap());
      if (governanceFunctions.has(name))
        fn.addEnvironment(ENV.superAdmins, (props.superAdmins ?? []).join(','));
    }
    for (const { spec, fn } of Object.values(this.functions.byName)) {
      if (!spec.permissions.cloudFrontTenants) continue;
      fn.addEnvironment(ENV.distributionId, this.edge.distribution.ref);
      fn.addEnvironment(ENV.connectionGroupId, this.edge.connectionGroup.attrId);
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
      },
    });
    this.acknowledgePatternGrants(credentialSecretsArn);

    new CfnOutput(this, 'RoutingEndpoint', {
      description: 'CNAME target for every configured host (the connection group routing endpoint)',
      value: this.edge.connectionGroup.attrRoutingEndpoint,
    });
    new CfnOutput(this, 'DistributionId', { value: this.edge.distribution.ref });
    new CfnOutput(this, 'SiteBucketName', { value: this.edge.siteBucket.bucketName });
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
