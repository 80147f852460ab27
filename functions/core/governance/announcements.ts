/**
 * Platform announcements: written once in the public domain, then copied into each targeted
 * tenant's own partition (so a tenant reads one partition) with the same id, written only if
 * absent — a retried or resumed fan-out posts once per tenant. "All tenants" is paged over the
 * tenant listing, never read whole. An `Idempotency-Key` makes a retried POST reuse the first
 * attempt's announcement (and finish its fan-out) instead of posting a second one.
 */
import { randomBytes } from 'node:crypto';
import type { AuditLog } from '../audit/chain.ts';
import type { Table } from '../db.ts';
import { NotFoundError, ValidationError } from '../errors.ts';
import type { Announcement, Announcements } from '../foundation/announcements.ts';
import type { Page } from '../pagination.ts';
import type { Tenant, TenantRegistry } from '../tenancy/tenants.ts';
import { type Acting, recordPublic, tenantDomain } from './acting.ts';
import { PlatformAnnouncementRepository } from './platform-announcement-repository.ts';

/** Tenants read per page when an announcement goes to all of them. */
const FAN_OUT_PAGE = 100;

export interface PlatformAnnouncementInput {
  readonly title: string;
  readonly body: string;
  readonly severity?: Announcement['severity'];
  /** Tenant roles that see it; empty: every user of the tenant. */
  readonly audience?: readonly string[];
  readonly tenants: 'all' | readonly string[];
}

export interface PlatformAnnouncement {
  readonly id: string;
  readonly title: string;
  readonly body: string;
  readonly severity: Announcement['severity'];
  readonly audience: readonly string[];
  readonly tenants: 'all' | readonly string[];
  readonly createdAt: string;
  readonly createdBy: string;
  /** Tenants it has been delivered to (by the latest fan-out). */
  readonly delivered: number;
}

export interface PostOutcome {
  readonly announcement: PlatformAnnouncement;
  /** False when an idempotency key named an announcement posted before. */
  readonly created: boolean;
  /** Tenants that received it in this call (copies already there are not counted). */
  readonly newlyDelivered: number;
}

export class PlatformAnnouncements {
  readonly #store: PlatformAnnouncementRepository;
  readonly #tenants: TenantRegistry;
  readonly #announcements: Announcements;
  readonly #audit: AuditLog;
  readonly #now: () => Date;

  constructor(options: {
    table: Table;
    tenants: TenantRegistry;
    announcements: Announcements;
    audit: AuditLog;
    now?: () => Date;
  }) {
    this.#store = new PlatformAnnouncementRepository(options.table);
    this.#tenants = options.tenants;
    this.#announcements = options.announcements;
    this.#audit = options.audit;
    this.#now = options.now ?? (() => new Date());
  }

  list(limit: number, cursor?: string): Promise<Page<PlatformAnnouncement>> {
    return this.#store.page(limit, cursor);
  }

  async post(input: PlatformAnnouncementInput, by: Acting, idempotencyKey?: string): Promise<PostOutcome> {
    // Named tenants are checked before anything is written: bad input leaves no partial state.
    const named: Tenant[] = [];
    if (input.tenants !== 'all') {
      const missing: string[] = [];
      for (const id of new Set(input.tenants)) {
        const tenant = await this.#tenants.get(id).catch((error: unknown) => {
          if (error instanceof NotFoundError) return null;
          throw error;
        });
        if (tenant === null) missing.push(id);
        else named.push(tenant);
      }
      if (missing.length > 0) {
        throw new ValidationError(
          'Unknown tenants',
          missing.map((id) => ({ path: 'tenants', message: `no tenant ${id}` })),
        );
      }
    }

    const createdAt = this.#now().toISOString();
    const id = await this.#idFor(idempotencyKey, `${createdAt}-p${randomBytes(6).toString('hex')}`);
    const record: PlatformAnnouncement = {
      id,
      title: input.title,
      body: input.body,
      severity: input.severity ?? 'info',
      audience: [...(input.audience ?? [])],
      tenants: input.tenants === 'all' ? 'all' : named.map((tenant) => tenant.id),
      createdAt,
      createdBy: by.actor.username,
      delivered: 0,
    };
    const created = await this.#store.create(record);
    // A retry continues the first attempt's announcement, as it was first written.
    const stored = created ? record : await this.#get(id);

    let delivered = 0;
    let newlyDelivered = 0;
    const deliver = async (tenant: Tenant) => {
      if (tenant.status === 'archived') return;
      const copy = await this.#announcements.post(
        tenantDomain(tenant),
        {
          id: stored.id,
          title: stored.title,
          body: stored.body,
          audience: stored.audience,
          severity: stored.severity,
        },
        by.actor,
        'platform',
      );
      delivered++;
      if (copy.created) newlyDelivered++;
    };
    if (stored.tenants === 'all') {
      let cursor: string | undefined;
      do {
        const page = await this.#tenants.list(FAN_OUT_PAGE, cursor);
        for (const tenant of page.items) await deliver(tenant);
        cursor = page.cursor;
      } while (cursor !== undefined);
    } else {
      const targets = created
        ? named
        : await Promise.all(stored.tenants.map((tenant) => this.#tenants.get(tenant)));
      for (const tenant of targets) await deliver(tenant);
    }

    await this.#store.setDelivered(id, delivered);
    if (created || newlyDelivered > 0) {
      await recordPublic(this.#audit, by, 'platform-announcement.posted', `announcement:${id}`, {
        title: stored.title,
        tenants: stored.tenants,
        audience: stored.audience,
        delivered,
        newlyDelivered,
      });
    }
    return { announcement: { ...stored, delivered }, created, newlyDelivered };
  }

  async #get(id: string): Promise<PlatformAnnouncement> {
    const announcement = await this.#store.find(id);
    if (announcement === null) throw new NotFoundError(`Announcement ${id} not found`);
    return announcement;
  }

  /** The announcement id an idempotency key stands for (claimed by the first attempt). */
  async #idFor(idempotencyKey: string | undefined, fresh: string): Promise<string> {
    if (idempotencyKey === undefined) return fresh;
    if (await this.#store.claimKey(idempotencyKey, fresh)) return fresh;
    return this.#store.keyedId(idempotencyKey);
  }
}
