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
import type { Page } from '../pagination.ts';
import type { DomainContext } from '../tenancy/domain.ts';
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
}

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
  const { link: _link, skillId: _skill, skillVisibility: _visibility, ...rest } = written;
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

export class Announcements {
  readonly #store: AnnouncementRepository;
  readonly #audit: AuditLog;
  readonly #now: () => Date;

  constructor(options: { table: Table; audit: AuditLog; now?: () => Date }) {
    this.#store = new AnnouncementRepository(options.table);
    this.#audit = options.audit;
    this.#now = options.now ?? (() => new Date());
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
   * Newest first, only what the reader may see, each with whether the reader marked it read. With
   * `unread`, only those not marked (within the page read: a page is `limit` announcements).
   */
  async list(
    domain: DomainContext,
    reader: Reader,
    limit: number,
    cursor?: string,
    options: { readonly unread?: boolean } = {},
  ): Promise<Page<AnnouncementForUser>> {
    const page = await this.#store.page(domain, limit, cursor);
    const visible = await readable(reader, page.items);
    const read = await this.#store.readMarks(
      domain,
      reader.username,
      visible.map((item) => item.id),
    );
    const items = visible
      .map((item) => ({ ...item, read: read.has(item.id) }))
      .filter((item) => options.unread !== true || !item.read);
    return page.cursor === undefined ? { items } : { items, cursor: page.cursor };
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
