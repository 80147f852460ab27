/**
 * Names of the environment variables that wire a function to its resources, and how a function reads
 * them. The CDK stack sets them on each function; the local platform builds the same record for each
 * platform it starts. A function's configuration entry (`functions/<name>/handler.ts`) takes that
 * record explicitly: its Lambda entry (`index.ts`) passes the process environment, the local platform
 * its own record — nothing else under `functions/` reads the process environment, so two platforms in
 * one process never share one.
 */
export const ENV = {
  tableName: 'EXECFABRIC_TABLE',
  claimsTableName: 'EXECFABRIC_CLAIMS_TABLE',
  originSecret: 'EXECFABRIC_ORIGIN_SECRET',
  tokenSecret: 'EXECFABRIC_TOKEN_SECRET',
  superAdmins: 'EXECFABRIC_SUPER_ADMINS',
  /** Secrets Manager name prefix under which HTTP resource credentials are kept. */
  credentialPrefix: 'EXECFABRIC_CREDENTIAL_PREFIX',
  /** Local only: folder of the encrypted credential store (replaces Secrets Manager on one machine). */
  credentialStoreDir: 'EXECFABRIC_SECRET_STORE_DIR',
  /** Local only: HTTP resources marked `localDevelopment` may reach loopback and private addresses. */
  allowLocalDevelopment: 'EXECFABRIC_ALLOW_LOCAL_DEVELOPMENT',
  /** CloudFront multi-tenant distribution and connection group that new hosts join. */
  distributionId: 'EXECFABRIC_DISTRIBUTION_ID',
  connectionGroupId: 'EXECFABRIC_CONNECTION_GROUP_ID',
  /** The connection group's routing endpoint: the CNAME target every host's DNS must point at. */
  routingEndpoint: 'EXECFABRIC_ROUTING_ENDPOINT',
  /** The configured ACM certificate (us-east-1), and the host names it covers (comma-separated). */
  certificateArn: 'EXECFABRIC_CERTIFICATE_ARN',
  certificateHosts: 'EXECFABRIC_CERTIFICATE_HOSTS',
  /** The role a tenant function assumes, tagged with the request's tenant, to reach that tenant's partitions. */
  tenantDataRoleArn: 'EXECFABRIC_TENANT_DATA_ROLE_ARN',
  /** Local tests only: an STS endpoint stand-in. */
  stsEndpoint: 'EXECFABRIC_STS_ENDPOINT',
  /** The platform's own hosts (comma-separated), onboarded at run time like a customer's. */
  adminHosts: 'EXECFABRIC_ADMIN_HOSTS',
  freeHosts: 'EXECFABRIC_FREE_HOSTS',
  /** The free entry's sign-up limits, as JSON (free/signup-limits.ts SignupLimits); unset: the defaults. */
  freeSignupLimits: 'EXECFABRIC_FREE_SIGNUP_LIMITS',
  docsHosts: 'EXECFABRIC_DOCS_HOSTS',
  /** Local only: endpoints of the embedded DynamoDB- and SQS-compatible servers. */
  dynamodbEndpoint: 'EXECFABRIC_DYNAMODB_ENDPOINT',
  sqsEndpoint: 'EXECFABRIC_SQS_ENDPOINT',
  lambdaEndpoint: 'EXECFABRIC_LAMBDA_ENDPOINT',
  /** Tenant schedules (AWS): the stage's EventBridge Scheduler group, and what its schedules target. */
  scheduleGroup: 'EXECFABRIC_SCHEDULE_GROUP',
  scheduleTargetArn: 'EXECFABRIC_SCHEDULE_TARGET_ARN',
  scheduleRoleArn: 'EXECFABRIC_SCHEDULE_ROLE_ARN',
  scheduleDeadLetterArn: 'EXECFABRIC_SCHEDULE_DLQ_ARN',
  /** An EventBridge Scheduler endpoint other than AWS's (tests against a stand-in). */
  schedulerEndpoint: 'EXECFABRIC_SCHEDULER_ENDPOINT',
} as const;

/** `script-worker` → `EXECFABRIC_FUNCTION_SCRIPT_WORKER`: the deployed name of a function another may invoke. */
export function functionNameEnv(fn: string): string {
  return `EXECFABRIC_FUNCTION_${fn.toUpperCase().replace(/-/g, '_')}`;
}

/** `script-executions` → `EXECFABRIC_QUEUE_SCRIPT_EXECUTIONS`. */
export function queueUrlEnv(queue: string): string {
  return `EXECFABRIC_QUEUE_${queue.toUpperCase().replace(/-/g, '_')}`;
}

export class MissingConfigurationError extends Error {
  constructor(name: string) {
    super(`Environment variable ${name} is not set`);
    this.name = 'MissingConfigurationError';
  }
}

/** A function's configuration: Lambda's process environment in AWS, the local platform's own record on one machine. */
export type Environment = Readonly<Record<string, string | undefined>>;

/** The value of `name`, or undefined when unset or empty. */
export function optionalEnv(name: string, env: Environment): string | undefined {
  const value = env[name];
  return value === undefined || value === '' ? undefined : value;
}

export function requireEnv(name: string, env: Environment): string {
  const value = optionalEnv(name, env);
  if (value === undefined) throw new MissingConfigurationError(name);
  return value;
}

/** The settings every AWS SDK v3 client takes for where it sends and how it signs. */
export interface AwsClientSettings {
  readonly endpoint?: string;
  readonly region?: string;
  readonly credentials?: {
    readonly accessKeyId: string;
    readonly secretAccessKey: string;
    readonly sessionToken?: string;
  };
}

/**
 * Settings of an AWS client whose endpoint `env` may override (`endpointName`, e.g. ENV.sqsEndpoint).
 * With an endpoint (the local platform, stand-ins in tests) the client is off Lambda: it also takes its
 * region and credentials from `env`, since the SDK's default chain would read the process's. Without
 * one (AWS), nothing is set: the default chain keeps reading the execution environment's region and
 * session credentials, which it refreshes.
 */
export function awsClientSettings(env: Environment, endpointName: string): AwsClientSettings {
  const endpoint = optionalEnv(endpointName, env);
  if (endpoint === undefined) return {};
  const region = optionalEnv('AWS_REGION', env);
  const accessKeyId = optionalEnv('AWS_ACCESS_KEY_ID', env);
  const secretAccessKey = optionalEnv('AWS_SECRET_ACCESS_KEY', env);
  const sessionToken = optionalEnv('AWS_SESSION_TOKEN', env);
  return {
    endpoint,
    ...(region === undefined ? {} : { region }),
    ...(accessKeyId === undefined || secretAccessKey === undefined
      ? {}
      : {
          credentials: {
            accessKeyId,
            secretAccessKey,
            ...(sessionToken === undefined ? {} : { sessionToken }),
          },
        }),
  };
}

/** `a, b ,c` → `['a', 'b', 'c']` (a configured list: super-admins, hosts). */
export function parseList(value: string | undefined): string[] {
  return (value ?? '')
    .split(',')
    .map((item) => item.trim())
    .filter((item) => item !== '');
}

/** The platform's own hosts a function was configured with (the AWS wiring and the local platform set them). */
export function platformHostsFromEnv(env: Environment) {
  return {
    governance: parseList(env[ENV.adminHosts]),
    free: parseList(env[ENV.freeHosts]),
    docs: parseList(env[ENV.docsHosts]),
  };
}
