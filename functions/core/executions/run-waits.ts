/**
 * Why a run that has not started waits, in a sentence for its answer's `waitingFor` (the run's page,
 * the listing, the MCP envelope, the CLI):
 * - a run of a local agent names the agent's state (offline, never connected, revoked: agents.ts);
 * - a queued run of a kind whose runtime runs only so many of a tenant's runs at once (the plan's
 *   `concurrentRuns`, held by the script dispatcher: slots.ts, wait-list.ts) says that the limit is
 *   full and that it starts when a running run ends — when that many runs of its kind are running.
 *
 * The second is read from the tenant's own listing of running runs, not from the dispatcher's slots:
 * the slots live in the coordination table, which the tenant API may not read (only the dispatcher
 * holds them, lib/topology.ts), and a count of running runs is what a user can check on the runs page.
 * The two agree but for a moment: a run handed a slot shows `queued` until its worker starts it (the
 * sentence is then left out: nothing is said rather than something wrong), and a run that ended
 * gives its slot back just after its end is stored (the waiting run then starts at once).
 */
import { counted } from '../../contract/wording.ts';
import type { Table } from '../db.ts';
import { agentOf } from '../executors/local-agent.ts';
import type { ExecutorRegistry } from '../executors/registry.ts';
import type { TenantContext } from '../tenancy/domain.ts';
import { ExecutionRepository } from './execution-repository.ts';
import type { Execution } from './model.ts';

export interface RunWaitsOptions {
  readonly table: Table;
  readonly executors: ExecutorRegistry;
  /** Why a run of a local agent has not started (agents.ts `waitingReason`). @default not said */
  readonly agentReason?: (domain: TenantContext, agent: string) => Promise<string>;
}

/**
 * The sentence of a run held by its plan's limit: the limit, and what frees a place. Said of scripts:
 * the one kind whose runtime caps a tenant's runs (plans.ts `concurrentRuns`).
 */
export function placeWaitReason(plan: string, cap: number): string {
  const limit = `${counted(cap, 'script')} at a time and ${cap} ${cap === 1 ? 'is' : 'are'}`;
  const ends = cap === 1 ? 'it ends' : 'one of them ends';
  return `waiting for a free place: the ${plan} plan runs ${limit} running now; this run starts as soon as ${ends}`;
}

export class RunWaits {
  readonly #store: ExecutionRepository;
  readonly #executors: ExecutorRegistry;
  readonly #agentReason: RunWaitsOptions['agentReason'];

  constructor(options: RunWaitsOptions) {
    this.#store = new ExecutionRepository(options.table);
    this.#executors = options.executors;
    this.#agentReason = options.agentReason;
  }

  /**
   * Why each run asked about waits (null when it does not, or nothing is known). One function per
   * answer: it reads each agent and each kind's running runs once, however many runs of a page ask.
   */
  reasons(domain: TenantContext): (execution: Execution) => Promise<string | null> {
    const agents = new Map<string, Promise<string | null>>();
    const kinds = new Map<string, Promise<string | null>>();
    const once = (
      known: Map<string, Promise<string | null>>,
      key: string,
      read: () => Promise<string | null>,
    ) => {
      let reason = known.get(key);
      if (reason === undefined) {
        reason = read();
        known.set(key, reason);
      }
      return reason;
    };
    return async (execution) => {
      if (execution.status !== 'requested' && execution.status !== 'queued') return null;
      const agent = agentOf(execution.asset);
      if (agent !== null) {
        const agentReason = this.#agentReason;
        return agentReason === undefined ? null : once(agents, agent, () => agentReason(domain, agent));
      }
      // A `requested` run's job is being sent: it has not reached the runtime's limit yet.
      if (execution.status !== 'queued') return null;
      const kind = execution.asset.kind;
      return once(kinds, kind, () => this.#placeWait(domain, kind));
    };
  }

  async #placeWait(domain: TenantContext, kind: string): Promise<string | null> {
    const cap = this.#executors.concurrentRuns(domain, kind);
    if (cap === null) return null;
    const running = await this.#store.countRunning(domain, kind, cap);
    return running < cap ? null : placeWaitReason(domain.tenant.plan, cap);
  }
}
