/**
 * Leads: every sign-up of the free edition, in the public ledger, with where it came from. One
 * partition, newest last by a time-ordered id, and two sparse filter indexes (by source, by status),
 * so the console's filters read an index range, never the whole ledger; dates are a key range;
 * a text search narrows each page. A lead's status follows its personal space: `active`, `disabled`
 * by a super-admin, or `converted` into a standard tenant by an order.
 */
import type { Table } from '../db.ts';
import { NotFoundError, ValidationError } from '../errors.ts';
import { timeOrderedId } from '../governance/acting.ts';
import type { Page } from '../pagination.ts';
import { LeadStateError } from './errors.ts';
import { LeadRepository } from './lead-repository.ts';

export const LEAD_STATUSES = ['active', 'disabled', 'converted'] as const;
export type LeadStatus = (typeof LEAD_STATUSES)[number];

/** Sources are short slugs (`direct`, `newsletter`, `google`); anything else becomes `other`. */
export const SOURCE_PATTERN = /^[a-z0-9][a-z0-9._-]{0,39}$/;
export const DEFAULT_SOURCE = 'direct';

const LEAD_ID_PATTERN = /^lead_[0-9a-z]{10}[0-9a-f]{10}$/;

export interface Lead {
  readonly id: string;
  readonly handle: string;
  readonly tenantId: string;
  readonly host: string;
  readonly email: string;
  readonly name?: string;
  /** Where the person came from: a `utm_source`-like slug, `direct` when nothing said. */
  readonly source: string;
  readonly campaign?: string;
  /** The host of the page that sent them, when the browser said. */
  readonly referrer?: string;
  /** Templates pre-installed at sign-up. */
  readonly templates: readonly string[];
  readonly status: LeadStatus;
  readonly createdAt: string;
  /** The address the sign-up came from (abuse investigation). */
  readonly sourceIp: string;
  readonly disabledAt?: string;
  readonly disabledBy?: string;
  readonly disabledReason?: string;
  readonly convertedAt?: string;
  readonly orderId?: string;
  readonly plan?: string;
  /** The order that converts (or converted) the space, once one was ordered; a cancelled one is replaced. */
  readonly conversionOrderId?: string;
}

export type NewLead = Omit<Lead, 'id' | 'status' | 'createdAt' | 'conversionOrderId'>;

export interface LeadFilter {
  readonly status?: LeadStatus;
  readonly source?: string;
  /** Leads created at or after / at or before these instants (ISO 8601). */
  readonly from?: string;
  readonly to?: string;
  /** Part of the handle, email or name (case-insensitive). */
  readonly q?: string;
}

/** Most leads one export returns; a larger export continues from its cursor. */
export const MAX_EXPORT_LEADS = 5000;

/** The source a sign-up gives, as stored: lower-cased slug, or `other` for anything unusable. */
export function normaliseSource(raw: string | undefined): string {
  if (raw === undefined || raw.trim() === '') return DEFAULT_SOURCE;
  const source = raw.trim().toLowerCase();
  return SOURCE_PATTERN.test(source) ? source : 'other';
}

/** The smallest lead id of an instant (ids are `lead_<ms, base36, 10 wide><random>`). */
function idBound(instant: string, path: string, end: 'from' | 'to'): string {
  const time = Date.parse(instant);
  if (Number.isNaN(time)) throw new ValidationError('Invalid date-time', [{ path, message: instant }]);
  const stamp = time.toString(36).padStart(10, '0');
  return end === 'from' ? `lead_${stamp}` : `lead_${stamp}~`;
}

export class Leads {
  readonly #store: LeadRepository;
  readonly #now: () => Date;

  constructor(options: { readonly table: Table; readonly now?: () => Date }) {
    this.#store = new LeadRepository(options.table);
    this.#now = options.now ?? (() => new Date());
  }

  /** Writes a new lead (status `active`). */
  async create(input: NewLead): Promise<Lead> {
    const now = this.#now();
    const lead: Lead = {
      ...input,
      id: timeOrderedId('lead', now),
      status: 'active',
      createdAt: now.toISOString(),
    };
    await this.#store.create(lead);
    return lead;
  }

  /** Removes the lead of a sign-up that failed after writing it (nothing else ever deletes one). */
  async withdraw(id: string): Promise<void> {
    await this.#store.delete(id);
  }

  async get(id: string): Promise<Lead> {
    if (!LEAD_ID_PATTERN.test(id)) throw new NotFoundError(`Lead ${id} not found`);
    const lead = await this.#store.find(id);
    if (lead === null) throw new NotFoundError(`Lead ${id} not found`);
    return lead;
  }

  /**
   * Newest first. One filter picks the index (status, then source; none: the ledger itself), the
   * dates are a key range, the rest narrows each page (a page may then hold fewer than `limit`;
   * follow its cursor).
   */
  async list(filter: LeadFilter, limit: number, cursor?: string): Promise<Page<Lead>> {
    const listing =
      filter.status !== undefined
        ? ({ by: 'status', status: filter.status } as const)
        : filter.source !== undefined
          ? ({ by: 'source', source: filter.source } as const)
          : ({ by: 'all' } as const);
    const range = {
      ...(filter.from === undefined ? {} : { from: idBound(filter.from, 'from', 'from') }),
      ...(filter.to === undefined ? {} : { to: idBound(filter.to, 'to', 'to') }),
    };
    const text = filter.q?.trim().toLowerCase() ?? '';
    return this.#store.page(listing, {
      ...(range.from === undefined && range.to === undefined ? {} : { range }),
      // The status index is read: the source narrows its pages.
      ...(filter.status !== undefined && filter.source !== undefined ? { source: filter.source } : {}),
      ...(text === '' ? {} : { text }),
      limit,
      ...(cursor === undefined ? {} : { cursor }),
    });
  }

  /** Every lead a filter matches, newest first, at most MAX_EXPORT_LEADS (then a cursor to go on). */
  async export(filter: LeadFilter, cursor?: string): Promise<Page<Lead>> {
    const items: Lead[] = [];
    let next = cursor;
    do {
      const page = await this.list(filter, 100, next);
      items.push(...page.items);
      next = page.cursor;
    } while (next !== undefined && items.length < MAX_EXPORT_LEADS);
    return next === undefined ? { items } : { items, cursor: next };
  }

  /** Names `orderId` as the lead's conversion order (see LeadRepository); false when the lead moved. */
  claimConversion(id: string, orderId: string, seen: string | undefined): Promise<boolean> {
    return this.#store.claimConversion(id, orderId, seen);
  }

  /** Forgets a conversion order that could not be written. */
  releaseConversion(id: string, orderId: string): Promise<void> {
    return this.#store.releaseConversion(id, orderId);
  }

  /**
   * Moves a lead to `status` with the fields that say why, if it is in one of `from` (its filter
   * index entry moves in the same write). Idempotent: a lead already at `status` is returned as is.
   */
  async setStatus(
    id: string,
    status: LeadStatus,
    from: readonly LeadStatus[],
    fields: Readonly<Record<string, string>> = {},
  ): Promise<Lead> {
    const current = await this.get(id);
    if (current.status === status) return current;
    if (!from.includes(current.status)) {
      throw new LeadStateError(`This personal space is ${current.status}; it cannot become ${status}`, {
        extra: { status: current.status },
      });
    }
    const moved = await this.#store.setStatus(id, current.status, status, fields);
    // Null: moved meanwhile; decide again from what it says now.
    return moved ?? this.setStatus(id, status, from, fields);
  }
}
