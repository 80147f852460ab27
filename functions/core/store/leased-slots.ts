/**
 * Requests held open at once, counted in the table: what bounds them where many processes serve, one
 * request each (the APIs on Lambda), and a count in one process bounds nothing.
 *
 * A pool is `max` slot items in a tenant's own partition, under one tag and scope
 * (`WAITSLOT#07`, `POLLSLOT#build-box#01`), each with a lease. One consistent query finds the free
 * slots, a conditional put takes one (free, or its lease run out), and a conditional delete of our own
 * hold gives it back. A lease outlives the longest hold by LEASE_MARGIN_SECONDS, so a process killed
 * while holding frees its slot by itself, and its late release cannot free the next holder's.
 */
import { randomUUID } from 'node:crypto';
import { queryAll, type Table } from '../db.ts';
import { domainPk, itemKey, type Key, TABLE_KEY_NAMES, typePrefix } from '../keys.ts';
import type { TenantContext } from '../tenancy/domain.ts';
import { deleteItem, putItem } from './conditional.ts';

/** Gives a held slot back (once; later calls do nothing). */
export type SlotRelease = () => Promise<void>;

/** How much longer than its hold a slot's lease runs (a slow answer, a clock a little apart). */
export const LEASE_MARGIN_SECONDS = 30;

export interface LeasedSlotsOptions {
  /** The slot items' tag (keys.ts `TAG`). */
  readonly tag: string;
  /** Slots of one pool: 1 to 99. */
  readonly max: number;
  /** @default Date.now */
  readonly now?: (() => number) | undefined;
}

export class LeasedSlots {
  readonly #table: Table;
  readonly #tag: string;
  readonly #max: number;
  readonly #now: () => number;

  constructor(table: Table, options: LeasedSlotsOptions) {
    this.#table = table;
    this.#tag = options.tag;
    this.#max = options.max;
    this.#now = options.now ?? Date.now;
    if (!Number.isSafeInteger(this.#max) || this.#max < 1 || this.#max > 99)
      throw new RangeError(`A pool of slots must hold 1 to 99, got ${this.#max}`);
  }

  /**
   * One slot of the tenant's pool `scope` (none: the tenant's one pool), held for `seconds` at most:
   * its release, or null when every slot is held.
   */
  async take(domain: TenantContext, scope: readonly string[], seconds: number): Promise<SlotRelease | null> {
    // A `#` in a scope would let one pool's prefix take in another's slots.
    if (scope.some((part) => part === '' || part.includes('#')))
      throw new RangeError(`A pool's scope is plain names, got ${JSON.stringify(scope)}`);
    const now = this.#now();
    const held = await this.#heldSlots(domain, scope, now);
    const free = Array.from({ length: this.#max }, (_, slot) => slot).filter((slot) => !held.has(slot));
    // From a random one: concurrent takers of one pool rarely race for the same slot.
    const start = Math.floor(Math.random() * free.length);
    const leaseUntil = now + (seconds + LEASE_MARGIN_SECONDS) * 1000;
    for (let i = 0; i < free.length; i++) {
      const slot = free[(start + i) % free.length] ?? 0;
      const key = this.#slotKey(domain, scope, slot);
      const holder = randomUUID();
      const taken = await putItem(this.#table, {
        Item: { ...key, type: this.#tag, holder, leaseUntil, expiresAtEpoch: Math.ceil(leaseUntil / 1000) },
        // Free, or its holder's lease ran out (a process that died holding it).
        ConditionExpression: 'attribute_not_exists(#pk) OR #lease < :now',
        ExpressionAttributeNames: { '#pk': TABLE_KEY_NAMES.pk, '#lease': 'leaseUntil' },
        ExpressionAttributeValues: { ':now': now },
      });
      if (!taken) continue; // another taker of the pool took it between the query and now
      let released = false;
      return async () => {
        if (released) return;
        released = true;
        // Only our own hold: past its lease the slot may be another's.
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

  /** `WAITSLOT#07`, `POLLSLOT#build-box#01`. */
  #slotKey(domain: TenantContext, scope: readonly string[], slot: number): Key {
    return itemKey(domain, this.#tag, ...scope, String(slot).padStart(2, '0'));
  }

  /** The pool's slots whose lease runs now (one consistent query of at most `max` small items). */
  async #heldSlots(domain: TenantContext, scope: readonly string[], now: number): Promise<Set<number>> {
    const prefix = typePrefix([this.#tag, ...scope].join('#'));
    const held = new Set<number>();
    const slots = queryAll(this.#table, {
      KeyConditionExpression: '#pk = :pk AND begins_with(#sk, :prefix)',
      ExpressionAttributeNames: { '#pk': TABLE_KEY_NAMES.pk, '#sk': TABLE_KEY_NAMES.sk },
      ExpressionAttributeValues: { ':pk': domainPk(domain), ':prefix': prefix },
      ProjectionExpression: '#sk, leaseUntil',
      ConsistentRead: true,
    });
    for await (const item of slots) {
      const slot = Number(String(item[TABLE_KEY_NAMES.sk]).slice(prefix.length));
      if (typeof item.leaseUntil === 'number' && item.leaseUntil >= now) held.add(slot);
    }
    return held;
  }
}
