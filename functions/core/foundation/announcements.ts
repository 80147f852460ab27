/**
 * Announcements shown to a domain's users: written by its admins, by the platform (platform
 * announcements are copied into each targeted tenant's partition, so a tenant reads one partition),
 * or by the platform's own scans (renewal reminders to a tenant's admins).
 */
import { randomBytes } from 'node:crypto';
import { BatchGetCommand, GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import type { AuditActor, AuditLog } from '../audit/chain.ts';
import type { Table } from '../db.ts';
import { NotFoundError } from '../errors.ts';
import { announcementReadKey, domainPk, ITEM_TYPE, itemKey, TAG, typePrefix } from '../keys.ts';
import type { Page } from '../pagination.ts';
import { queryPageOf } from '../store/paged-query.ts';
import type { DomainContext } from '../tenancy/domain.ts';

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
  /** A page of the front it is about (a path such as `/executions/ex-…`). */
  readonly link?: string;
}

/** An announcement as one user sees it: with whether they marked it read. */
export interface AnnouncementForUser extends Announcement {
  readonly read: boolean;
}

/** Who reads: their username, and their roles (`null`: every announcement of the domain, for admins). */
export interface Reader {
  readonly username: string;
  readonly roles: readonly string[] | null;
}

export interface NewAnnouncement {
  readonly title: string;
  readonly body: string;
  readonly audience?: readonly string[];
  readonly severity?: Announcement['severity'];
  /** Deterministic id, so a retried writer (a scan) posts once. */
  readonly id?: string;
  readonly recipients?: readonly string[];
  readonly link?: string;
}

function fromItem(item: Record<string, unknown>): Announcement {
  return {
    id: String(item.id),
    title: String(item.title),
    body: String(item.body),
    audience: (item.audience as string[]) ?? [],
    source: item.source as Announcement['source'],
    severity: (item.severity as Announcement['severity']) ?? 'info',
    createdAt: String(item.createdAt),
    createdBy: String(item.createdBy),
    ...(Array.isArray(item.recipients) ? { recipients: item.recipients as string[] } : {}),
    ...(typeof item.link === 'string' ? { link: item.link } : {}),
  };
}

/** Whether a reader sees an announcement: a personal one only its recipients; otherwise by role. */
function visibleTo(reader: Reader, item: Announcement): boolean {
  if (item.recipients !== undefined && item.recipients.length > 0)
    return item.recipients.includes(reader.username);
  return (
    reader.roles === null ||
    item.audience.length === 0 ||
    item.audience.some((role) => reader.roles?.includes(role) === true)
  );
}

export class Announcements {
  readonly #table: Table;
  readonly #audit: AuditLog;
  readonly #now: () => Date;

  constructor(options: { table: Table; audit: AuditLog; now?: () => Date }) {
    this.#table = options.table;
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
      ...(input.link === undefined ? {} : { link: input.link }),
    };
    try {
      await this.#table.client.send(
        new PutCommand({
          TableName: this.#table.name,
          Item: {
            ...itemKey(domain, TAG.announcement, id),
            type: ITEM_TYPE.announcement,
            ...announcement,
            sortAt: createdAt,
          },
          ConditionExpression: 'attribute_not_exists(PK)',
        }),
      );
    } catch (error) {
      if ((error as Error).name === 'ConditionalCheckFailedException')
        return { announcement, created: false };
      throw error;
    }
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
    const page = await queryPageOf(
      this.#table,
      {
        partition: domainPk(domain),
        range: { prefix: typePrefix(TAG.announcement) },
        newestFirst: true,
        limit,
        ...(cursor === undefined ? {} : { cursor }),
      },
      fromItem,
    );
    const visible = page.items.filter((item) => visibleTo(reader, item));
    const read = await this.#readMarks(
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
    const found =
      id.length > 0 && id.length <= 128
        ? await this.#table.client.send(
            new GetCommand({ TableName: this.#table.name, Key: itemKey(domain, TAG.announcement, id) }),
          )
        : { Item: undefined };
    if (found.Item === undefined || !visibleTo(reader, fromItem(found.Item))) {
      throw new NotFoundError(`Announcement ${id} not found`);
    }
    await this.#table.client.send(
      new PutCommand({
        TableName: this.#table.name,
        Item: {
          ...announcementReadKey(domain, reader.username, id),
          type: ITEM_TYPE.announcementRead,
          announcementId: id,
          readAt: this.#now().toISOString(),
        },
      }),
    );
  }

  async #readMarks(domain: DomainContext, username: string, ids: readonly string[]): Promise<Set<string>> {
    const read = new Set<string>();
    for (let start = 0; start < ids.length; start += 100) {
      const keys = ids.slice(start, start + 100).map((id) => announcementReadKey(domain, username, id));
      let pending: Record<string, unknown>[] = keys.map((key) => ({ ...key }));
      for (let attempt = 0; pending.length > 0 && attempt < 5; attempt++) {
        const result = await this.#table.client.send(
          new BatchGetCommand({ RequestItems: { [this.#table.name]: { Keys: pending } } }),
        );
        for (const item of result.Responses?.[this.#table.name] ?? []) {
          read.add(String(item.announcementId));
        }
        pending = (result.UnprocessedKeys?.[this.#table.name]?.Keys ?? []) as Record<string, unknown>[];
      }
    }
    return read;
  }
}
