/**
 * The polls an agent may hold waiting at once, whoever serves them (Agents.poll).
 *
 * Where one process serves every request (the local platform) the process's count is the whole
 * bound. On Lambda each instance of the tenant API serves one request at a time, so the count of one
 * process bounds nothing: one agent's token sending polls at once held one instance each, 10 s each,
 * as many as the function's concurrency allowed, and every other tenant's requests met the throttle.
 * There, each waiting poll holds a slot item of its agent in the tenant's own partition
 * (`POLLSLOT#<agent>#nn`, store/leased-slots.ts) with a lease; a poll beyond them takes a job if one
 * is free, and is otherwise turned away at once (429, `Retry-After`: Agents.poll). A tenant's agents
 * hold at most MAX_POLLS_PER_AGENT × MAX_AGENTS instances so.
 */
import type { Table } from '../db.ts';
import { HeldCounts } from '../held-counts.ts';
import { TAG } from '../keys.ts';
import { LeasedSlots, type SlotRelease } from '../store/leased-slots.ts';
import type { TenantContext } from '../tenancy/domain.ts';

/**
 * Polls one agent may hold waiting at once: an agent process holds one, and a second covers the poll
 * a restarted agent left behind.
 */
export const MAX_POLLS_PER_AGENT = 2;

export interface PollSlots {
  /** One of the agent's waiting polls, for `seconds` at most: its release, or null when it holds them all. */
  take(domain: TenantContext, agentName: string, seconds: number): Promise<SlotRelease | null>;
}

/**
 * Agent (tenant and name) or tenant → polls it holds now. The process's one count: every `Agents` of
 * the process (each warm instance of the API has its own) counts here, as RunEnds does for waits.
 */
export const processPolls = new HeldCounts();

/** The key of an agent's polls in this process's count. */
export function agentPollKey(domain: TenantContext, agentName: string): string {
  return JSON.stringify([domain.tenant.id, agentName]);
}

/** The key of a tenant's polls reading the table, in this process's count. */
export function readingPollKey(domain: TenantContext): string {
  return JSON.stringify([domain.tenant.id]);
}

/** An agent's waiting polls in this process: the whole bound where one process serves every request. */
export function processPollSlots(max = MAX_POLLS_PER_AGENT): PollSlots {
  return {
    take: async (domain, agentName) => {
      const release = processPolls.take(agentPollKey(domain, agentName), max);
      return release === null ? null : async () => release();
    },
  };
}

/** An agent's waiting polls in every process that shares the table: one leased slot item each. */
export class PollSlotRepository implements PollSlots {
  readonly #slots: LeasedSlots;

  constructor(table: Table, options: { readonly max?: number; readonly now?: () => number } = {}) {
    this.#slots = new LeasedSlots(table, {
      ...options,
      tag: TAG.pollSlot,
      max: options.max ?? MAX_POLLS_PER_AGENT,
    });
  }

  take(domain: TenantContext, agentName: string, seconds: number): Promise<SlotRelease | null> {
    return this.#slots.take(domain, [agentName], seconds);
  }
}
