/**
 * Where platform announcements are stored in the public partition: the announcement
 * (`PANN#<id>`, with how many tenants its latest fan-out reached) and the idempotency keys of the
 * POSTs that made them (`PANNKEY#<key>`). Every DynamoDB call of the platform announcements is here;
 * items are parsed at this boundary, and an announcement or a key written twice is an answer
 * (`false`), not an error. The fan-out and its order stay in announcements.ts.
 */
import { GetCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import type { Table } from '../db.ts';
import type { Announcement } from '../foundation/announcements.ts';
import { ITEM_TYPE } from '../keys.ts';
import type { Page } from '../pagination.ts';
import { putItem } from '../store/conditional.ts';
import type { PlatformAnnouncement } from './announcements.ts';
import { announcementKeyKey, PLATFORM_ANNOUNCEMENT_PREFIX, platformAnnouncementKey } from './keys.ts';
import { newestFirst } from './paging.ts';

function fromItem(item: Record<string, unknown>): PlatformAnnouncement {
  return {
    id: String(item.id),
    title: String(item.title),
    body: String(item.body),
    severity: (item.severity as Announcement['severity'] | undefined) ?? 'info',
    audience: (item.audience as string[] | undefined) ?? [],
    tenants: item.tenants === 'all' ? 'all' : ((item.tenants as string[] | undefined) ?? []),
    createdAt: String(item.createdAt),
    createdBy: String(item.createdBy),
    delivered: Number(item.delivered ?? 0),
  };
}

export class PlatformAnnouncementRepository {
  readonly #table: Table;

  constructor(table: Table) {
    this.#table = table;
  }

  /** Newest first. */
  page(limit: number, cursor?: string): Promise<Page<PlatformAnnouncement>> {
    return newestFirst(this.#table, PLATFORM_ANNOUNCEMENT_PREFIX, limit, cursor, fromItem);
  }

  /** Writes an announcement; false when one with its id exists already. */
  async create(announcement: PlatformAnnouncement): Promise<boolean> {
    return putItem(this.#table, {
      Item: {
        ...platformAnnouncementKey(announcement.id),
        type: ITEM_TYPE.platformAnnouncement,
        ...announcement,
      },
      ConditionExpression: 'attribute_not_exists(PK)',
    });
  }

  /** An announcement (strongly consistent), or null. */
  async find(id: string): Promise<PlatformAnnouncement | null> {
    const result = await this.#table.client.send(
      new GetCommand({
        TableName: this.#table.name,
        Key: platformAnnouncementKey(id),
        ConsistentRead: true,
      }),
    );
    return result.Item === undefined ? null : fromItem(result.Item);
  }

  async setDelivered(id: string, delivered: number): Promise<void> {
    await this.#table.client.send(
      new UpdateCommand({
        TableName: this.#table.name,
        Key: platformAnnouncementKey(id),
        UpdateExpression: 'SET delivered = :delivered',
        ExpressionAttributeValues: { ':delivered': delivered },
      }),
    );
  }

  /** Claims an idempotency key for `announcementId`; false when an earlier POST claimed it. */
  async claimKey(idempotencyKey: string, announcementId: string): Promise<boolean> {
    return putItem(this.#table, {
      Item: {
        ...announcementKeyKey(idempotencyKey),
        type: ITEM_TYPE.platformAnnouncementKey,
        announcementId,
      },
      ConditionExpression: 'attribute_not_exists(PK)',
    });
  }

  /** The announcement id an idempotency key was claimed for (strongly consistent). */
  async keyedId(idempotencyKey: string): Promise<string> {
    const result = await this.#table.client.send(
      new GetCommand({
        TableName: this.#table.name,
        Key: announcementKeyKey(idempotencyKey),
        ConsistentRead: true,
      }),
    );
    return String(result.Item?.announcementId);
  }
}
