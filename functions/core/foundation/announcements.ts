/**
 * Announcements shown to a domain's users: written by its admins, by the platform (platform
 * announcements are copied into each targeted tenant's partition, so a tenant reads one partition),
 * or by the platform's own scans (renewal reminders to a tenant's admins).
 */
import { randomBytes } from 'node:crypto';
import { PutCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';
import type { AuditActor, AuditLog } from '../audit/chain.ts';
import type { Table } from '../db.ts';
import { domainPk, itemKey, typePrefix } from '../keys.ts';
import { decodeCursor, encodeCursor, type Page } from '../pagination.ts';
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
}

export interface NewAnnouncement {
  readonly title: string;
  readonly body: string;
  readonly audience?: readonly string[];
  readonly severity?: Announcement['severity'];
  /** Deterministic id, so a retried writer (a scan) posts once. */
  readonly id?: string;
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
    };
    try {
      await this.#table.client.send(
        new PutCommand({
          TableName: this.#table.name,
          Item: { ...itemKey(domain, 'ANN', id), type: 'ANN', ...announcement, sortAt: createdAt },
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

  /** Newest first, only what the given roles may see (`null` roles: everything, for admins). */
  async list(
    domain: DomainContext,
    roles: readonly string[] | null,
    limit: number,
    cursor?: string,
  ): Promise<Page<Announcement>> {
    const pk = domainPk(domain);
    const result = await this.#table.client.send(
      new QueryCommand({
        TableName: this.#table.name,
        KeyConditionExpression: 'PK = :pk AND begins_with(SK, :prefix)',
        ExpressionAttributeValues: { ':pk': pk, ':prefix': typePrefix('ANN') },
        ScanIndexForward: false,
        Limit: limit,
        ...(cursor === undefined ? {} : { ExclusiveStartKey: decodeCursor(cursor, { PK: pk }) }),
      }),
    );
    const items = (result.Items ?? [])
      .map(
        (item): Announcement => ({
          id: String(item.id),
          title: String(item.title),
          body: String(item.body),
          audience: (item.audience as string[]) ?? [],
          source: item.source as Announcement['source'],
          severity: (item.severity as Announcement['severity']) ?? 'info',
          createdAt: String(item.createdAt),
          createdBy: String(item.createdBy),
        }),
      )
      .filter(
        (item) =>
          roles === null || item.audience.length === 0 || item.audience.some((role) => roles.includes(role)),
      );
    return result.LastEvaluatedKey === undefined
      ? { items }
      : { items, cursor: encodeCursor(result.LastEvaluatedKey) };
  }
}
