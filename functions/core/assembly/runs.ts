/**
 * The run core: what requesting, dispatching, recording and deciding runs needs, built once on one
 * table — the catalog core (the audit, the directory, Skills and their assets, HTTP resources,
 * executors, plan quotas, collections) with the agents and their executor, and on it approvals,
 * executions and extension data's records. The functions that only run and record (the results
 * recorder, schedule-fire with its schedules, the lifecycle scan with governance) build this alone;
 * the APIs build it with sign-in (signed-in.ts) and what their routes add (api.ts, tenant.ts), and
 * `createCore` (platform.ts) everything, for the local platform and the tests. The free entry builds
 * the catalog core alone (free-entry.ts).
 */
import { Agents } from '../agents/agents.ts';
import type { PollSlots } from '../agents/poll-slots.ts';
import { AuditLog } from '../audit/chain.ts';
import { assertRunnable } from '../availability.ts';
import type { Skill } from '../catalog/skills.ts';
import { Records } from '../data/records.ts';
import { NotFoundError } from '../errors.ts';
import { Approvals } from '../executions/approvals.ts';
import { ExecutionRepository } from '../executions/execution-repository.ts';
import { Executions, type Runnable } from '../executions/executions.ts';
import type { JobClaims } from '../executions/job-claim-repository.ts';
import { RunWaits } from '../executions/run-waits.ts';
import type { WaitSlots } from '../executions/wait-slots.ts';
import { HttpExecutor } from '../executors/http.ts';
import { agentOf, LOCAL_AGENT_KIND, LocalAgentExecutor } from '../executors/local-agent.ts';
import { Announcements } from '../foundation/announcements.ts';
import { SecurityEvents } from '../security/events.ts';
import type { TenantContext } from '../tenancy/domain.ts';
import { type CatalogCoreOptions, createCatalogCore } from './catalog.ts';

export interface RunCoreOptions extends CatalogCoreOptions {
  /**
   * The polls an agent may hold waiting at once: as `waitSlots`, the table's where the API runs as
   * many processes. @default this process's (agents/poll-slots.ts)
   */
  readonly pollSlots?: PollSlots;
  /** Job claims, so cancelling a queued run keeps any worker from starting it. @default none */
  readonly claims?: JobClaims;
  /**
   * The waits a tenant may hold at once (`Prefer: wait`): the table's leased slots where the API runs
   * as many processes (Lambda), else this process's. @default this process's (wait-slots.ts)
   */
  readonly waitSlots?: WaitSlots;
  /** Where refused tokens and privileged requests are recorded (the sign-in core's). @default new ones on `table` */
  readonly securityEvents?: SecurityEvents;
}

export function createRunCore(options: RunCoreOptions) {
  const { table } = options;
  const now = options.now ?? (() => new Date());
  const audit = options.audit ?? new AuditLog({ table, now });
  // Local agents: customers' machines that run `local-agent` Skills (they poll the tenant API).
  const agents = new Agents({
    table,
    audit,
    now,
    ...(options.pollSlots === undefined ? {} : { pollSlots: options.pollSlots }),
    runWaiting: async (domain, executionId) => {
      const run = await runItems.find(domain, executionId);
      return run !== null && (run.status === 'requested' || run.status === 'queued');
    },
  });
  let localAgent: LocalAgentExecutor | undefined;
  const catalog = createCatalogCore(
    { ...options, audit, now },
    {
      // Changes re-check the pending approvals bound to what changed (`approvals` is built below).
      revalidate: async (domain, actor, predicate) => {
        await approvals.revalidate(domain, actor, predicate);
      },
      withdraw: async (domain, actor, predicate, error) => {
        await executions.withdrawWaiting(domain, predicate, error, actor);
      },
      executors: ({ scripts, httpResources, queues }) => {
        localAgent = new LocalAgentExecutor(scripts, agents);
        return [new HttpExecutor(httpResources, queues), localAgent];
      },
    },
  );
  const { directory, parameters, skills, executors, pythonScripts, httpResources, quotas } = catalog;
  // Approval notices are shown while their run waits for the reader's decision (read per page),
  // and removed once it is decided.
  const runItems = new ExecutionRepository(table);
  const announcements = new Announcements({
    table,
    audit,
    now,
    awaiting: (domain, approver, ids) =>
      domain.kind === 'tenant'
        ? runItems.awaitingDecision(domain, approver, ids)
        : Promise.resolve({ awaiting: new Set(), decided: new Set() }),
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
    if (skill.asset.kind === LOCAL_AGENT_KIND && localAgent !== undefined) {
      const { resolved, script } = await localAgent.resolveWithScript(domain, skill.asset);
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
    onPendingApproval: (domain, execution, skill) => approvals.notify(domain, execution, skill),
    approvable: (domain, skill, requester) => approvals.assertApprovable(domain, skill, requester),
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
  // Why a run that has not started waits (its agent, its plan's limit on runs at once).
  const runWaits = new RunWaits({
    table,
    executors,
    agentReason: (domain, agent) => agents.waitingReason(domain, agent),
  });

  // Refused tokens, privileged requests and internal messages, in each domain's audit (rate-limited).
  const securityEvents = options.securityEvents ?? new SecurityEvents({ table, audit, now });

  return {
    table,
    now,
    hosts: catalog.hosts,
    audit,
    securityEvents,
    directory,
    parameters,
    announcements,
    scripts: catalog.scripts,
    executors,
    agents,
    skills,
    executions,
    runWaits,
    approvals,
    collections: catalog.collections,
    records: new Records({ table, now }),
    quotas,
    // HTTP resources (public domain) and the tenants' read-only view of their grants.
    httpResources,
  };
}

export type RunCore = ReturnType<typeof createRunCore>;
