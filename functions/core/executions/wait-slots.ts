/**
 * The waits a tenant may hold at once (`Prefer: wait`, Executions.settleWithin), whoever serves them.
 *
 * Where one process serves every request (the local platform) the cap of RunEnds.hold is the whole
 * bound. On Lambda each instance serves one request at a time, so a per-process cap bounds nothing:
 * a tenant replaying one Idempotency-Key with `Prefer: wait=20` held as many instances of the tenant
 * API, 20 s each, as the function's concurrency allowed, and every other tenant's requests met the
 * throttle. There, each held wait is a slot item in the tenant's own partition (`WAITSLOT#nn`, nn
 * below MAX_WAITS_PER_TENANT) with a lease: one consistent query finds the free slots, a conditional
 * put takes one (free, or its lease run out), and a conditional delete of our own hold gives it back.
 * A lease outlives the longest wait by WAIT_LEASE_MARGIN_SECONDS, so an instance killed mid-wait
 * frees its slot by itself. A wait beyond the cap is answered at once, as one whose time ran out.
 */
import { randomUUID } from 'node:crypto';
import { queryAll, type Table } from '../db.ts';
import { domainPk, itemKey, type Key, TABLE_KEY_NAMES, TAG, typePrefix } from '../keys.ts';
import { deleteItem, putItem } from '../store/conditional.ts';
import type { TenantContext } from '../tenancy/domain.ts';
import { MAX_WAITS_PER_TENANT, type RunEnds } from './run-ends.ts';

/** Gives a held wait back (once; later calls do nothing). */
export type WaitRelease = () => Promise<void>;

export interface WaitSlots {
  /** One of the tenant's waits, for `seconds` at most: its release, or null when it holds them all. */
  take(domain: TenantContext, seconds: number): Promise<WaitRelease | null>;
}

/** What Lambda sets in every instance's environment: the function's name. */
export const LAMBDA_FUNCTION_NAME_ENV = 'AWS_LAMBDA_FUNCTION_NAME';

/** How much longer than its wait a slot's lease runs (a slow answer, a clock a little apart). */
export const WAIT_LEASE_MARGIN_SECONDS = 30;

/** The waits of one process (RunEnds.hold): the whole bound where one process serves every request. */
export function processWaitSlots(runEnds: RunEnds, max = MAX_WAITS_PER_TENANT): WaitSlots {
  return {
    take: async (domain) => {
      const release = runEnds.hold(domain.tenant.id, max);
      return release === null ? null : async () => release();
    },
  };
}

/** A slot's key: the tenant's partition, `WAITSLOT#07`. */
function slotKey(domain: TenantContext, slot: number): Key {
  return itemKey(domain, TAG.waitSlot, String(slot).padStart(2, '0'));
}

/** The waits of every process that shares the table: one leased slot item each (see above). */
export class WaitSlotRepository implements WaitSlots {
  readonly #table: Table;
  readonly #max: number;
  readonly #now: () => number;

  constructor(table: Table, options: { readonly max?: number; readonly now?: () => number } = {}) {
    this.#table = table;
    this.#max = options.max ?? MAX_WAITS_PER_TENANT;
    this.#now = options.now ?? Date.now;
    if (!Number.isSafeInteger(this.#max) || this.#max < 1 || this.#max > 99)
      throw new RangeError(`A tenant's waits must be 1 to 99, got ${this.#max}`);
  }

  async take(domain: TenantContext, seconds: number): Promise<WaitRelease | null> {
    const now = this.#now();
    const held = await this.#heldSlots(domain, now);
    const free = Array.from({ length: this.#max }, (_, slot) => slot).filter((slot) => !held.has(slot));
    // From a random one: concurrent takers of one tenant rarely race for the same slot.
    const start = Math.floor(Math.random() * free.length);
    const leaseUntil = now + (seconds + WAIT_LEASE_MARGIN_SECONDS) * 1000;
    for (let i = 0; i < free.length; i++) {
      const slot = free[(start + i) % free.length] ?? 0;
      const key = slotKey(domain, slot);
      const holder = randomUUID();
      const taken = await putItem(this.#table, {
        Item: {
          ...key,
          type: TAG.waitSlot,
          holder,
          leaseUntil,
          expiresAtEpoch: Math.ceil(leaseUntil / 1000),
        },
        // Free, or its holder's lease ran out (an instance that died mid-wait).
        ConditionExpression: 'attribute_not_exists(#pk) OR #lease < :now',
        ExpressionAttributeNames: { '#pk': TABLE_KEY_NAMES.pk, '#lease': 'leaseUntil' },
        ExpressionAttributeValues: { ':now': now },
      });
      if (!taken) continue; // another wait of the tenant took it between the query and now
      let released = false;
      return async () => {
        if (released) return;
        released = true;
        // Only our own hold: past its lease the slot may be another wait's.
        await deleteItem(this.#table, {
          Key: key,
          ConditionExpression: '#holder = :holder',
          ExpressionAttributeNames: { '#holder': 'holder' },
          ExpressionAttributeValues: { ':holder': holder },
        });
      };
    }
    return null;
  }

  /** The slots whose lease runs now (one consistent query of at most `max` small items). */
  async #heldSlots(domain: TenantContext, now: number): Promise<Set<number>> {
    const held = new Set<number>();
    const slots = queryAll(this.#table, {
      KeyConditionExpression: '#pk = :pk AND begins_with(#sk, :prefix)',
      ExpressionAttributeNames: { '#pk': TABLE_KEY_NAMES.pk, '#sk': TABLE_KEY_NAMES.sk },
      ExpressionAttributeValues: { ':pk': domainPk(domain), ':prefix': typePrefix(TAG.waitSlot) },
      ProjectionExpression: '#sk, leaseUntil',
      ConsistentRead: true,
    });
    for await (const item of slots) {
      const slot = Number(String(item[TABLE_KEY_NAMES.sk]).slice(typePrefix(TAG.waitSlot).length));
      if (typeof item.leaseUntil === 'number' && item.leaseUntil >= now) held.add(slot);
    }
    return held;
  }
}
