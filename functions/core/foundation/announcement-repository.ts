/**
 * Where a domain's announcements (`ANN#<id>`) and each user's read marks
 * (`ANNREAD#<username>#<id>`) are stored, in the domain's partition. Every DynamoDB call of the
 * announcements is here; items are parsed at this boundary, and an announcement posted twice under
 * one id is an answer (`false`), not an error. Who sees what stays in announcements.ts.
 */
import { DeleteCommand, GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import { batchGetMany, type Table } from '../db.ts';
import { announcementReadKey, domainPk, ITEM_TYPE, itemKey, TAG, typePrefix } from '../keys.ts';
import { encodeCursor, type Page } from '../pagination.ts';
import { putItem } from '../store/conditional.ts';
import { queryPageOf } from '../store/paged-query.ts';
import { type DomainContext, TENANT_STATUSES } from '../tenancy/domain.ts';
import type { Announcement, SkillVisibility, TenantState } from './announcements.ts';

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
    ...(Array.isArray(item.excluded) ? { excluded: item.excluded as string[] } : {}),
    ...(typeof item.link === 'string' ? { link: item.link } : {}),
    ...(typeof item.skillId === 'string' ? { skillId: item.skillId } : {}),
    ...(isTitled(item.withoutSkill)
      ? { withoutSkill: { title: item.withoutSkill.title, body: item.withoutSkill.body } }
      : {}),
    ...(isSkillVisibility(item.skillVisibility) ? { skillVisibility: item.skillVisibility } : {}),
    ...(typeof item.decisionOn === 'string' ? { decisionOn: item.decisionOn } : {}),
    ...(isTenantState(item.tenantState) ? { tenantState: item.tenantState } : {}),
  };
}

function isTenantState(value: unknown): value is TenantState {
  if (typeof value !== 'object' || value === null) return false;
  const { statuses, expiryDay } = value as { statuses?: unknown; expiryDay?: unknown };
  return (
    Array.isArray(statuses) &&
    statuses.every((status) => (TENANT_STATUSES as readonly unknown[]).includes(status)) &&
    typeof expiryDay === 'string'
  );
}

function isTitled(value: unknown): value is { title: string; body: string } {
  return (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as { title?: unknown }).title === 'string' &&
    typeof (value as { body?: unknown }).body === 'string'
  );
}

function isSkillVisibility(value: unknown): value is SkillVisibility {
  return (
    typeof value === 'object' &&
    value !== null &&
    Array.isArray((value as { roles?: unknown }).roles) &&
    (value as { roles: unknown[] }).roles.every((role) => typeof role === 'string')
  );
}

export class AnnouncementRepository {
  readonly #table: Table;

  constructor(table: Table) {
    this.#table = table;
  }

  /** Writes an announcement; false when one with its id exists already. */
  async post(domain: DomainContext, announcement: Announcement): Promise<boolean> {
    return putItem(this.#table, {
      Item: {
        ...itemKey(domain, TAG.announcement, announcement.id),
        type: ITEM_TYPE.announcement,
        ...announcement,
        sortAt: announcement.createdAt,
      },
      ConditionExpression: 'attribute_not_exists(PK)',
    });
  }

  async find(domain: DomainContext, id: string): Promise<Announcement | null> {
    const result = await this.#table.client.send(
      new GetCommand({ TableName: this.#table.name, Key: itemKey(domain, TAG.announcement, id) }),
    );
    return result.Item === undefined ? null : fromItem(result.Item);
  }

  /** Newest first. */
  page(domain: DomainContext, limit: number, cursor?: string): Promise<Page<Announcement>> {
    return queryPageOf(
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
  }

  /**
   * The cursor of the listing (`page`) that goes on after the announcement `id`: for a page that ends
   * inside what was read.
   */
  cursorAfter(domain: DomainContext, id: string): string {
    const { PK, SK } = itemKey(domain, TAG.announcement, id);
    return encodeCursor({ PK, SK });
  }

  /**
   * Deletes announcements (those gone already too); their read marks stay, read by no listing. A
   * clean-up done while reading: a delete that fails leaves its announcement to the next read, and
   * never fails the read.
   */
  async remove(domain: DomainContext, ids: readonly string[]): Promise<void> {
    await Promise.allSettled(
      ids.map((id) =>
        this.#table.client.send(
          new DeleteCommand({ TableName: this.#table.name, Key: itemKey(domain, TAG.announcement, id) }),
        ),
      ),
    );
  }

  async markRead(domain: DomainContext, username: string, id: string, at: string): Promise<void> {
    await this.#table.client.send(
      new PutCommand({
        TableName: this.#table.name,
        Item: {
          ...announcementReadKey(domain, username, id),
          type: ITEM_TYPE.announcementRead,
          announcementId: id,
          readAt: at,
        },
      }),
    );
  }

  /** Which of `ids` the user marked read. */
  async readMarks(domain: DomainContext, username: string, ids: readonly string[]): Promise<Set<string>> {
    const items = await batchGetMany(
      this.#table,
      ids.map((id) => announcementReadKey(domain, username, id)),
    );
    return new Set(items.map((item) => String(item.announcementId)));
  }
}
