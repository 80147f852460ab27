/**
 * Local agents: processes on a customer's own machine (`execfabric agent --name N`) that run the
 * tenant's `local-agent` Skills with the platform's Python runtime.
 *
 * - An agent is created by a tenant admin, by name; creating (or rotating) gives its token
 *   (`efa_<id>_<secret>`, shown once, stored as SHA-256). The token is the agent's only credential:
 *   it is looked up in the partition of the request's own tenant (so it means nothing on another
 *   tenant's host), must be the agent's current token (rotation and revocation act on the next
 *   request) and names exactly one agent.
 * - A run of a `local-agent` Skill is a job item under its agent, written (once) when the run is
 *   dispatched. The agent long-polls; taking a job is a conditional write that leases it to that
 *   agent with a fresh lease secret (stored hashed), handed to the agent with the job. Reports about
 *   a run need the agent's token *and* that lease; the result report consumes the lease, so it is
 *   accepted once. The agent confirms a lease by reporting the job started; a lease not confirmed
 *   within LEASE_CONFIRM_SECONDS lapses and the job may be leased again (the answer to a poll that
 *   the agent gave up on as it stopped, or that was lost on the way, never reached it: the job
 *   would otherwise sit leased to nobody until its start deadline). A started job is never leased
 *   again: a run whose agent died is closed by the stale-execution sweep, as for any worker that
 *   stopped reporting (its script may have side effects; it is not run twice).
 * - Every poll records the agent's last-seen time and version; an agent seen within
 *   AGENT_ONLINE_SECONDS is online. An agent that stops gracefully says goodbye, and is offline at
 *   once until it is seen again. A run waiting for an offline agent says so.
 */

import { randomBytes } from 'node:crypto';
import { setTimeout as delay } from 'node:timers/promises';
import type { AuditLog } from '../audit/chain.ts';
import type { Table } from '../db.ts';
import {
  AuthenticationError,
  ConflictError,
  NotFoundError,
  RateLimitedError,
  ValidationError,
} from '../errors.ts';
import type { ExecutionError } from '../executions/executions.ts';
import type { PythonJob } from '../executors/python-script.ts';
import { readableUtc } from '../governance/dates.ts';
import { matchesSecretHash, sha256 } from '../hashing.ts';
import type { Caller } from '../identity/caller.ts';
import type { TenantContext } from '../tenancy/domain.ts';
import { AgentRepository, AgentTokenChangedError } from './agent-repository.ts';
import { AGENT_NAME_PATTERN } from './names.ts';
import {
  agentPollKey,
  MAX_POLLS_PER_AGENT,
  type PollSlots,
  processPollSlots,
  processPolls,
  readingPollKey,
} from './poll-slots.ts';

export { AGENT_NAME_PATTERN, MAX_POLLS_PER_AGENT };
/** An agent that polled this recently is online. */
export const AGENT_ONLINE_SECONDS = 60;
/** Longest a poll may wait for a job (well inside the tenant API's 30 s timeout). */
export const MAX_POLL_WAIT_SECONDS = 10;
/** When a poll beyond its agent's cap, with no job to hand over, says to poll again (`Retry-After`). */
export const POLL_AGAIN_SECONDS = 1;
/**
 * Polls of one tenant's agents that read the table while they wait, at once in one process. A poll
 * beyond them waits without reading and takes a job once its wait is over (its agent picks a job up
 * that much later). A reading poll reads every poll interval for up to 10 s; before these bounds one
 * agent's token held as many as it sent: 400 kept another tenant's waited run from answering for
 * 18 s, and 2 each of 50 agents for 9 s.
 */
export const MAX_READING_POLLS_PER_TENANT = 16;

/**
 * A lease the agent has not confirmed (reported the job started) this long after it was handed out
 * lapses: the job goes to the next poll. The agent reports a job started as soon as it gets it.
 */
export const LEASE_CONFIRM_SECONDS = 10;
/** Agents a tenant may have. */
export const MAX_AGENTS = 50;

const TOKEN_PREFIX = 'efa';
const TOKEN_PATTERN = /^efa_([0-9a-f]{16})_([A-Za-z0-9_-]{43})$/;
const LEASE_PATTERN = /^[A-Za-z0-9_-]{43}$/;
const INVALID = 'Invalid agent token';

export interface Agent {
  readonly name: string;
  readonly description: string;
  readonly createdAt: string;
  readonly createdBy: string;
  /** Id of the agent's current token (`null` after revocation). */
  readonly tokenId: string | null;
  readonly tokenCreatedAt: string | null;
  readonly lastSeenAt: string | null;
  /** When the agent last said it was stopping (`null`: never); offline until seen after it. */
  readonly stoppedAt: string | null;
  readonly version: string | null;
  readonly platform: string | null;
}

export type AgentStatus = 'online' | 'offline' | 'never-seen' | 'revoked';

export interface AgentView extends Agent {
  readonly status: AgentStatus;
}

/** What the agent runs: the exact script version, the input and the limits, as a script job has them. */
export type AgentJob = Pick<
  PythonJob,
  'executionId' | 'tenantId' | 'skillId' | 'asset' | 'input' | 'limits' | 'requestedAt'
>;

export class AgentLeaseError extends ConflictError {
  override readonly code = 'agent-lease-refused';
}

export interface AgentsOptions {
  readonly table: Table;
  readonly audit: AuditLog;
  readonly now?: () => Date;
  /** Pause between looks at the job list while a poll waits. @default 500 */
  readonly pollIntervalMs?: number;
  /**
   * The polls an agent may hold waiting at once: the table's leased slots where the API runs as many
   * processes (Lambda), else this process's. @default this process's (poll-slots.ts)
   */
  readonly pollSlots?: PollSlots;
  /**
   * Whether a job's run still waits to start (not cancelled, withdrawn or timed out meanwhile): a
   * job of a run that does not is discarded, never handed out. @default every run waits
   */
  readonly runWaiting?: (domain: TenantContext, executionId: string) => Promise<boolean>;
}

export class Agents {
  readonly #store: AgentRepository;
  readonly #audit: AuditLog;
  readonly #now: () => Date;
  readonly #interval: number;
  readonly #pollSlots: PollSlots;
  readonly #runWaiting: NonNullable<AgentsOptions['runWaiting']>;

  constructor(options: AgentsOptions) {
    this.#store = new AgentRepository(options.table);
    this.#audit = options.audit;
    this.#now = options.now ?? (() => new Date());
    this.#interval = options.pollIntervalMs ?? 500;
    this.#pollSlots = options.pollSlots ?? processPollSlots();
    this.#runWaiting = options.runWaiting ?? (async () => true);
  }

  statusOf(agent: Agent): AgentStatus {
    if (agent.tokenId === null) return 'revoked';
    if (agent.lastSeenAt === null) return 'never-seen';
    if (agent.stoppedAt !== null && agent.stoppedAt >= agent.lastSeenAt) return 'offline';
    const age = this.#now().getTime() - Date.parse(agent.lastSeenAt);
    return age <= AGENT_ONLINE_SECONDS * 1000 ? 'online' : 'offline';
  }

  view(agent: Agent): AgentView {
    return { ...agent, status: this.statusOf(agent) };
  }

  async list(domain: TenantContext): Promise<AgentView[]> {
    const agents: AgentView[] = [];
    for await (const agent of this.#store.all(domain)) agents.push(this.view(agent));
    return agents.sort((a, b) => a.name.localeCompare(b.name));
  }

  async find(domain: TenantContext, name: string): Promise<Agent | null> {
    if (!AGENT_NAME_PATTERN.test(name)) return null;
    return this.#store.find(domain, name);
  }

  async get(domain: TenantContext, name: string): Promise<Agent> {
    const agent = await this.find(domain, name);
    if (agent === null) throw new NotFoundError(`Agent ${name} not found`);
    return agent;
  }

  /** Creates an agent and its first token (returned once). */
  async create(
    domain: TenantContext,
    input: { name: string; description?: string },
    actor: Pick<Caller, 'username' | 'via'>,
  ): Promise<{ agent: AgentView; token: string }> {
    if (!AGENT_NAME_PATTERN.test(input.name)) {
      throw new ValidationError('Invalid agent name', [
        {
          path: 'name',
          message: 'lowercase letters, digits and -, at most 63, starting with a letter or digit',
        },
      ]);
    }
    if ((await this.list(domain)).length >= MAX_AGENTS) {
      throw new ValidationError(`A tenant may have at most ${MAX_AGENTS} agents`, [
        { path: 'name', message: `at most ${MAX_AGENTS} agents` },
      ]);
    }
    const now = this.#now().toISOString();
    const { id, secret, token } = this.#newToken();
    await this.#putToken(domain, input.name, id, secret, now);
    await this.#store.create(
      domain,
      { name: input.name, description: input.description ?? '', createdBy: actor.username, tokenId: id },
      now,
    );
    await this.#audit.record(domain, {
      actor: { username: actor.username, via: actor.via },
      action: 'agent.created',
      target: `agent:${input.name}`,
      details: { tokenId: id },
    });
    return { agent: this.view(await this.get(domain, input.name)), token };
  }

  /** Gives the agent a new token; the old one stops working on its next request. */
  async rotate(
    domain: TenantContext,
    name: string,
    actor: Pick<Caller, 'username' | 'via'>,
  ): Promise<{ agent: AgentView; token: string }> {
    const before = await this.get(domain, name);
    const now = this.#now().toISOString();
    const { id, secret, token } = this.#newToken();
    await this.#putToken(domain, name, id, secret, now);
    await this.#store.setToken(domain, name, id, now);
    if (before.tokenId !== null) await this.#revokeToken(domain, before.tokenId, now);
    await this.#audit.record(domain, {
      actor: { username: actor.username, via: actor.via },
      action: 'agent.token.rotated',
      target: `agent:${name}`,
      details: { tokenId: id, previous: before.tokenId },
    });
    return { agent: this.view(await this.get(domain, name)), token };
  }

  /** Revokes the agent's token: it is refused from its next request on. */
  async revoke(
    domain: TenantContext,
    name: string,
    actor: Pick<Caller, 'username' | 'via'>,
  ): Promise<AgentView> {
    const before = await this.get(domain, name);
    if (before.tokenId === null) return this.view(before);
    const now = this.#now().toISOString();
    await this.#revokeToken(domain, before.tokenId, now);
    await this.#store.setToken(domain, name, null, now);
    await this.#audit.record(domain, {
      actor: { username: actor.username, via: actor.via },
      action: 'agent.token.revoked',
      target: `agent:${name}`,
      details: { tokenId: before.tokenId },
    });
    return this.view(await this.get(domain, name));
  }

  /** The agent an `Authorization: Bearer efa_…` header names, in this tenant only. */
  async authenticate(domain: TenantContext, authorization: string | undefined): Promise<Agent> {
    const match = TOKEN_PATTERN.exec(/^Bearer (\S+)$/i.exec(authorization?.trim() ?? '')?.[1] ?? '');
    if (match === null) throw new AuthenticationError('An agent token is required');
    const [, id = '', secret = ''] = match;
    const stored = await this.#store.token(domain, id);
    const matches = matchesSecretHash(secret, stored?.secretHash);
    if (stored === null || !matches || stored.revoked) {
      throw new AuthenticationError(INVALID);
    }
    const agent = await this.find(domain, stored.agent);
    if (agent === null || agent.tokenId !== id) throw new AuthenticationError(INVALID);
    return agent;
  }

  /** An agent announces itself (on start and with every poll): last seen, version, platform. */
  async seen(
    domain: TenantContext,
    agent: Agent,
    info: { version: string; platform: string },
  ): Promise<AgentView> {
    const now = this.#now().toISOString();
    const written = await this.#store
      .seen(domain, agent.name, agent.tokenId, {
        at: now,
        version: info.version.slice(0, 64),
        platform: info.platform.slice(0, 128),
      })
      .catch((error: unknown) => {
        // Rotated or revoked since this request's token was checked.
        if (error instanceof AgentTokenChangedError) throw new AuthenticationError(INVALID, { cause: error });
        throw error;
      });
    return this.view(written);
  }

  /** An agent says it is stopping: offline from now on, until its next hello or poll. */
  async stopped(domain: TenantContext, agent: Agent): Promise<AgentView> {
    const written = await this.#store
      .stopped(domain, agent.name, agent.tokenId, this.#now().toISOString())
      .catch((error: unknown) => {
        // Rotated or revoked since this request's token was checked.
        if (error instanceof AgentTokenChangedError) throw new AuthenticationError(INVALID, { cause: error });
        throw error;
      });
    return this.view(written);
  }

  /** Queues a run for an agent. Safe to repeat: a job is written once and never reset. */
  async enqueue(domain: TenantContext, agentName: string, job: AgentJob): Promise<void> {
    await this.#store.enqueue(domain, agentName, job, this.#now().toISOString());
  }

  /**
   * Waits up to `waitSeconds` for a job of this agent, leases the oldest one to it and returns it
   * with the lease secret; `null` when none came.
   */
  async poll(
    domain: TenantContext,
    agent: Agent,
    waitSeconds: number,
    signal?: AbortSignal,
  ): Promise<{ job: AgentJob; lease: string } | null> {
    const wait = Math.min(waitSeconds, MAX_POLL_WAIT_SECONDS);
    // Slots that cannot be read now (a store slow for a moment): as a poll beyond its agent's cap —
    // nothing is held that could not be counted.
    const releaseAgent = await this.#pollSlots.take(domain, agent.name, wait).catch(() => null);
    if (releaseAgent === null) {
      // A free job is handed over all the same. Without one, the poll may not wait: a 429 with
      // `Retry-After`, so that the agent does not poll again at once (a 204 would make it).
      const taken = await this.#takeOne(domain, agent);
      if (taken !== null) return taken;
      throw new RateLimitedError(
        `Agent ${agent.name} may not wait now: it holds the ${MAX_POLLS_PER_AGENT} waiting polls it may (or they could not be counted); poll again in ${POLL_AGAIN_SECONDS} s`,
        POLL_AGAIN_SECONDS,
      );
    }
    const releaseReading = processPolls.take(readingPollKey(domain), MAX_READING_POLLS_PER_TENANT);
    try {
      const deadline = Date.now() + wait * 1000;
      if (releaseReading === null) {
        // Its caller may leave meanwhile: a job leased to no one would wait for its lease to lapse.
        await delay(Math.max(0, deadline - Date.now()), undefined, { signal }).catch((error: unknown) => {
          if ((error as Error).name !== 'AbortError') throw error;
        });
        return signal?.aborted === true ? null : await this.#takeOne(domain, agent);
      }
      for (;;) {
        const taken = await this.#takeOne(domain, agent);
        if (taken !== null || Date.now() >= deadline || signal?.aborted === true) return taken;
        await new Promise((resolve) => setTimeout(resolve, Math.min(this.#interval, deadline - Date.now())));
      }
    } finally {
      releaseReading?.();
      // A slot that cannot be given back now is freed by its lease.
      await releaseAgent().catch(() => undefined);
    }
  }

  /** Polls `agentName` holds waiting now, and those of its tenant reading the table, in this process. */
  pollsHeld(domain: TenantContext, agentName: string): { agent: number; reading: number } {
    return {
      agent: processPolls.count(agentPollKey(domain, agentName)),
      reading: processPolls.count(readingPollKey(domain)),
    };
  }

  async #takeOne(domain: TenantContext, agent: Agent): Promise<{ job: AgentJob; lease: string } | null> {
    const now = this.#now();
    const lapsedBefore = new Date(now.getTime() - LEASE_CONFIRM_SECONDS * 1000).toISOString();
    for (const stored of await this.#store.leasable(domain, agent.name, lapsedBefore, 25)) {
      // A run cancelled (or withdrawn: its script disabled) while its job waited here never starts.
      if (!(await this.#runWaiting(domain, stored.job.executionId))) {
        await this.#store.discard(stored.key);
        continue;
      }
      const lease = randomBytes(32).toString('base64url');
      const taken = await this.#store.lease(stored.key, {
        hash: sha256(lease),
        at: now.toISOString(),
        tokenId: agent.tokenId,
        lapsedBefore,
      });
      if (taken) return { job: stored.job, lease };
      // else another poll of this agent took it
    }
    return null;
  }

  /**
   * Checks that a report about `executionId` comes with the lease this agent was handed for it.
   * Another agent's run, another tenant's run, a run never leased and a wrong lease are refused
   * alike (nothing tells them apart).
   */
  async checkLease(
    domain: TenantContext,
    agent: Agent,
    executionId: string,
    lease: string,
  ): Promise<AgentJob> {
    const refused = () => new AgentLeaseError('This agent holds no lease on that run');
    if (!LEASE_PATTERN.test(lease)) throw refused();
    const stored = await this.#store.job(domain, agent.name, executionId);
    const matches = matchesSecretHash(lease, stored?.leaseHash);
    if (stored === null || !matches) {
      throw refused();
    }
    return stored.job;
  }

  /**
   * Confirms the lease on `executionId` as its job starts: from then on the job is never leased
   * again. One conditional write on the lease's hash: refused as `checkLease` refuses (another
   * agent's or tenant's run, a run never leased, a wrong lease), and also when the lease lapsed and
   * the job went to another poll (the agent must then not run it).
   */
  async confirmStarted(
    domain: TenantContext,
    agent: Agent,
    executionId: string,
    lease: string,
  ): Promise<void> {
    const confirmed =
      LEASE_PATTERN.test(lease) &&
      (await this.#store.markStarted(
        domain,
        agent.name,
        executionId,
        sha256(lease),
        this.#now().toISOString(),
      ));
    if (!confirmed) throw new AgentLeaseError('This agent holds no lease on that run');
  }

  /** Ends a lease after its result was recorded; a second result for it is refused. */
  async release(domain: TenantContext, agent: Agent, executionId: string, lease: string): Promise<void> {
    const released = await this.#store.release(domain, agent.name, executionId, sha256(lease));
    if (!released) throw new AgentLeaseError('The result of this run was reported already');
  }

  /** Why a queued run of an agent has not started yet, in words. */
  async waitingReason(domain: TenantContext, agentName: string): Promise<string> {
    const agent = await this.find(domain, agentName);
    if (agent === null) return `waiting for agent ${agentName}, which does not exist`;
    switch (this.statusOf(agent)) {
      case 'online':
        return `waiting for agent ${agentName} (online) to pick it up`;
      case 'revoked':
        return `waiting for agent ${agentName}, whose token is revoked`;
      case 'never-seen':
        return `waiting for agent ${agentName}, which has never connected`;
      default:
        // Offline: seen once (statusOf), so `lastSeenAt` is set.
        return `waiting for agent ${agentName}, which is offline (last seen ${readableUtc(agent.lastSeenAt ?? '') ?? agent.lastSeenAt})`;
    }
  }

  /** The reason a run of an agent that never started is closed with. */
  async notStartedError(domain: TenantContext, agentName: string): Promise<ExecutionError> {
    const agent = await this.find(domain, agentName);
    const status = agent === null ? 'missing' : this.statusOf(agent);
    const reason = await this.waitingReason(domain, agentName);
    return {
      type: status === 'online' ? 'AgentNotStarted' : 'AgentOffline',
      message: `The run was not picked up before its start deadline: ${reason.replace(/^waiting for /, '')}`,
    };
  }

  #newToken(): { id: string; secret: string; token: string } {
    const id = randomBytes(8).toString('hex');
    const secret = randomBytes(32).toString('base64url');
    return { id, secret, token: `${TOKEN_PREFIX}_${id}_${secret}` };
  }

  async #putToken(
    domain: TenantContext,
    agent: string,
    id: string,
    secret: string,
    now: string,
  ): Promise<void> {
    await this.#store.putToken(domain, agent, id, sha256(secret), now);
  }

  async #revokeToken(domain: TenantContext, id: string, now: string): Promise<void> {
    await this.#store.revokeToken(domain, id, now);
  }
}
