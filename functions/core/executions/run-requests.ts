/**
 * Requesting runs: the checks before anything is written (the Skill, its input, the tenant's
 * admission), the idempotency claim, the run's item and its audit entry, and the dispatch to its
 * executor. `Executions` answers for it (`request`, `dispatch`, and the admission of a released
 * run); the rules without I/O are requests.ts, the moves shared by the execution services
 * run-moves.ts.
 */
import { actorOf, canonicalJson } from '../audit/chain.ts';
import { canSee, SKILL_ID_PATTERN, type Skill, type SkillCatalog } from '../catalog/skills.ts';
import { ConflictError, NotFoundError, TenantSuspendedError, ValidationError } from '../errors.ts';
import type { ExecutorRegistry } from '../executors/registry.ts';
import { DAY_MS, GRACE_PERIOD_DAYS, readableUtc } from '../governance/dates.ts';
import { sha256 } from '../hashing.ts';
import type { Caller } from '../identity/caller.ts';
import { type TenantContext, type TenantSummary, tenantMayExecute } from '../tenancy/domain.ts';
import type { TenantRepository } from '../tenancy/tenant-repository.ts';
import { ExecutionExistsError } from './execution-repository.ts';
import { type Execution, type RequestResult, type Runnable, START_DEADLINE_SECONDS } from './model.ts';
import type { PendingApprovalCap } from './pending-cap.ts';
import {
  approvalHashOf,
  approvalsRequiredOf,
  assertIdempotencyKey,
  IDEMPOTENCY_SECONDS,
  newExecutionId,
  runInputJson,
} from './requests.ts';
import { type RunMoves, RunService } from './run-moves.ts';

export interface RunRequestsOptions {
  readonly moves: RunMoves;
  readonly tenants: TenantRepository;
  readonly skills: SkillCatalog;
  readonly executors: ExecutorRegistry;
  /** A run the caller may read (`Executions.get`): a re-run must name one. */
  readonly read: (domain: TenantContext, caller: Caller, id: string) => Promise<Execution>;
  readonly runnable: (domain: TenantContext, skill: Skill) => Promise<Runnable>;
  readonly approvalTtl: (domain: TenantContext) => Promise<number>;
  readonly onPendingApproval: (domain: TenantContext, execution: Execution, skill: Skill) => Promise<void>;
  /** Refuses a run of the Skill the requester's run could never be approved for (too few approvers). */
  readonly approvable: (domain: TenantContext, skill: Skill, requester: string) => Promise<void>;
  readonly runQuota: (domain: TenantContext, executionId: string) => Promise<{ release(): Promise<void> }>;
  /** The cap on runs waiting for approval at once (pending-cap.ts). */
  readonly pendingCap: PendingApprovalCap;
}

export class RunRequests extends RunService<RunRequestsOptions> {
  /**
   * Requests a run of a Skill. Order of steps (no transactions): the Skill and the tenant (one
   * consistent batch) → enough people to approve it, and room among the runs waiting for approval,
   * when it needs approval → idempotency claim (names the execution id) → its place among the runs
   * waiting (pending-cap.ts) and the day's run quota → execution item, written
   * `queued` when it needs no approval (`pending_approval` otherwise) → its `execution.requested`
   * audit entry and, at the same time, the dispatch (a pending run's inbox notice waits for the
   * entry). A crash anywhere leaves either nothing, or an execution the same request (same key)
   * completes, or a `queued` one whose job may not have been sent: the sweep hands every waiting run
   * to its executor again (a duplicate is refused by the worker's claim). The entry and the job are
   * both sent only once the run's item is stored, and the answer waits for both; a crash or a failed
   * write between the item and the entry leaves a run without its `requested` entry, as it did when
   * the entry went first (the sweep then sent the job); the entry never names a run that was not stored.
   */
  async request(
    domain: TenantContext,
    caller: Caller,
    skillId: string,
    input: unknown,
    idempotencyKey?: string,
    options: { readonly rerunOf?: string } = {},
  ): Promise<RequestResult> {
    const { skill, tenant } = await this.#skillAndTenant(domain, skillId);
    if (!canSee(caller, skill)) throw new NotFoundError(`Skill ${skillId} not found`);
    const runnable = await this.options.runnable(domain, skill);
    const { assetName } = runnable;
    if (options.rerunOf !== undefined) {
      // A re-run names a run of the same Skill the caller may read.
      const earlier = await this.options.read(domain, caller, options.rerunOf).catch((error: unknown) => {
        if (error instanceof NotFoundError) return null;
        throw error;
      });
      if (earlier === null || earlier.skillId !== skill.id) {
        throw new ValidationError('Not a run of this Skill', [
          { path: 'rerunOf', message: 'a run of this Skill that you may read' },
        ]);
      }
    }
    runInputJson(input);
    const issues = await this.options.skills.inputIssues(domain, skill, input);
    if (issues.length > 0)
      throw new ValidationError('The input does not match the Skill input schema', issues);

    this.#assertMayRun(tenant);
    // Before the idempotency claim and the quota: a run nobody could approve leaves nothing behind.
    await this.options.approvable(domain, skill, caller.username);
    const approvalsRequired = approvalsRequiredOf(skill);
    const pending = approvalsRequired > 0;
    // A tenant whose runs waiting for approval are at the cap is refused before anything is written.
    // A request with an Idempotency-Key may be the replay of a run that waits already: it is answered
    // that run, and otherwise refused by the reservation below (which leaves its key's claim, as the
    // daily quota does: a retry with the key after room is made completes that run).
    if (pending && idempotencyKey === undefined) await this.options.pendingCap.assertRoom(domain);

    const now = this.moves.now();
    let id = newExecutionId(now);
    const inputHash = sha256(canonicalJson(input ?? null));
    if (idempotencyKey !== undefined) {
      assertIdempotencyKey(idempotencyKey);
      const claimed = await this.#claimIdempotency(
        domain,
        caller,
        idempotencyKey,
        id,
        `${skill.id}|${inputHash}`,
        now,
      );
      if (claimed.executionId !== id) {
        const existing = await this.moves.find(domain, claimed.executionId);
        if (existing !== null) return { execution: existing, created: false };
        id = claimed.executionId; // the first attempt died before writing its execution: finish it
      }
    }

    const asset =
      runnable.asset ?? (await this.options.executors.get(skill.asset.kind).resolve(domain, skill.asset));
    const waitSeconds = pending ? await this.options.approvalTtl(domain) : START_DEADLINE_SECONDS;
    const execution: Execution = {
      id,
      tenantId: domain.tenant.id,
      skillId: skill.id,
      skillName: skill.name,
      skillRevision: skill.revision,
      // A run that needs no approval is queued as it is written: its job is sent right after.
      status: pending ? 'pending_approval' : 'queued',
      input: input ?? null,
      inputHash,
      asset,
      limits: skill.limits,
      requestedBy: caller.username,
      ...(caller.client === undefined ? {} : { client: { id: caller.client.id, name: caller.client.name } }),
      ...(caller.schedule === undefined
        ? {}
        : { schedule: { id: caller.schedule.id, name: caller.schedule.name } }),
      createdAt: now.toISOString(),
      ...(pending ? {} : { queuedAt: now.toISOString() }),
      deadline: new Date(now.getTime() + waitSeconds * 1000).toISOString(),
      approvalsRequired,
      ...(assetName === undefined ? {} : { assetName }),
      ...(options.rerunOf === undefined ? {} : { rerunOf: options.rerunOf }),
      ...(pending
        ? {
            adminApprovalRequired: skill.risk === 'critical',
            approvalHash: approvalHashOf(inputHash, asset, skill.definitionHash),
          }
        : {}),
    };
    // Its place among the runs waiting (the store decides: concurrent requests never pass the cap),
    // then the day's run; each given back if the run is not written after all.
    const waiting = pending ? await this.options.pendingCap.reserve(domain, id) : null;
    let place: { release(): Promise<void> };
    try {
      place = await this.options.runQuota(domain, id);
    } catch (error) {
      await waiting?.release();
      throw error;
    }
    try {
      await this.moves.store.create(domain, execution);
    } catch (error) {
      if (error instanceof ExecutionExistsError) {
        // The same run (same id), written by a concurrent replay: its places are this one's.
        const existing = await this.moves.find(domain, id);
        if (existing !== null) return { execution: existing, created: false };
      }
      await Promise.all([place.release(), waiting?.release()]);
      throw error;
    }
    // One entry for the request, whatever state it left the run in (`queued`, or waiting for approval).
    const requested = this.moves.auditTransition(domain, execution, 'requested', actorOf(caller), {
      status: execution.status,
      skillId: skill.id,
      skillRevision: skill.revision,
      asset,
      inputHash,
      ...(options.rerunOf === undefined ? {} : { rerunOf: options.rerunOf }),
      ...(caller.schedule === undefined ? {} : { scheduleId: caller.schedule.id }),
    });
    if (execution.status === 'pending_approval') {
      await requested;
      await this.options.onPendingApproval(domain, execution, skill);
      return { execution, created: true };
    }
    // The job goes out while the entry is written: neither waits for the other.
    const [dispatched] = await Promise.all([this.dispatch(domain, execution, skill), requested]);
    return { execution: dispatched, created: true };
  }

  /** Hands a `requested` (or re-dispatched `queued`) run to its executor and marks it `queued`. */
  async dispatch(domain: TenantContext, execution: Execution, skill?: Skill): Promise<Execution> {
    const definition =
      skill ?? (await this.options.skills.revision(domain, execution.skillId, execution.skillRevision));
    await this.options.executors.get(execution.asset.kind).dispatch(domain, {
      executionId: execution.id,
      skillId: execution.skillId,
      skillRevision: execution.skillRevision,
      input: execution.input,
      limits: execution.limits,
      asset: execution.asset,
      binding: definition.asset,
      egress: definition.egress ?? [],
      collections: definition.collections ?? [],
      parameters: definition.parameters ?? [],
      requestedAt: execution.createdAt,
    });
    if (execution.status !== 'requested') return execution;
    const queuedAt = this.moves.now().toISOString();
    const moved = await this.moves.transition(domain, execution.id, 'queued', { queuedAt });
    if (moved === null) return (await this.moves.find(domain, execution.id)) ?? execution;
    await this.moves.auditTransition(domain, moved, 'queued', 'system');
    return moved;
  }

  /** Whether the tenant may start a run now, from its record read consistently (see #assertMayRun). */
  async admit(domain: TenantContext): Promise<void> {
    this.#assertMayRun(await this.options.tenants.summary(domain.tenant.id, true));
  }

  /**
   * The Skill a run is requested of and the tenant's record, both read consistently in one batch (a
   * suspension is seen at once without a request of its own).
   */
  async #skillAndTenant(
    domain: TenantContext,
    skillId: string,
  ): Promise<{ skill: Skill; tenant: TenantSummary | null }> {
    if (!SKILL_ID_PATTERN.test(skillId)) throw new NotFoundError(`Skill ${skillId} not found`);
    const { skill, tenant } = await this.moves.store.skillAndTenant(domain, skillId);
    if (skill === null) throw new NotFoundError(`Skill ${skillId} not found`);
    return { skill, tenant };
  }

  /**
   * A tenant may start a run only while its status allows it and before its expiry plus the grace
   * period — a tenant past that is refused even if no scan has suspended it yet (fails closed).
   */
  #assertMayRun(tenant: TenantSummary | null): void {
    if (tenant === null || !tenantMayExecute(tenant.status)) {
      throw new TenantSuspendedError(
        `This tenant is ${tenant?.status ?? 'unavailable'}: runs are disabled until it is renewed`,
        { extra: { tenantStatus: tenant?.status ?? null } },
      );
    }
    const graceEnds = Date.parse(tenant.expiresAt) + GRACE_PERIOD_DAYS * DAY_MS;
    if (!(this.moves.now().getTime() < graceEnds)) {
      throw new TenantSuspendedError(
        `This tenant's subscription expired on ${readableUtc(tenant.expiresAt) ?? tenant.expiresAt} and its grace period is over: runs are disabled until it is renewed`,
        { extra: { tenantStatus: tenant.status, expiresAt: tenant.expiresAt } },
      );
    }
  }

  async #claimIdempotency(
    domain: TenantContext,
    caller: Caller,
    key: string,
    executionId: string,
    fingerprint: string,
    now: Date,
  ): Promise<{ executionId: string }> {
    const claim = await this.moves.store.claimIdempotency(
      domain,
      sha256(`${caller.username}|${key}`),
      executionId,
      sha256(fingerprint),
      Math.floor(now.getTime() / 1000),
      Math.floor(now.getTime() / 1000) + IDEMPOTENCY_SECONDS,
    );
    if (claim.won) return { executionId };
    if (claim.held?.fingerprint !== sha256(fingerprint)) {
      throw new ConflictError('This Idempotency-Key was used for a different request', {
        extra: { reason: 'idempotency-key-reused' },
      });
    }
    return { executionId: claim.held.executionId };
  }
}
