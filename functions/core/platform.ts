/**
 * The governance core assembled for one process: every service built once on the same table and
 * clients, so handlers (and the local platform, and tests) construct it in one call at module scope.
 */
import { randomBytes } from 'node:crypto';
import { Agents } from './agents/agents.ts';
import { type ScriptChecker, ScriptCheckUnavailableError } from './assets/checker.ts';
import { ScriptAssets } from './assets/scripts.ts';
import { AuditLog } from './audit/chain.ts';
import { assertRunnable } from './availability.ts';
import { type Skill, SkillCatalog } from './catalog/skills.ts';
import { Collections } from './data/collections.ts';
import { Records } from './data/records.ts';
import type { Table } from './db.ts';
import type { Environment } from './env.ts';
import { NotFoundError } from './errors.ts';
import { Approvals } from './executions/approvals.ts';
import type { JobClaims } from './executions/claims.ts';
import { type Execution, Executions, type Runnable } from './executions/executions.ts';
import { HttpExecutor } from './executors/http.ts';
import { agentOf, LocalAgentExecutor } from './executors/local-agent.ts';
import { PythonScriptExecutor } from './executors/python-script.ts';
import { ExecutorRegistry } from './executors/registry.ts';
import { Announcements } from './foundation/announcements.ts';
import { Parameters } from './foundation/parameters.ts';
import { createFreeEdition } from './free/index.ts';
import type { SignupLimits } from './free/signups.ts';
import { createGovernance, type HostEdge } from './governance/index.ts';
import { createHttpResources } from './http-resources/index.ts';
import { Auth } from './identity/auth.ts';
import { Directory } from './identity/directory.ts';
import { McpClients } from './mcp/clients.ts';
import { McpService } from './mcp/service.ts';
import type { MessageSigner } from './messages/signing.ts';
import { setCursorKey } from './pagination.ts';
import { Queues } from './queues.ts';
import { type TenantSchedulerPort, tenantSchedulerFromEnv } from './schedules/scheduler-port.ts';
import { Schedules } from './schedules/schedules.ts';
import type { CredentialStore } from './secrets/store.ts';
import { SecurityEvents } from './security/events.ts';
import { Templates } from './templates/templates.ts';
import type { TenantContext } from './tenancy/domain.ts';
import { HostDirectory, tenantContext } from './tenancy/hosts.ts';
import { PlanQuotas } from './tenancy/quotas.ts';
import { TenantRegistry } from './tenancy/tenants.ts';

export interface CoreOptions {
  readonly table: Table;
  /**
   * Key of session signatures. Only the API functions verify tokens; elsewhere it may be omitted and a
   * throwaway key is used, so no token could be minted or accepted by that process.
   */
  readonly tokenSecret?: string;
  /** Public-domain usernames configured as super-admins. @default [] */
  readonly superAdmins?: readonly string[];
  /** Queues this function may send to. @default none (sending throws) */
  readonly queues?: Queues;
  /** Message keys this function holds (seals the egress grants of script jobs). @default none */
  readonly signer?: MessageSigner;
  /** The Python runtime's syntax check. @default none (script uploads are refused) */
  readonly checker?: ScriptChecker;
  /** Governance: where tenant hosts are attached. @default CloudFront when configured, else the binding alone */
  readonly hostEdge?: HostEdge;
  /** HTTP resource credentials. @default the store the environment names (see secrets/from-env.ts) */
  readonly credentials?: CredentialStore;
  /** Job claims, so cancelling a queued run keeps any worker from starting it. @default none */
  readonly claims?: JobClaims;
  /** Where tenant schedules fire from. @default EventBridge Scheduler when the environment names a group, else the table alone (the local ticker) */
  readonly tenantScheduler?: TenantSchedulerPort;
  /** The free entry's sign-up limits. @default DEFAULT_SIGNUP_LIMITS (free/signups.ts) */
  readonly signupLimits?: SignupLimits;
  /**
   * The function's configuration: the platform's own hosts, the credential store, the local-development
   * switch, the tenant scheduler. Handlers pass the environment they were configured with (Lambda's
   * process environment, or the local platform's record). @default {} (nothing configured)
   */
  readonly env?: Environment;
  readonly now?: () => Date;
}

const noChecker: ScriptChecker = {
  check: async () => {
    throw new ScriptCheckUnavailableError('This function cannot check scripts');
  },
};

export function createCore(options: CoreOptions) {
  const { table } = options;
  const env = options.env ?? {};
  // Cursors issued by one API container must be accepted by the others: sign them with the shared secret.
  if (options.tokenSecret !== undefined) setCursorKey(options.tokenSecret);
  const now = options.now ?? (() => new Date());
  const hosts = new HostDirectory({ table, now: () => now().getTime() });
  const audit = new AuditLog({ table, now });
  const directory = new Directory({ table, audit, superAdmins: options.superAdmins ?? [], now });
  const auth = new Auth({
    table,
    directory,
    audit,
    tokenSecret: options.tokenSecret ?? randomBytes(32).toString('hex'),
    now,
  });

  // Skills, assets, the execution pipeline and approvals.
  const parameters = new Parameters({ table, audit, now });
  const announcements = new Announcements({ table, audit, now });
  const queues = options.queues ?? new Queues(undefined, {});
  // Changes re-check the pending approvals bound to what changed (wired once `approvals` exists).
  const revalidate =
    (predicate: (execution: Execution) => boolean) =>
    async (domain: TenantContext, _id: string, actor: string): Promise<void> => {
      await approvals.revalidate(domain, actor, predicate);
    };
  const scripts = new ScriptAssets({
    table,
    audit,
    checker: options.checker ?? noChecker,
    now,
    onActivated: (domain, assetId, actor) =>
      revalidate((execution) => execution.asset.id === assetId)(domain, assetId, actor),
  });
  const httpResources = createHttpResources({
    table,
    audit,
    now,
    credentials: options.credentials,
    env,
    revalidate: (domain, actor, predicate) => approvals.revalidate(domain, actor, predicate),
  });
  // Local agents: customers' machines that run `local-agent` Skills (they poll the tenant API).
  const agents = new Agents({ table, audit, now });
  const pythonScripts = new PythonScriptExecutor({
    assets: scripts,
    queues,
    resources: httpResources,
    parameters,
    now,
    ...(options.signer === undefined ? {} : { signer: options.signer }),
  });
  const executors = new ExecutorRegistry()
    .register(pythonScripts)
    .register(new HttpExecutor(httpResources, queues))
    .register(new LocalAgentExecutor(scripts, agents));
  // Plan quotas: runs per day, Skills and schedules kept (atomic counters), shown with what is left.
  const quotas: PlanQuotas = new PlanQuotas({
    table,
    now,
    keptIds: {
      skills: async (domain) => {
        const ids: string[] = [];
        for await (const skill of skills.all(domain)) if (skill.state !== 'archived') ids.push(skill.id);
        return ids;
      },
      schedules: (domain) => schedules.ids(domain),
    },
  });
  // A tenant's extension data: collections (admins define them) and their records (scripts and the API).
  const collections = new Collections({ table, audit, now });
  const records = new Records({ table, now });
  const skills: SkillCatalog = new SkillCatalog({
    table,
    audit,
    executors,
    now,
    egressCheck: (domain, ids) => httpResources.checkEgress(domain, ids),
    collectionCheck: (domain, names) => collections.checkDeclared(domain, names),
    onChanged: (domain, skillId, actor) =>
      revalidate((execution) => execution.skillId === skillId)(domain, skillId, actor),
    quota: quotas,
  });
  // A run (or an approval) needs the Skill and its asset active; the asset's name goes on the run.
  // A script is read once: the version it resolves to comes back with it (the run uses it).
  const runnable = async (domain: TenantContext, skill: Skill): Promise<Runnable> => {
    assertRunnable('Skill', skill.name, skill.id, skill.state);
    if (skill.asset.kind === 'python-script') {
      const { resolved, script } = await pythonScripts.resolveWithScript(domain, skill.asset);
      assertRunnable('script', script.name, script.id, script.state);
      return { assetName: script.name, asset: resolved };
    }
    if (skill.asset.kind === 'http') {
      const resource = await httpResources.forTenant(domain, skill.asset.id).catch((error: unknown) => {
        // A resource no longer granted is reported by the executor's own resolution.
        if (error instanceof NotFoundError) return null;
        throw error;
      });
      if (resource === null) return {};
      assertRunnable('HTTP resource', resource.name, resource.id, resource.state);
      return { assetName: resource.name };
    }
    return {};
  };
  const approvals: Approvals = new Approvals({
    table,
    audit,
    skills,
    directory,
    announcements,
    parameters,
    now,
    runnable,
  });
  const executions = new Executions({
    table,
    audit,
    skills,
    executors,
    now,
    approvalTtlSeconds: (domain) => approvals.ttlSeconds(domain),
    onPendingApproval: (domain, execution) => approvals.notify(domain, execution),
    runnable,
    ...(options.claims === undefined ? {} : { claims: options.claims }),
    runQuota: (domain, executionId) => quotas.reserveRun(domain, executionId),
    notStartedError: async (domain, execution) => {
      const agent = agentOf(execution.asset);
      return agent === null ? null : agents.notStartedError(domain, agent);
    },
  });
  approvals.attach(executions);
  collections.attachUsers(async (domain, name) => {
    const declaring: string[] = [];
    for await (const skill of skills.all(domain)) {
      if (skill.collections?.includes(name) === true) declaring.push(skill.id);
    }
    return declaring;
  });
  // Tenant schedules: fired by EventBridge Scheduler in AWS, by the local ticker on one machine.
  const schedules = new Schedules({
    table,
    audit,
    skills,
    executions,
    directory,
    scheduler: options.tenantScheduler ?? tenantSchedulerFromEnv(options.signer, env),
    tenant: (tenantId) => tenantContext(table, tenantId),
    now,
    quota: quotas,
  });
  // AI clients (MCP): their tokens, scopes and call logs, and the Skills they reach as tools.
  const mcpClients = new McpClients({ table, audit, directory, skills, now });
  const mcp = new McpService({ skills, executions, approvals, clients: mcpClients });
  const tenants = new TenantRegistry({ table, hosts, now });
  const templates = new Templates({
    table,
    audit,
    scripts,
    skills,
    checker: options.checker ?? noChecker,
    tenantIds: async function* () {
      let cursor: string | undefined;
      do {
        const page = await tenants.list(100, cursor);
        for (const tenant of page.items) yield tenant.id;
        cursor = page.cursor;
      } while (cursor !== undefined);
    },
    now,
  });

  // Refused tokens, privileged requests and internal messages, in each domain's audit (rate-limited).
  const securityEvents = new SecurityEvents({ table, audit, now });

  // Governance (public domain): tenants and hosts, customers, orders, lifecycle scans, platform announcements.
  const governance = createGovernance({
    table,
    audit,
    hosts,
    executions,
    env,
    now,
    ...(options.hostEdge === undefined ? {} : { hostEdge: options.hostEdge }),
  });
  // The free personal edition: sign-up, handoffs, leads, offered templates, personal spaces.
  const free = createFreeEdition({
    table,
    audit,
    hosts,
    registry: tenants,
    directory,
    templates,
    governance,
    now,
    ...(options.signupLimits === undefined ? {} : { limits: options.signupLimits }),
  });

  return {
    table,
    now,
    hosts,
    audit,
    securityEvents,
    directory,
    auth,
    tenants,
    parameters,
    announcements,
    scripts,
    executors,
    agents,
    skills,
    executions,
    approvals,
    mcpClients,
    mcp,
    collections,
    records,
    schedules,
    quotas,
    // Platform templates: authored in the public domain, installed by tenants.
    templates,
    // HTTP resources (public domain) and the tenants' read-only view of their grants.
    httpResources,
    governance,
    free,
  };
}

export type Core = ReturnType<typeof createCore>;

/** `a, b ,c` → `['a', 'b', 'c']` (the configured super-admin list). */
export function parseList(value: string | undefined): string[] {
  return (value ?? '')
    .split(',')
    .map((item) => item.trim())
    .filter((item) => item !== '');
}
