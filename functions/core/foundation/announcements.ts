/**
 * Announcements shown to a domain's users: written by its admins, by the platform (platform
 * announcements are copied into each targeted tenant's partition, so a tenant reads one partition),
 * or by the platform's own scans (renewal reminders to a tenant's admins).
 */
import { randomBytes } from 'node:crypto';
import type { AuditActor, AuditLog } from '../audit/chain.ts';
import type { Skill } from '../catalog/skills.ts';
import type { Table } from '../db.ts';
import { NotFoundError } from '../errors.ts';
import { MAX_PAGE_SIZE, type Page } from '../pagination.ts';
import type { DomainContext, TenantStatus } from '../tenancy/domain.ts';
import { AnnouncementRepository } from './announcement-repository.ts';

export interface Announcement {
  readonly id: string;
  readonly title: string;
  readonly body: string;
  /** Role names that see it; empty means everyone in the domain. */
  readonly audience: readonly string[];
  readonly source: 'tenant' | 'platform' | 'system';
  readonly severity: 'info' | 'warning' | 'critical';
  readonly createdAt: string;
  readonly createdBy: string;
  /** Usernames it is for (a personal notification); when set, nobody else sees it, admins included. */
  readonly recipients?: readonly string[];
  /** Usernames that never see it, admins included (a run's requester, in its approvers' notice). */
  readonly excluded?: readonly string[];
  /** A page of the front it is about (a path such as `/executions/ex-…`). */
  readonly link?: string;
  /**
   * The Skill it is about (a run waiting for approval, the decision on one): it names the Skill and
   * who asked to run it, so only readers who may see that Skill read it as written, whatever their
   * roles — checked when it is read, against the Skill as it is then (a Skill gone is seen by
   * nobody). Others read `withoutSkill` if it has one, and nothing otherwise.
   */
  readonly skillId?: string;
  /**
   * What a reader who may not see the Skill reads instead: the decision on their own run, say, without
   * the Skill's name (and without the link to a run they can no longer open). @default nothing
   */
  readonly withoutSkill?: { readonly title: string; readonly body: string };
  /**
   * The Skill's visibility when posted: the sight of a notice posted before notices named their Skill
   * (`skillId`), and what a reader of that time checks. Ignored where `skillId` is set.
   */
  readonly skillVisibility?: SkillVisibility;
  /**
   * The run it asks its readers to decide (an approval needed): shown only while that run waits for
   * approval, and never to a reader who has decided it already. Read with the page (one batch read).
   */
  readonly decisionOn?: string;
  /**
   * The tenant's state it tells about (a renewal reminder, grace, suspension): shown only while the
   * tenant is in one of `statuses` and still expires on `expiryDay` (a renewal moves both).
   */
  readonly tenantState?: TenantState;
}

/** The state of its tenant a notice is about (`Announcement.tenantState`). */
export interface TenantState {
  readonly statuses: readonly TenantStatus[];
  /** The expiry's day (`YYYY-MM-DD`, UTC). */
  readonly expiryDay: string;
}

/**
 * Of `executionIds`: those that still wait for approval and were not decided by `username` (a vote
 * of theirs), what an approval notice's reader is still asked to do; and those decided for good
 * (found, and no longer waiting), whose notices are removed.
 */
export type AwaitingDecision = (
  domain: DomainContext,
  username: string,
  executionIds: readonly string[],
) => Promise<{ readonly awaiting: ReadonlySet<string>; readonly decided: ReadonlySet<string> }>;

/**
 * At most this many notices are read for one page of a listing. A page is filled with what the
 * reader may see (notices addressed to others, or no longer current, are skipped) until it holds
 * `limit` of them or the listing ends; past this many notices read, it is handed back shorter, with
 * the cursor where the reading stopped.
 */
export const MAX_NOTICES_READ = 500;

/** Who may see a Skill (catalog/skills.ts), as an announcement about one carries it. */
export type SkillVisibility = Skill['visibility'];

/** An announcement as one user sees it: with whether they marked it read. */
export interface AnnouncementForUser extends Announcement {
  readonly read: boolean;
}

/** Who reads: their username, and their roles (`null`: every announcement of the domain, for admins). */
export interface Reader {
  readonly username: string;
  readonly roles: readonly string[] | null;
  /** Whether the reader may see a Skill of this visibility (catalog/skills.ts `canSee`). */
  readonly seesSkill: (visibility: SkillVisibility) => boolean;
  /**
   * Which of these Skills the reader may see now: asked once per page read, for every Skill its
   * notices name (a Skill that no longer exists is seen by nobody).
   */
  readonly seesSkills: (ids: readonly string[]) => Promise<ReadonlySet<string>>;
}

export interface NewAnnouncement {
  readonly title: string;
  readonly body: string;
  readonly audience?: readonly string[];
  readonly severity?: Announcement['severity'];
  /** Deterministic id, so a retried writer (a scan) posts once. */
  readonly id?: string;
  readonly recipients?: readonly string[];
  readonly excluded?: readonly string[];
  readonly link?: string;
  readonly skillId?: string;
  readonly withoutSkill?: Announcement['withoutSkill'];
  readonly skillVisibility?: SkillVisibility;
  readonly decisionOn?: string;
  readonly tenantState?: TenantState;
}

/**
 * Whether an announcement is addressed to a reader: never when it excludes them; a personal one to
 * its recipients only; otherwise by role.
 */
function addressedTo(reader: Reader, item: Announcement): boolean {
  if (item.excluded?.includes(reader.username) === true) return false;
  if (item.recipients !== undefined && item.recipients.length > 0)
    return item.recipients.includes(reader.username);
  return (
    reader.roles === null ||
    item.audience.length === 0 ||
    item.audience.some((role) => reader.roles?.includes(role) === true)
  );
}

/**
 * A notice the platform posted about a run (an approval asked, a decision) before notices named
 * their Skill: it names a Skill nobody can tell now, so it is read by nobody (the inbox and the runs
 * themselves say the same, checked as they are now).
 */
function aboutAnUnknownSkill(item: Announcement): boolean {
  return item.source === 'system' && /^(approval|decided)-/.test(item.id);
}

/**
 * An announcement addressed to the reader as they may read it: as written when they may see the
 * Skill it is about (now, by `skillsSeen`, or by the visibility an older notice carries); its
 * version without the Skill when it has one; null when they may read nothing of it.
 */
function asRead(reader: Reader, item: Announcement, skillsSeen: ReadonlySet<string>): Announcement | null {
  const { withoutSkill, ...written } = item;
  const seesSkill =
    item.skillId !== undefined
      ? skillsSeen.has(item.skillId)
      : item.skillVisibility !== undefined
        ? reader.seesSkill(item.skillVisibility)
        : !aboutAnUnknownSkill(item);
  if (seesSkill) return written;
  if (withoutSkill === undefined) return null;
  const { link: _link, skillId: _skill, skillVisibility: _visibility, decisionOn: _run, ...rest } = written;
  return { ...rest, title: withoutSkill.title, body: withoutSkill.body };
}

/** The announcements of a page a reader may read, as they may read them; their Skills' sight read once. */
async function readable(reader: Reader, items: readonly Announcement[]): Promise<Announcement[]> {
  const addressed = items.filter((item) => addressedTo(reader, item));
  const skillIds = [
    ...new Set(addressed.flatMap((item) => (item.skillId === undefined ? [] : [item.skillId]))),
  ];
  const skillsSeen = skillIds.length === 0 ? new Set<string>() : await reader.seesSkills(skillIds);
  return addressed.flatMap((item) => asRead(reader, item, skillsSeen) ?? []);
}

/** A notice's expiry day (UTC), as the lifecycle scans name it. */
function dayOf(iso: string): string {
  const at = new Date(iso);
  return Number.isNaN(at.getTime()) ? '' : at.toISOString().slice(0, 10);
}

/** Reminders are posted to live tenants only (governance/dates.ts `receivesReminders`). */
const LIVE: readonly TenantStatus[] = ['trial', 'active'];

/**
 * What a notice's currency depends on: as it carries it, or — for the platform's notices posted
 * before they carried it — as its deterministic id names it (`approval-<run>`;
 * `<at>-grace|suspended-<expiry day>`; `<at>-renewal-<expiry day>-<n>d`).
 */
function currencyOf(item: Announcement): Pick<Announcement, 'decisionOn' | 'tenantState'> {
  if (item.decisionOn !== undefined || item.tenantState !== undefined) {
    return {
      ...(item.decisionOn === undefined ? {} : { decisionOn: item.decisionOn }),
      ...(item.tenantState === undefined ? {} : { tenantState: item.tenantState }),
    };
  }
  if (item.source !== 'system') return {};
  const approval = /^approval-(.+)$/.exec(item.id);
  if (approval?.[1] !== undefined) return { decisionOn: approval[1] };
  const shutdown = /-(grace|suspended)-(\d{4}-\d{2}-\d{2})$/.exec(item.id);
  if (shutdown?.[1] !== undefined && shutdown[2] !== undefined) {
    return { tenantState: { statuses: [shutdown[1] as TenantStatus], expiryDay: shutdown[2] } };
  }
  const reminder = /-renewal-(\d{4}-\d{2}-\d{2})-\d+d$/.exec(item.id);
  if (reminder?.[1] !== undefined) return { tenantState: { statuses: LIVE, expiryDay: reminder[1] } };
  return {};
}

/**
 * The notices still current for the reader: a notice about the tenant's state while the tenant is
 * in it (read from the request's tenant, no request), an approval notice while its run waits and the
 * reader has not decided it (`waiting`).
 */
function current(
  domain: DomainContext,
  items: readonly Announcement[],
  waiting: ReadonlySet<string>,
): Announcement[] {
  const tenant = domain.kind === 'tenant' ? domain.tenant : null;
  return items.flatMap((item) => {
    const { decisionOn, tenantState } = currencyOf(item);
    if (decisionOn !== undefined && !waiting.has(decisionOn)) return [];
    if (
      tenantState !== undefined &&
      tenant !== null &&
      (!tenantState.statuses.includes(tenant.status) || dayOf(tenant.expiresAt) !== tenantState.expiryDay)
    ) {
      return [];
    }
    return [item];
  });
}

export class Announcements {
  readonly #store: AnnouncementRepository;
  readonly #audit: AuditLog;
  readonly #now: () => Date;
  readonly #awaiting: AwaitingDecision | undefined;

  constructor(options: {
    table: Table;
    audit: AuditLog;
    now?: () => Date;
    /** Which runs still wait for a reader's decision (approval notices). @default all of them */
    awaiting?: AwaitingDecision;
  }) {
    this.#store = new AnnouncementRepository(options.table);
    this.#audit = options.audit;
    this.#now = options.now ?? (() => new Date());
    this.#awaiting = options.awaiting;
  }

  /** Posts one announcement; with a given `id`, a repeat is a no-op and returns false. */
  async post(
    domain: DomainContext,
    input: NewAnnouncement,
    actor: AuditActor,
    source: Announcement['source'],
  ): Promise<{ announcement: Announcement; created: boolean }> {
    const createdAt = this.#now().toISOString();
    const id = input.id ?? `${createdAt}-${randomBytes(6).toString('hex')}`;
    const announcement: Announcement = {
      id,
      title: input.title,
      body: input.body,
      audience: [...(input.audience ?? [])],
      source,
      severity: input.severity ?? 'info',
      createdAt,
      createdBy: actor.username,
      ...(input.recipients === undefined || input.recipients.length === 0
        ? {}
        : { recipients: [...input.recipients] }),
      ...(input.excluded === undefined || input.excluded.length === 0
        ? {}
        : { excluded: [...input.excluded] }),
      ...(input.link === undefined ? {} : { link: input.link }),
      ...(input.skillId === undefined ? {} : { skillId: input.skillId }),
      ...(input.withoutSkill === undefined
        ? {}
        : { withoutSkill: { title: input.withoutSkill.title, body: input.withoutSkill.body } }),
      ...(input.skillVisibility === undefined
        ? {}
        : { skillVisibility: { roles: [...input.skillVisibility.roles] } }),
      ...(input.decisionOn === undefined ? {} : { decisionOn: input.decisionOn }),
      ...(input.tenantState === undefined
        ? {}
        : {
            tenantState: {
              statuses: [...input.tenantState.statuses],
              expiryDay: input.tenantState.expiryDay,
            },
          }),
    };
    if (!(await this.#store.post(domain, announcement))) return { announcement, created: false };
    await this.#audit.record(domain, {
      actor,
      action: 'announcement.posted',
      target: `announcement:${id}`,
      details: { title: input.title, audience: announcement.audience, source },
    });
    return { announcement, created: true };
  }

  /**
   * Newest first, only what the reader may see and what is still current, each with whether the
   * reader marked it read; with `unread`, only those not marked. Up to `limit` of them: notices are
   * read until the page is full or the listing ends, `MAX_NOTICES_READ` at most (the cursor then
   * says where to go on).
   */
  async list(
    domain: DomainContext,
    reader: Reader,
    limit: number,
    cursor?: string,
    options: { readonly unread?: boolean } = {},
  ): Promise<Page<AnnouncementForUser>> {
    const items: AnnouncementForUser[] = [];
    let next = cursor;
    let read = 0;
    for (;;) {
      // The first read is the page asked for; more are read in the largest pages.
      const size = Math.min(read === 0 ? limit : MAX_PAGE_SIZE, MAX_NOTICES_READ - read);
      const page = await this.#store.page(domain, size, next);
      read += page.items.length;
      const shown = await this.#shown(domain, reader, page.items, options.unread === true);
      const room = limit - items.length;
      if (shown.length >= room) {
        const kept = shown.slice(0, room);
        items.push(...kept);
        const last = kept.at(-1);
        // A page that ends inside what was read goes on after its last notice.
        if (last !== undefined && last.id !== page.items.at(-1)?.id) {
          return { items, cursor: this.#store.cursorAfter(domain, last.id) };
        }
        return page.cursor === undefined ? { items } : { items, cursor: page.cursor };
      }
      items.push(...shown);
      if (page.cursor === undefined) return { items };
      if (read >= MAX_NOTICES_READ) return { items, cursor: page.cursor };
      next = page.cursor;
    }
  }

  /**
   * What the reader is shown of notices read: those addressed to them, current and readable, with
   * their read marks (only the unread with `unread`). The approval notices read — whoever they are
   * addressed to — are checked in one batch read, and those of a decided run are removed: they would
   * never be shown again, and would only stand before the live ones in every read.
   */
  async #shown(
    domain: DomainContext,
    reader: Reader,
    notices: readonly Announcement[],
    unread: boolean,
  ): Promise<AnnouncementForUser[]> {
    const runs = [...new Set(notices.flatMap((item) => currencyOf(item).decisionOn ?? []))];
    const decisions =
      runs.length === 0 || this.#awaiting === undefined
        ? { awaiting: new Set(runs), decided: new Set<string>() }
        : await this.#awaiting(domain, reader.username, runs);
    const retired = notices.filter((item) => {
      const run = currencyOf(item).decisionOn;
      return run !== undefined && decisions.decided.has(run);
    });
    await this.#store.remove(
      domain,
      retired.map((item) => item.id),
    );
    const addressed = notices.filter((item) => addressedTo(reader, item));
    const visible = await readable(reader, current(domain, addressed, decisions.awaiting));
    const marks = await this.#store.readMarks(
      domain,
      reader.username,
      visible.map((item) => item.id),
    );
    return visible
      .map((item) => ({ ...item, read: marks.has(item.id) }))
      .filter((item) => !unread || !item.read);
  }

  /** Marks an announcement the reader may see as read by them (idempotent). */
  async markRead(domain: DomainContext, reader: Reader, id: string): Promise<void> {
    const found = id.length > 0 && id.length <= 128 ? await this.#store.find(domain, id) : null;
    if (found === null || (await readable(reader, [found])).length === 0) {
      throw new NotFoundError(`Announcement ${id} not found`);
    }
    await this.#store.markRead(domain, reader.username, id, this.#now().toISOString());
  }
}
