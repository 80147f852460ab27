/**
 * The one description of ExecFabric's wiring. `lib/aws/` turns it into a CDK stack and `lib/local/`
 * into the embedded platform; neither writes a function, route, queue, schedule or site of its own.
 * Everything here is plain data, so tests can read it and both wirings can be checked against it.
 */

export type FunctionName =
  | 'tenant-api'
  | 'governance-api'
  | 'free-api'
  | 'results-recorder'
  | 'script-dispatcher'
  | 'script-worker'
  | 'http-executor'
  | 'lifecycle-scan'
  | 'data-relay'
  | 'schedule-fire';

export type QueueName = 'script-executions' | 'http-executions' | 'execution-results';

export type SiteName = 'governance' | 'tenant' | 'free' | 'docs';

/** Which API surface a host reaches; decided at the edge from the host. */
export type Surface = 'governance' | 'tenant' | 'free';

export type TableAccess = 'none' | 'read' | 'readwrite';

export interface FunctionPermissions {
  /** Access to the platform table. */
  readonly table: TableAccess;
  /** Access to the platform's HTTP credential secrets (Secrets Manager in AWS). */
  readonly httpCredentials: 'none' | 'read' | 'readwrite';
  /** Queues this function may send to. */
  readonly sendTo: readonly QueueName[];
  /**
   * The small claims table of job claims: `claim` claims a job before running it (a duplicate
   * delivery is refused); `run` also beats the claim while the job runs and reads another attempt's
   * last sign of life (lost attempts, stop requests); `cancel` claims a waiting job so that nobody
   * runs it, or asks the runtime holding it to stop. @default false (none)
   */
  readonly claims: false | 'claim' | 'run' | 'cancel';
  /** Per-tenant concurrency slots in the claims table (get, put, update). */
  readonly slots: boolean;
  /** May manage CloudFront distribution tenants (host bindings in the AWS wiring). */
  readonly cloudFrontTenants: boolean;
  /** Functions this one may invoke synchronously (e.g. the tenant API asks the Python worker to syntax-check a script). */
  readonly invoke: readonly FunctionName[];
  /**
   * Message keys the function holds (see functions/core/messages/signing.ts): `jobs` signs or
   * verifies job messages and egress grants, `reports` the runtimes' reports.
   */
  readonly messageKeys: readonly MessageKeyPurpose[];
  /**
   * Narrows `table` by partition (`dynamodb:LeadingKeys`):
   * - `tenant`: a function that serves one tenant per request reaches that tenant's partitions only,
   *   through an STS session tagged with the tenant (core/tenancy/tenant-scope.ts); its own role reads
   *   host bindings and the public items a tenant uses, and appends public audit entries;
   * - `hosts`: only reads host bindings;
   * - `free`: the free entry (sign-up). Only personal spaces may be its scope (tenant ids `p-…`:
   *   the tenant-data role's trust admits its sessions for those alone); its own role reads host
   *   bindings and public items (the offered templates), claims and releases host bindings under the
   *   free hosts only, appends public audit entries, and reads and writes the free edition's own
   *   partitions (`FREE#…`: leads, offers, rate counters). Nothing else of the public domain.
   * @default the whole table
   */
  readonly tableScope?: 'tenant' | 'hosts' | 'free';
  /**
   * Creates, changes and deletes tenant schedules in the stage's EventBridge Scheduler group (and
   * passes the scheduler role to them). Locally the ticker reads due schedules from the table.
   */
  readonly tenantSchedules: boolean;
}

export type MessageKeyPurpose = 'jobs' | 'reports';

export interface FunctionSpec {
  readonly name: FunctionName;
  readonly runtime: 'nodejs22.x' | 'python3.12';
  /** Source entry, relative to the repository root. */
  readonly entry: string;
  /** Exported handler name (`handler` for Node; `module.function` for Python). */
  readonly handler: string;
  readonly memoryMb: number;
  readonly timeoutSeconds: number;
  readonly layers: readonly 'python-runtime'[];
  readonly permissions: FunctionPermissions;
  /**
   * Reserved concurrency. Not set by the topology: an account with a low concurrency quota refuses
   * any reservation, so a deployment reserves only through CDK context (`execfabric:reservedConcurrency`);
   * fan-out is bounded by each queue's `maxConcurrency` instead.
   */
  readonly reservedConcurrency?: number;
  /**
   * `per-tenant`: Lambda tenant isolation mode — every invocation names a tenant, and no execution
   * environment ever serves two tenants. Such a function takes no event source mapping: a dispatcher
   * invokes it. Locally, a Python "container" likewise serves one tenant for its whole life.
   */
  readonly tenancy?: 'per-tenant';
}

export interface QueueSpec {
  readonly name: QueueName;
  readonly consumer: FunctionName;
  /** Messages per consumer invocation. */
  readonly batchSize: number;
  /** Receives before a message is moved to the dead-letter queue. */
  readonly maxReceiveCount: number;
  /** Seconds a received message stays invisible; always ≥ 6 × the consumer's timeout. */
  readonly visibilityTimeoutSeconds: number;
  /** Messages carry a MessageGroupId (the tenant) so SQS fair queues keep one tenant from starving others. */
  readonly fairByTenant: boolean;
  /**
   * Who reads the dead-letter queue so a dead job is recorded as failed, never dropped; `null` where
   * the DLQ is the end of the line (it is alarmed on instead).
   */
  readonly deadLetterConsumer: FunctionName | null;
  readonly retentionSeconds: number;
  /**
   * Largest message (SQS allows 1 MiB). A result carries an output of the declared limit (256 KiB of
   * UTF-8 JSON, ASCII-escaped on the wire) with its logs; a job carries a script of 256 KiB and its input.
   */
  readonly maxMessageBytes: number;
  /**
   * Most concurrent invocations the queue's event source mapping makes (SQS `MaximumConcurrency`,
   * 2–1000). The mapping stops polling at it rather than invoking into a throttle, so a job is never
   * received and returned just because the consumer was busy.
   * @default DEFAULT_MAX_CONCURRENCY
   */
  readonly maxConcurrency: number;
  /** The same bound for the mapping of the dead-letter queue to its consumer. @default MIN_MAX_CONCURRENCY */
  readonly deadLetterMaxConcurrency: number;
}

/** SQS's largest message. */
export const MAX_QUEUE_MESSAGE_BYTES = 1024 * 1024;

/**
 * A viewer path the edge sends to the API of a host's surface instead of a static site: `exact`
 * is the path alone, `subtree` everything under it (`/api` → `/api/…`, as CloudFront's `/api/*`).
 */
export interface ApiPathSpec {
  readonly prefix: `/${string}`;
  readonly match: 'exact' | 'subtree';
}

export interface RouteSpec extends ApiPathSpec {
  /** The API surface (the edge prefixes the viewer path with `/<surface>`). */
  readonly surface: Surface;
  /** API Gateway route key path (`/<surface><prefix>`, `/{proxy+}` added under a subtree). */
  readonly path: string;
  readonly function: FunctionName;
}

export interface ScheduleSpec {
  readonly name: string;
  /** EventBridge Scheduler expression (UTC). */
  readonly expression: string;
  readonly function: FunctionName;
  /** The event the target receives. */
  readonly input: Readonly<Record<string, unknown>>;
}

export interface SiteSpec {
  readonly name: SiteName;
  /** Built files, relative to the repository root. */
  readonly dir: string;
  readonly title: string;
}

export interface IndexSpec {
  readonly name: string;
  readonly partitionKey: string;
  readonly sortKey: string;
  /** What the index is for; every index is sparse (only items that carry its keys appear). */
  readonly purpose: string;
}

export interface TableSpec {
  readonly partitionKey: string;
  readonly sortKey: string;
  readonly indexes: readonly IndexSpec[];
  /** Attribute that DynamoDB's TTL deletes on (the local store ignores it; reads check expiry). */
  readonly ttlAttribute: string;
}

const noPermissions: FunctionPermissions = {
  table: 'none',
  httpCredentials: 'none',
  sendTo: [],
  claims: false,
  slots: false,
  cloudFrontTenants: false,
  invoke: [],
  messageKeys: [],
  tenantSchedules: false,
};

export const functions: Readonly<Record<FunctionName, FunctionSpec>> = {
  'tenant-api': {
    name: 'tenant-api',
    runtime: 'nodejs22.x',
    entry: 'functions/tenant-api/index.ts',
    handler: 'handler',
    memoryMb: 1024,
    // API Gateway's most (30 s): a `Prefer: wait` (up to MAX_RUN_WAIT_SECONDS, 20) or an agent's long
    // poll is answered inside it (a wait is also cut to the time left: waitWithin, routes/catalog.ts).
    timeoutSeconds: 30,
    layers: [],
    permissions: {
      ...noPermissions,
      table: 'readwrite',
      tableScope: 'tenant',
      sendTo: ['script-executions', 'http-executions'],
      // Cancelling a queued run claims its job first, so no worker ever starts it; a running one is
      // asked to stop on its worker's claim.
      claims: 'cancel',
      invoke: ['script-worker'],
      messageKeys: ['jobs'],
      tenantSchedules: true,
    },
  },
  'governance-api': {
    name: 'governance-api',
    runtime: 'nodejs22.x',
    entry: 'functions/governance-api/index.ts',
    handler: 'handler',
    memoryMb: 1024,
    timeoutSeconds: 30,
    layers: [],
    permissions: {
      ...noPermissions,
      table: 'readwrite',
      httpCredentials: 'readwrite',
      sendTo: ['http-executions'],
      cloudFrontTenants: true,
      invoke: ['script-worker'],
      messageKeys: ['jobs'],
    },
  },
  // The free personal-edition entry: self-serve sign-up in its own function, with only what making
  // a personal space needs — never the governance API's role (docs/decisions/free-edition.md).
  'free-api': {
    name: 'free-api',
    runtime: 'nodejs22.x',
    entry: 'functions/free-api/index.ts',
    handler: 'handler',
    // scrypt (32 MiB) for the first admin's password, and the chosen templates' installs.
    memoryMb: 512,
    timeoutSeconds: 20,
    layers: [],
    permissions: { ...noPermissions, table: 'readwrite', tableScope: 'free' },
  },
  'results-recorder': {
    name: 'results-recorder',
    runtime: 'nodejs22.x',
    entry: 'functions/results-recorder/index.ts',
    handler: 'handler',
    memoryMb: 512,
    timeoutSeconds: 30,
    layers: [],
    // Reports are verified with the reports key; dead jobs with the jobs key.
    permissions: { ...noPermissions, table: 'readwrite', messageKeys: ['jobs', 'reports'] },
  },
  'script-dispatcher': {
    // Reads the script queue and invokes the tenant-isolated worker with each job's tenant. It runs no
    // tenant code and touches no table: it verifies a job before believing whose it is.
    name: 'script-dispatcher',
    runtime: 'nodejs22.x',
    entry: 'functions/script-dispatcher/index.ts',
    handler: 'handler',
    memoryMb: 256,
    timeoutSeconds: 330,
    layers: [],
    // It holds a tenant's concurrency slots, and puts a job back on the queue while its tenant is full.
    permissions: {
      ...noPermissions,
      invoke: ['script-worker'],
      messageKeys: ['jobs'],
      slots: true,
      sendTo: ['script-executions'],
    },
  },
  'script-worker': {
    name: 'script-worker',
    runtime: 'python3.12',
    entry: 'functions/script-worker',
    handler: 'handler.handler',
    memoryMb: 1024,
    timeoutSeconds: 300,
    layers: ['python-runtime'],
    permissions: {
      ...noPermissions,
      sendTo: ['execution-results'],
      claims: 'run',
      // A script's ctx.http calls are relayed to the http-executor, its ctx.data calls to the data relay.
      invoke: ['http-executor', 'data-relay'],
      messageKeys: ['jobs', 'reports'],
    },
    tenancy: 'per-tenant',
  },
  'http-executor': {
    name: 'http-executor',
    runtime: 'nodejs22.x',
    entry: 'functions/http-executor/index.ts',
    handler: 'handler',
    memoryMb: 512,
    timeoutSeconds: 60,
    layers: [],
    permissions: {
      ...noPermissions,
      httpCredentials: 'read',
      sendTo: ['execution-results'],
      claims: 'claim',
      messageKeys: ['jobs', 'reports'],
    },
  },
  'lifecycle-scan': {
    name: 'lifecycle-scan',
    runtime: 'nodejs22.x',
    entry: 'functions/lifecycle-scan/index.ts',
    handler: 'handler',
    memoryMb: 512,
    timeoutSeconds: 300,
    layers: [],
    // The stale-execution sweep re-dispatches runs whose messages were lost; the host-onboarding
    // scan provisions hosts whose DNS now points at the platform.
    permissions: {
      ...noPermissions,
      table: 'readwrite',
      sendTo: ['script-executions', 'http-executions'],
      messageKeys: ['jobs'],
      cloudFrontTenants: true,
    },
  },
  'data-relay': {
    // Serves a script's ctx.data calls, relayed by the worker with the run's sealed data grant: it
    // verifies the grant (jobs key) and reads and writes only that tenant's declared collections.
    name: 'data-relay',
    runtime: 'nodejs22.x',
    entry: 'functions/data-relay/index.ts',
    handler: 'handler',
    memoryMb: 512,
    timeoutSeconds: 30,
    layers: [],
    permissions: { ...noPermissions, table: 'readwrite', tableScope: 'tenant', messageKeys: ['jobs'] },
  },
  'schedule-fire': {
    // The target of every tenant schedule (EventBridge Scheduler in AWS, the ticker locally): checks
    // the fire's sealed reference and requests the run as the schedule's owner, through admission.
    name: 'schedule-fire',
    runtime: 'nodejs22.x',
    entry: 'functions/schedule-fire/index.ts',
    handler: 'handler',
    memoryMb: 512,
    timeoutSeconds: 60,
    layers: [],
    permissions: {
      ...noPermissions,
      table: 'readwrite',
      sendTo: ['script-executions', 'http-executions'],
      messageKeys: ['jobs'],
    },
  },
};

/** The function every tenant schedule fires (see `FunctionPermissions.tenantSchedules`). */
export const TENANT_SCHEDULE_TARGET: FunctionName = 'schedule-fire';

/** SQS visibility must outlast every retry of the consumer (AWS advises 6 × the function timeout). */
export const VISIBILITY_FACTOR = 6;

/**
 * Fewest receives before a message is dead-lettered. Every receive counts, including one whose
 * invocation was throttled by the account's shared concurrency pool (the mapping's own
 * `maxConcurrency` prevents the throttles it would cause itself); AWS advises at least 5 so a busy
 * account never dead-letters a job that never ran. See docs/decisions/aws-wiring.md.
 */
export const MIN_MAX_RECEIVE_COUNT = 5;

/** SQS event source mappings accept `MaximumConcurrency` from 2 to 1000. */
export const MIN_MAX_CONCURRENCY = 2;
export const MAX_MAX_CONCURRENCY = 1000;
export const DEFAULT_MAX_CONCURRENCY = 20;

function queue(
  name: QueueName,
  consumer: FunctionName,
  options: {
    batchSize: number;
    maxReceiveCount: number;
    fairByTenant: boolean;
    deadLetterConsumer: FunctionName | null;
    maxConcurrency?: number;
  },
): QueueSpec {
  if (options.maxReceiveCount < MIN_MAX_RECEIVE_COUNT) {
    throw new RangeError(`Queue ${name}: maxReceiveCount must be at least ${MIN_MAX_RECEIVE_COUNT}`);
  }
  const maxConcurrency = options.maxConcurrency ?? DEFAULT_MAX_CONCURRENCY;
  if (maxConcurrency < MIN_MAX_CONCURRENCY || maxConcurrency > MAX_MAX_CONCURRENCY) {
    throw new RangeError(
      `Queue ${name}: maxConcurrency must be ${MIN_MAX_CONCURRENCY}-${MAX_MAX_CONCURRENCY}`,
    );
  }
  return {
    name,
    consumer,
    ...options,
    visibilityTimeoutSeconds: functions[consumer].timeoutSeconds * VISIBILITY_FACTOR,
    retentionSeconds: 4 * 24 * 3600,
    maxMessageBytes: MAX_QUEUE_MESSAGE_BYTES,
    maxConcurrency,
    deadLetterMaxConcurrency: MIN_MAX_CONCURRENCY,
  };
}

export const queues: Readonly<Record<QueueName, QueueSpec>> = {
  // Consumed by the dispatcher, which invokes the tenant-isolated worker once per job.
  'script-executions': queue('script-executions', 'script-dispatcher', {
    batchSize: 5,
    maxReceiveCount: MIN_MAX_RECEIVE_COUNT,
    fairByTenant: true,
    deadLetterConsumer: 'results-recorder',
  }),
  'http-executions': queue('http-executions', 'http-executor', {
    batchSize: 5,
    maxReceiveCount: MIN_MAX_RECEIVE_COUNT,
    fairByTenant: true,
    deadLetterConsumer: 'results-recorder',
  }),
  'execution-results': queue('execution-results', 'results-recorder', {
    batchSize: 10,
    maxReceiveCount: 5,
    fairByTenant: false,
    deadLetterConsumer: null,
    maxConcurrency: 10,
  }),
};

export function deadLetterQueueName(name: QueueName): string {
  return `${name}-dlq`;
}

/**
 * Viewer paths that reach an API on every host; everything else is the host's static site. The MCP
 * endpoint and its OAuth protected-resource metadata (RFC 9728, at the root and suffixed with the
 * resource's path) are served by tenant hosts; on the public surfaces the same paths reach the
 * governance API, which answers them with a problem+json 404 like any path it does not serve.
 */
export const apiPaths: readonly ApiPathSpec[] = [
  { prefix: '/api', match: 'subtree' },
  { prefix: '/mcp', match: 'exact' },
  { prefix: '/.well-known/oauth-protected-resource', match: 'exact' },
  { prefix: '/.well-known/oauth-protected-resource/mcp', match: 'exact' },
  // What an OAuth-capable MCP client asks next of the host the metadata names: the API answers that
  // no OAuth server is there (a problem+json 404; AI client tokens are made in the tenant's front),
  // where the site answered its index page with a 200 the client could not parse.
  { prefix: '/.well-known/oauth-authorization-server', match: 'exact' },
  { prefix: '/.well-known/openid-configuration', match: 'exact' },
];

/** The API function behind each surface. */
const surfaceApis: Readonly<Record<Surface, FunctionName>> = {
  tenant: 'tenant-api',
  governance: 'governance-api',
  // The free entry's own function, with only what the free surface needs.
  free: 'free-api',
};

/** A viewer path on a host reaches `/<surface><path>` at the API (the edge adds the prefix). */
export const routes: readonly RouteSpec[] = (Object.keys(surfaceApis) as Surface[]).flatMap((surface) =>
  apiPaths.map(
    (spec): RouteSpec => ({
      ...spec,
      surface,
      path: `/${surface}${spec.prefix}${spec.match === 'subtree' ? '/{proxy+}' : ''}`,
      function: surfaceApis[surface],
    }),
  ),
);

/** Whether a viewer path (before the edge's surface prefix) is one an API serves. */
export function matchesApiPath(spec: ApiPathSpec, path: string): boolean {
  return spec.match === 'exact' ? path === spec.prefix : path.startsWith(`${spec.prefix}/`);
}

/** The route an edge-prefixed path (`/<surface>/…`) reaches, if any. */
export function routeFor(uri: string): RouteSpec | undefined {
  return routes.find(
    (route) =>
      uri.startsWith(`/${route.surface}/`) && matchesApiPath(route, uri.slice(route.surface.length + 1)),
  );
}

/** CloudFront path pattern of a viewer path an API serves. */
export function edgePathPattern(spec: ApiPathSpec): string {
  return spec.match === 'exact' ? spec.prefix : `${spec.prefix}/*`;
}

export const schedules: readonly ScheduleSpec[] = [
  {
    name: 'renewal-reminder',
    expression: 'cron(0 1 * * ? *)',
    function: 'lifecycle-scan',
    input: { scan: 'renewal-reminder' },
  },
  {
    name: 'expiry-shutdown',
    expression: 'cron(30 1 * * ? *)',
    function: 'lifecycle-scan',
    input: { scan: 'expiry-shutdown' },
  },
  {
    // Hosts waiting for DNS or for the edge are checked again (each at its own backoff), and the
    // platform's own hosts are bound after a deploy.
    name: 'host-onboarding',
    expression: 'rate(1 minute)',
    function: 'lifecycle-scan',
    input: { scan: 'host-onboarding' },
  },
  {
    // Executions whose worker died mid-job, and pending approvals past their deadline, are closed.
    name: 'stale-executions',
    expression: 'rate(5 minutes)',
    function: 'lifecycle-scan',
    input: { scan: 'stale-executions' },
  },
];

export const sites: Readonly<Record<SiteName, SiteSpec>> = {
  governance: { name: 'governance', dir: 'frontend/dist/governance', title: 'ExecFabric governance console' },
  tenant: { name: 'tenant', dir: 'frontend/dist/tenant', title: 'ExecFabric' },
  free: { name: 'free', dir: 'frontend/dist/free', title: 'ExecFabric personal edition' },
  // The documentation site (VitePress, from docs/; frontend/build.ts): static pages, no API of its own.
  docs: { name: 'docs', dir: 'frontend/dist/docs', title: 'ExecFabric documentation' },
};

export const table: TableSpec = {
  partitionKey: 'PK',
  sortKey: 'SK',
  ttlAttribute: 'expiresAtEpoch',
  indexes: [
    {
      name: 'GSI1',
      partitionKey: 'GSI1PK',
      sortKey: 'GSI1SK',
      purpose:
        'listings that must not scan: tenants, executions by status (approvals inbox), security audit entries, suppressed security-event windows, the platform’s own hosts',
    },
    {
      name: 'GSI2',
      partitionKey: 'GSI2PK',
      sortKey: 'GSI2SK',
      purpose:
        'lifecycle index: tenants by phase and expiry; unfinished executions by deadline; host onboardings due a check',
    },
    {
      name: 'GSI3',
      partitionKey: 'GSI3PK',
      sortKey: 'GSI3SK',
      purpose: 'filtered listings: runs by status, audit entries by actor',
    },
    {
      name: 'GSI4',
      partitionKey: 'GSI4PK',
      sortKey: 'GSI4SK',
      purpose: 'filtered listings: runs by Skill, audit entries by target',
    },
    {
      name: 'GSI5',
      partitionKey: 'GSI5PK',
      sortKey: 'GSI5SK',
      purpose: 'filtered listings: runs by requester, audit entries by action',
    },
  ],
};

/** The claims table holds one item per claimed job, so a redelivered message is never run twice. */
export const claimsTable = { partitionKey: 'jobId', ttlAttribute: 'expiresAtEpoch' } as const;

export const topology = {
  functions,
  queues,
  apiPaths,
  routes,
  schedules,
  sites,
  table,
  claimsTable,
} as const;
export type Topology = typeof topology;
