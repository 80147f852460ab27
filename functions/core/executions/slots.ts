/**
 * Per-tenant concurrency: the slots a tenant's script jobs hold while they run, kept in the small
 * coordination table beside the job claims (`slots#<tenant>` → a map of execution id → lease expiry),
 * so the dispatcher needs no access to the platform table.
 *
 * A slot is taken with one conditional update (fewer holders than the tenant's cap, or already
 * held by this run); a slot whose lease expired (a dispatcher that died mid-job) is cleared the next
 * time the tenant is full. Release removes the holder. Both are safe to repeat.
 *
 * The wait list: a job of a full tenant is written beside the slots (`waits#<tenant>#<run>`: the
 * signed job as it came off the queue) and named in the same item's `waiting` map (run → when it
 * started waiting). Joining the list is conditional on the tenant being full, and a release removes
 * its holder and reads the list in one update, so a job never joins after the last release that
 * could have seen it. The release then hands the oldest waiting run a slot (moved from `waiting` to
 * `holders` in one conditional update) and returns its job, for the caller to verify and start. The
 * list holds what any writer of this table put there: whoever starts a job from it checks its MAC
 * and that it names this tenant and this run (see ./wait-list.ts).
 *
 * This module holds those rules; every read and write of the table is ./slot-repository.ts.
 */
import {
  SlotRepository,
  type SlotRepositoryOptions,
  type SlotsItem,
  type WaitingJob,
} from './slot-repository.ts';

export { isSlotKey, SLOT_KEY_PATTERNS, slotsKey, waitingJobKey } from './keys.ts';
export type { WaitingJob } from './slot-repository.ts';

/** Where a job that once waited stands now (see `TenantSlots.waitState`). */
export type WaitState =
  /** Still on the list. */
  | 'waiting'
  /** Handed a slot by a release; its lease runs. */
  | 'held'
  /** Handed a slot, but its lease expired (whoever took it died), or on no list while its job is kept. */
  | 'stranded'
  /** Its job is no longer kept: it ran from the list, or never waited. */
  | 'gone';

export interface TenantSlotsOptions extends SlotRepositoryOptions {
  readonly now?: () => number;
}

export class TenantSlots {
  readonly #store: SlotRepository;
  readonly #now: () => number;

  constructor(options: TenantSlotsOptions) {
    this.#store = new SlotRepository({ client: options.client, table: options.table });
    this.#now = options.now ?? (() => Date.now());
  }

  /** True when `executionId` now holds one of the tenant's `cap` slots until `leaseSeconds` from now. */
  async acquire(tenantId: string, executionId: string, cap: number, leaseSeconds: number): Promise<boolean> {
    const expires = this.#seconds() + leaseSeconds;
    for (let attempt = 0; attempt < 3; attempt++) {
      if (await this.#store.take(tenantId, executionId, cap, expires)) return true;
      if (!(await this.#clearExpired(tenantId))) return false;
    }
    return false;
  }

  /**
   * Gives the run's slot back. With `handOff`, the oldest run on the tenant's wait list is then given
   * a slot (its lease `handOff.leaseSeconds`, until whoever starts it takes the slot for itself) and
   * its job is returned; null when nobody waits, the tenant is still full, or another release was
   * first. A listed run whose job is not kept has its slot given back and the next one is tried.
   */
  async release(
    tenantId: string,
    executionId: string,
    handOff?: { readonly cap: number; readonly leaseSeconds: number },
  ): Promise<WaitingJob | null> {
    const released = await this.#store.release(tenantId, executionId, { read: handOff !== undefined });
    if (handOff === undefined || released === undefined) return null;
    return this.#handOff(tenantId, released, handOff.cap, handOff.leaseSeconds);
  }

  async #handOff(
    tenantId: string,
    released: SlotsItem,
    cap: number,
    leaseSeconds: number,
  ): Promise<WaitingJob | null> {
    let slots: SlotsItem | undefined = released;
    // A few tries: another release may take the same run first (then the next one is tried), and a
    // listed run whose job is not kept (nothing a genuine writer leaves) is skipped.
    for (let attempt = 0; attempt < 4 && slots !== undefined; attempt++) {
      const now = this.#seconds();
      const live = Object.values(slots.holders).filter((expires) => expires > now).length;
      const oldest = Object.entries(slots.waiting).sort(
        ([a, x], [b, y]) => x - y || (a < b ? -1 : 1),
      )[0]?.[0];
      if (oldest === undefined || live >= cap) return null;
      if (await this.#store.promote(tenantId, oldest, cap, now + leaseSeconds)) {
        const job = await this.#store.waitingJob(tenantId, oldest);
        if (job !== null) return job;
        await this.release(tenantId, oldest);
      }
      slots = await this.#store.slots(tenantId);
    }
    return null;
  }

  /**
   * Puts a job of a full tenant on its wait list: true when listed, false when a slot is free after
   * all (the caller takes it). Its job is written first, so a release that lists it finds it.
   */
  wait(tenantId: string, job: WaitingJob, cap: number): Promise<boolean> {
    return this.#store.join(tenantId, job, cap, this.#now());
  }

  /**
   * Gives a listed run a free slot (lease `leaseSeconds`), taking it off the list: false when it is
   * not listed or the tenant is still full (expired leases are cleared first).
   */
  async takeFromList(
    tenantId: string,
    executionId: string,
    cap: number,
    leaseSeconds: number,
  ): Promise<boolean> {
    const expires = this.#seconds() + leaseSeconds;
    if (await this.#store.promote(tenantId, executionId, cap, expires)) return true;
    return (await this.#clearExpired(tenantId)) && this.#store.promote(tenantId, executionId, cap, expires);
  }

  /** Where a run that was put on the list stands now (read by its safety-net copy). */
  async waitState(tenantId: string, executionId: string): Promise<WaitState> {
    if (!(await this.#store.keepsJob(tenantId, executionId))) return 'gone';
    const slots = await this.#store.slots(tenantId);
    if (slots !== undefined && Object.hasOwn(slots.waiting, executionId)) return 'waiting';
    const expires =
      slots !== undefined && Object.hasOwn(slots.holders, executionId) ? slots.holders[executionId] : 0;
    return (expires ?? 0) > this.#seconds() ? 'held' : 'stranded';
  }

  /** Deletes a listed run's job once it has run (or was refused for good). */
  forget(tenantId: string, executionId: string): Promise<void> {
    return this.#store.forget(tenantId, executionId);
  }

  /** The runs on a tenant's wait list, longest waiting first. */
  async waiting(tenantId: string): Promise<string[]> {
    return Object.entries((await this.#store.slots(tenantId))?.waiting ?? {})
      .sort(([, a], [, b]) => a - b)
      .map(([run]) => run);
  }

  /** The runs holding a tenant's slots now (expired leases left out). */
  async holders(tenantId: string): Promise<string[]> {
    const now = this.#seconds();
    return Object.entries((await this.#store.slots(tenantId))?.holders ?? {})
      .filter(([, expires]) => expires > now)
      .map(([run]) => run);
  }

  /** Removes expired leases; true when any was removed (a slot may be free now). */
  async #clearExpired(tenantId: string): Promise<boolean> {
    const now = this.#seconds();
    const expired = Object.entries((await this.#store.slots(tenantId))?.holders ?? {}).filter(
      ([, expires]) => expires <= now,
    );
    if (expired.length === 0) return false;
    // A lease renewed or released meanwhile is left as it is.
    for (const [run, expires] of expired) await this.#store.clearLease(tenantId, run, expires);
    return true;
  }

  #seconds(): number {
    return Math.floor(this.#now() / 1000);
  }
}
