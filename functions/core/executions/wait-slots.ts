/**
 * The waits a tenant may hold at once (`Prefer: wait`, Executions.settleWithin), whoever serves them.
 *
 * Where one process serves every request (the local platform) the cap of RunEnds.hold is the whole
 * bound. On Lambda each instance serves one request at a time, so a per-process cap bounds nothing:
 * a tenant replaying one Idempotency-Key with `Prefer: wait=20` held as many instances of the tenant
 * API, 20 s each, as the function's concurrency allowed, and every other tenant's requests met the
 * throttle. There, each held wait is a slot item in the tenant's own partition (`WAITSLOT#nn`, nn
 * below MAX_WAITS_PER_TENANT) with a lease: one consistent query finds the free slots, a conditional
 * put takes one (free, or its lease run out), and a conditional delete of our own hold gives it back
 * (store/leased-slots.ts). A lease outlives the longest wait by a margin, so an instance killed
 * mid-wait frees its slot by itself. A wait beyond the cap is answered at once, as one whose time ran out.
 */
import type { Table } from '../db.ts';
import { TAG } from '../keys.ts';
import { LeasedSlots, type SlotRelease } from '../store/leased-slots.ts';
import type { TenantContext } from '../tenancy/domain.ts';
import { MAX_WAITS_PER_TENANT, type RunEnds } from './run-ends.ts';

/** Gives a held wait back (once; later calls do nothing). */
export type WaitRelease = SlotRelease;

export interface WaitSlots {
  /** One of the tenant's waits, for `seconds` at most: its release, or null when it holds them all. */
  take(domain: TenantContext, seconds: number): Promise<WaitRelease | null>;
}

/** What Lambda sets in every instance's environment: the function's name. */
export const LAMBDA_FUNCTION_NAME_ENV = 'AWS_LAMBDA_FUNCTION_NAME';

/** The waits of one process (RunEnds.hold): the whole bound where one process serves every request. */
export function processWaitSlots(runEnds: RunEnds, max = MAX_WAITS_PER_TENANT): WaitSlots {
  return {
    take: async (domain) => {
      const release = runEnds.hold(domain.tenant.id, max);
      return release === null ? null : async () => release();
    },
  };
}

/** The waits of every process that shares the table: one leased slot item each (store/leased-slots.ts). */
export class WaitSlotRepository implements WaitSlots {
  readonly #slots: LeasedSlots;

  constructor(table: Table, options: { readonly max?: number; readonly now?: () => number } = {}) {
    this.#slots = new LeasedSlots(table, {
      ...options,
      tag: TAG.waitSlot,
      max: options.max ?? MAX_WAITS_PER_TENANT,
    });
  }

  take(domain: TenantContext, seconds: number): Promise<WaitRelease | null> {
    return this.#slots.take(domain, [], seconds);
  }
}
