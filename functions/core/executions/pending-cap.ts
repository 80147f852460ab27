/**
 * The cap on runs waiting for approval in a tenant at once (the plan's `pendingApprovals`,
 * tenancy/plans.ts). Without it a user who may run a Skill that needs approval could fill the inbox
 * every approver reads (and every revalidation walks) as fast as they can send requests.
 *
 * Counted as the plan's counted quotas are (tenancy/quotas.ts): one item, `USAGE#pendingApprovals`,
 * holding the *set* of the ids of the runs waiting, changed only by single-item conditional writes.
 * A run about to be written waiting takes its place (its id is added if the set is smaller than the
 * cap, or holds it already: a replay never counts twice), so concurrent requests never pass the cap
 * together; a run that leaves `pending_approval` — approved, rejected, cancelled, expired,
 * invalidated, failed — gives it back (run-moves.ts), and removing an id is the same write however
 * often it is repeated. A place given back late is harmless; one never given back (a crash between a
 * run's move and the removal) is found when the set is full: the ids of runs that no longer wait
 * (or were never written, past PENDING_PLACE_GRACE_MS) are taken out, and the request tries again;
 * a clean-up that found nothing is not repeated for the same set for PENDING_RECHECK_MS.
 * A tenant that had runs waiting before the cap counted them is seeded from its inbox once.
 */
import type { Table } from '../db.ts';
import { QuotaExceededError } from '../errors.ts';
import { usageKey } from '../keys.ts';
import type { TenantContext } from '../tenancy/domain.ts';
import { planLimits } from '../tenancy/plans.ts';
import { UsageRepository } from '../tenancy/usage-repository.ts';
import type { ExecutionRepository } from './execution-repository.ts';
import { idAt } from './requests.ts';

/** The counter's name (`USAGE#pendingApprovals`), and the quota a refusal names. */
export const PENDING_APPROVALS_QUOTA = 'pendingApprovals';
/** How long a place may be held by a run not written yet (its request is between the two writes). */
export const PENDING_PLACE_GRACE_MS = 60_000;
/** Most tries of one reservation (a seed or a clean-up between them makes room or says why not). */
const MAX_ATTEMPTS = 4;
/**
 * How long a clean-up that freed nothing stands for the same full set, in this process: a flood of
 * requests refused at the cap read the statuses of every waiting run each (200 items on enterprise,
 * per request); now once every PENDING_RECHECK_MS. A place a crash left taken is found that much later.
 */
export const PENDING_RECHECK_MS = 2_000;
/** Tenants whose fruitless clean-up is remembered at once (the oldest is forgotten first). */
const MAX_REMEMBERED = 1_000;

export interface PendingPlace {
  release(): Promise<void>;
}

export class PendingApprovalCap {
  readonly #usage: UsageRepository;
  readonly #store: ExecutionRepository;
  readonly #now: () => Date;
  /** By tenant id: the full set a clean-up last found nothing to take out of, and until when that holds. */
  readonly #fruitless = new Map<string, { readonly ids: string; readonly until: number }>();

  constructor(table: Table, store: ExecutionRepository, now: () => Date) {
    this.#usage = new UsageRepository(table);
    this.#store = store;
    this.#now = now;
  }

  /**
   * Takes a place among the runs waiting for approval for `executionId` (harmlessly again for the
   * same run). Refused with QuotaExceededError (429 `quota-exceeded`) when every place is taken by a
   * run that still waits.
   */
  async reserve(domain: TenantContext, executionId: string): Promise<PendingPlace> {
    const limit = planLimits(domain.tenant.plan).pendingApprovals;
    const key = usageKey(domain, PENDING_APPROVALS_QUOTA);
    let cleaned = false;
    for (let attempt = 1; attempt <= MAX_ATTEMPTS; attempt++) {
      if (await this.#usage.reserveSeeded(key, executionId, limit)) {
        return { release: () => this.release(domain, executionId) };
      }
      const counter = await this.#usage.held(key);
      if (counter === null || !counter.seeded) {
        // Seeded by another request meanwhile: its count holds.
        await this.#usage.seed(key, await this.#store.pendingApprovalIds(domain), this.#now().toISOString());
        continue;
      }
      if (counter.size < limit) continue;
      if (cleaned) break;
      cleaned = true;
      if (!(await this.#cleanUp(domain, counter.ids))) break;
    }
    throw this.#full(domain, limit);
  }

  #full(domain: TenantContext, limit: number): QuotaExceededError {
    return new QuotaExceededError(
      `${limit} runs of this tenant already wait for approval, the most the ${domain.tenant.plan} plan allows at once: ask an approver to decide them (or cancel yours), then request the run again`,
      {
        extra: {
          plan: domain.tenant.plan,
          quota: PENDING_APPROVALS_QUOTA,
          limit,
          remaining: 0,
        },
      },
    );
  }

  /**
   * Refuses a run that would wait for approval when every place is taken by a run that still waits,
   * before its request writes anything (`reserve` decides under concurrency). Reads the counter,
   * and cleans it up only when it is full.
   */
  async assertRoom(domain: TenantContext): Promise<void> {
    const limit = planLimits(domain.tenant.plan).pendingApprovals;
    const counter = await this.#usage.held(usageKey(domain, PENDING_APPROVALS_QUOTA));
    // Not counted yet: `reserve` seeds it.
    if (counter === null || !counter.seeded || counter.size < limit) return;
    if (await this.#cleanUp(domain, counter.ids)) return;
    throw this.#full(domain, limit);
  }

  /** Gives a run's place back (it no longer waits, or was not written); a no-op when it held none. */
  async release(domain: TenantContext, executionId: string): Promise<void> {
    await this.#usage.remove(usageKey(domain, PENDING_APPROVALS_QUOTA), executionId);
  }

  /**
   * Takes out of the count the runs that no longer wait, and those never written whose request is
   * long gone; whether any place was freed.
   */
  async #cleanUp(domain: TenantContext, ids: readonly string[]): Promise<boolean> {
    const tenantId = domain.tenant.id;
    const now = this.#now().getTime();
    const set = [...ids].sort().join(' ');
    const last = this.#fruitless.get(tenantId);
    if (last !== undefined && last.ids === set && now < last.until) return false;
    const statuses = await this.#store.statuses(domain, ids);
    const settled = idAt(new Date(now - PENDING_PLACE_GRACE_MS));
    const stale = ids.filter((id) => {
      const status = statuses.get(id);
      return status === undefined ? id < settled : status !== 'pending_approval';
    });
    this.#fruitless.delete(tenantId);
    if (stale.length === 0) {
      if (this.#fruitless.size >= MAX_REMEMBERED) {
        const oldest = this.#fruitless.keys().next().value;
        if (oldest !== undefined) this.#fruitless.delete(oldest);
      }
      this.#fruitless.set(tenantId, { ids: set, until: now + PENDING_RECHECK_MS });
      return false;
    }
    await this.#usage.removeAll(usageKey(domain, PENDING_APPROVALS_QUOTA), stale);
    return true;
  }
}
