/**
 * The run core: what requesting, dispatching, recording and deciding runs needs, built once on one
 * table — the audit, the directory (approvers), Skills and their assets, HTTP resources, executors,
 * plan quotas, extension data, approvals and executions. The functions that only run and record
 * (the results recorder, schedule-fire with its schedules, the lifecycle scan with governance)
 * build this alone; `createCore` (platform.ts) builds it and adds sign-in, schedules, MCP,
 * templates, governance and the free edition for the APIs and the local platform.
 */
import { Agents } from '../agents/agents.ts';
import type { PollSlots } from '../agents/poll-slots.ts';
import { type ScriptChecker, ScriptCheckUnavailableError } from '../assets/checker.ts';
import { ScriptAssets } from '../assets/scripts.ts';
import { AuditLog } from '../audit/chain.ts';
import { assertRunnable } from '../availability.ts';
import { type Skill, SkillCatalog } from '../catalog/skills.ts';
import { Collections } from '../data/collections.ts';
import { Records } from '../data/records.ts';
import type { Table } from '../db.ts';
import type { Environment } from '../env.ts';
import { NotFoundError } from '../errors.ts';
import { Approvals } from '../executions/approvals.ts';
import { type Execution, Executions, type Runnable } from '../executions/executions.ts';
import type { JobClaims } from '../executions/job-claim-repository.ts';
import type { WaitSlots } from '../executions/wait-slots.ts';
import { HttpExecutor } from '../executors/http.ts';
import { agentOf, LocalAgentExecutor } from '../executors/local-agent.ts';
import { PythonScriptExecutor } from '../executors/python-script.ts';
import { ExecutorRegistry } from '../executors/registry.ts';
import { Announcements } from '../foundation/announcements.ts';
import { Parameters } from '../foundation/parameters.ts';
import { createHttpResources } from '../http-resources/index.ts';
import { Directory } from '../identity/directory.ts';
import type { MessageSigner } from '../messages/signing.ts';
import { Queues } from '../queues.ts';
import { ScheduleRepository } from '../schedules/schedule-repository.ts';
import type { CredentialStore } from '../secrets/store.ts';
import { SecurityEvents } from '../security/events.ts';
import type { TenantContext } from '../tenancy/domain.ts';
import { HostDirectory } from '../tenancy/hosts.ts';
import { PlanQuotas } from '../tenancy/quotas.ts';

export interface RunCoreOptions {
  readonly table: Table;
  /** Public-domain usernames configured as super-admins. @default [] */
  readonly superAdmins?: readonly string[];
  /** Queues this function may send to. @default none (sending throws) */
  readonly queues?: Queues;
  /** Message keys this function holds (seals the egress grants of script jobs). @default none */
  readonly signer?: MessageSigner;
  /** The Python runtime's syntax check. @default none (script uploads are refused) */
  readonly checker?: ScriptChecker;
  /** HTTP resource credentials. @default the store the environment names (see secrets/from-env.ts) */
  readonly credentials?: CredentialStore;
  /** Job claims, so cancelling a queued run keeps any worker from starting it. @default none */
  readonly claims?: JobClaims;
  /**
   * The waits a tenant may hold at once (`Prefer: wait`): the table's leased slots where the API runs
   * as many processes (Lambda), else this process's. @default this process's (wait-slots.ts)
   */
  readonly waitSlots?: WaitSlots;
  /**
   * The polls an agent may hold waiting at once: as `waitSlots`, the table's where the API runs as
   * many processes. @default this process's (agents/poll-slots.ts)
   */
  readonly pollSlots?: PollSlots;
  /**
   * The function's configuration: the platform's own hosts, the credential store, the local-development
   * switch, the tenant scheduler. Handlers pass the environment they were configured with (Lambda's
   * process environment, or the local platform's record). @default {} (nothing configured)
   */
  readonly env?: Environment;
  readonly now?: () => Date;
}

/** The checker of a function that may not check scripts: every upload is refused. */
export const noChecker: ScriptChecker = {
  check: async () => {
    throw new ScriptCheckUnavailableError('This function cannot check scripts');
  },
};

export function createRunCore(options: RunCoreOptions) {
  const { table } = options;
  const env = options.env ?? {};
  const now = options.now ?? (() => new Date());
  const hosts = new HostDirectory({ table, now: () => now().getTime() });
  const audit = new AuditLog({ table, now });
  const directory = new Directory({ table, audit, superAdmins: options.superAdmins ?? [], now });

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
  const agents = new Agents({
    table,
    audit,
    now,
    ...(options.pollSlots === undefined ? {} : { pollSlots: options.pollSlots }),
  });
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
  // Schedules are counted from their repository: a function without the schedules service counts alike.
  const scheduleStore = new ScheduleRepository(table);
  const quotas: PlanQuotas = new PlanQuotas({
    table,
    now,
    keptIds: {
      skills: async (domain) => {
        const ids: string[] = [];
        for await (const skill of skills.all(domain)) if (skill.state !== 'archived') ids.push(skill.id);
        return ids;
      },
      schedules: async (domain) => (await scheduleStore.all(domain)).map((schedule) => schedule.id),
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
    ...(options.waitSlots === undefined ? {} : { waitSlots: options.waitSlots }),
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

  // Refused tokens, privileged requests and internal messages, in each domain's audit (rate-limited).
  const securityEvents = new SecurityEvents({ table, audit, now });

  return {
    table,
    now,
    hosts,
    audit,
    securityEvents,
    directory,
    parameters,
    announcements,
    scripts,
    executors,
    agents,
    skills,
    executions,
    approvals,
    collections,
    records,
    quotas,
    // HTTP resources (public domain) and the tenants' read-only view of their grants.
    httpResources,
  };
}

export type RunCore = ReturnType<typeof createRunCore>;
