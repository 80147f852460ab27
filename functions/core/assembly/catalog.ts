/**
 * The catalog core: a tenant's Skills and what they bind — scripts, HTTP resources and the executors
 * that check a binding — with the audit, the directory, parameters, plan quotas and extension data's
 * collections, built once on one table. Installing a template needs this and nothing of runs: the
 * free entry builds it alone (free-entry.ts), with the Python script's executor only; the run core
 * builds on it (runs.ts), adding the HTTP and local-agent executors (with the agents) and wiring its
 * approvals into what a change re-checks.
 */
import { type ScriptChecker, ScriptCheckUnavailableError } from '../assets/checker.ts';
import { ScriptAssets } from '../assets/scripts.ts';
import { AuditLog } from '../audit/chain.ts';
import { type OnUnavailable, withdrawnError } from '../availability.ts';
import { SkillCatalog } from '../catalog/skills.ts';
import { Collections } from '../data/collections.ts';
import type { Table } from '../db.ts';
import type { Environment } from '../env.ts';
import type { Execution, ExecutionError } from '../executions/executions.ts';
import { PythonScriptExecutor } from '../executors/python-script.ts';
import { type Executor, ExecutorRegistry } from '../executors/registry.ts';
import { Parameters } from '../foundation/parameters.ts';
import { createHttpResources } from '../http-resources/index.ts';
import type { HttpResources } from '../http-resources/resources.ts';
import { Directory } from '../identity/directory.ts';
import type { MessageSigner } from '../messages/signing.ts';
import { Queues } from '../queues.ts';
import { allSchedules } from '../schedules/schedule-repository.ts';
import type { CredentialStore } from '../secrets/store.ts';
import type { TenantContext } from '../tenancy/domain.ts';
import { HostDirectory } from '../tenancy/hosts.ts';
import { PlanQuotas } from '../tenancy/quotas.ts';

export interface CatalogCoreOptions {
  readonly table: Table;
  /** The audit chain the catalog writes to. @default a new one on `table` */
  readonly audit?: AuditLog;
  /** The hosts that resolve domains (the sign-in core's, where one is built). @default a new one on `table` */
  readonly hosts?: HostDirectory;
  /** Users and roles (the sign-in core's, where one is built). @default a new one on `table` */
  readonly directory?: Directory;
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

/**
 * What a change to a tenant's Skills or their assets re-checks: the pending approvals a predicate
 * picks (the run core wires its approvals in; a function that keeps no runs has none to re-check).
 */
export type Revalidate = (
  domain: TenantContext,
  actor: string,
  predicate: (execution: Execution) => boolean,
) => Promise<void>;

/** What the executors beside the Python script's are built from. */
export interface ExecutorParts {
  readonly scripts: ScriptAssets;
  readonly httpResources: HttpResources;
  readonly queues: Queues;
}

/** Withdraws the runs not started yet that `predicate` names, each closed with `error`. */
export type Withdraw = (
  domain: TenantContext,
  actor: string,
  predicate: (execution: Execution) => boolean,
  error: ExecutionError,
) => Promise<void>;

export interface CatalogWiring {
  /** @default nothing to re-check */
  readonly revalidate?: Revalidate;
  /** @default nothing to withdraw (a function that runs nothing) */
  readonly withdraw?: Withdraw;
  /**
   * The executors of the other asset kinds, whose bindings the catalog checks. @default none: only
   * `python-script` Skills (what a template installs)
   */
  readonly executors?: (parts: ExecutorParts) => readonly Executor[];
}

export function createCatalogCore(options: CatalogCoreOptions, wiring: CatalogWiring = {}) {
  const revalidate = wiring.revalidate ?? (async () => {});
  const withdraw = wiring.withdraw ?? (async () => {});
  // A Skill or script taken out of use: its runs not started are withdrawn, with what happened.
  const onUnavailable: OnUnavailable = (domain, taken, actor) =>
    withdraw(
      domain,
      actor,
      taken.subject === 'Skill'
        ? (execution) => execution.skillId === taken.id
        : (execution) => execution.asset.id === taken.id,
      withdrawnError(taken, actor),
    );
  const { table } = options;
  const env = options.env ?? {};
  const now = options.now ?? (() => new Date());
  const hosts = options.hosts ?? new HostDirectory({ table, now: () => now().getTime() });
  const audit = options.audit ?? new AuditLog({ table, now });
  const directory =
    options.directory ?? new Directory({ table, audit, superAdmins: options.superAdmins ?? [], now });
  const parameters = new Parameters({ table, audit, now });
  const queues = options.queues ?? new Queues(undefined, {});
  const scripts = new ScriptAssets({
    table,
    audit,
    checker: options.checker ?? noChecker,
    now,
    onActivated: (domain, assetId, actor) =>
      revalidate(domain, actor, (execution) => execution.asset.id === assetId),
    onUnavailable,
  });
  const httpResources = createHttpResources({
    table,
    audit,
    now,
    credentials: options.credentials,
    env,
    revalidate,
  });
  const pythonScripts = new PythonScriptExecutor({
    assets: scripts,
    queues,
    resources: httpResources,
    parameters,
    now,
    ...(options.signer === undefined ? {} : { signer: options.signer }),
  });
  const executors = new ExecutorRegistry().register(pythonScripts);
  for (const executor of wiring.executors?.({ scripts, httpResources, queues }) ?? [])
    executors.register(executor);
  // Plan quotas: runs per day, Skills, schedules and users kept (atomic counters), shown with what is left.
  // Schedules are counted from their repository: a function without the schedules service counts alike.
  const quotas: PlanQuotas = new PlanQuotas({
    table,
    now,
    keptIds: {
      skills: async (domain) => {
        const ids: string[] = [];
        for await (const skill of skills.all(domain)) if (skill.state !== 'archived') ids.push(skill.id);
        return ids;
      },
      schedules: async (domain) => (await allSchedules(table, domain)).map((schedule) => schedule.id),
      // Users are counted by the directory as it makes them; this only reads the same count.
      users: (domain) => directory.usernames(domain),
    },
  });
  // A tenant's extension data: the collections admins define (their records are the run core's).
  const collections = new Collections({ table, audit, now });
  const skills: SkillCatalog = new SkillCatalog({
    table,
    audit,
    executors,
    now,
    egressCheck: (domain, ids) => httpResources.checkEgress(domain, ids),
    collectionCheck: (domain, names) => collections.checkDeclared(domain, names),
    onChanged: (domain, skillId, actor) =>
      revalidate(domain, actor, (execution) => execution.skillId === skillId),
    onUnavailable,
    quota: quotas,
  });
  collections.attachUsers(async (domain, name) => {
    const declaring: string[] = [];
    for await (const skill of skills.all(domain)) {
      if (skill.collections?.includes(name) === true) declaring.push(skill.id);
    }
    return declaring;
  });
  return {
    table,
    now,
    hosts,
    audit,
    directory,
    parameters,
    queues,
    scripts,
    pythonScripts,
    executors,
    skills,
    collections,
    quotas,
    // HTTP resources (public domain) and the tenants' read-only view of their grants.
    httpResources,
  };
}

export type CatalogCore = ReturnType<typeof createCatalogCore>;
