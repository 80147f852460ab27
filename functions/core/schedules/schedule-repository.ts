/**
 * Where schedules are stored: the schedule (`SCHED#<id>`, in the due index while enabled), its fire
 * log (`SCHEDLOG#<scheduled time>#<id>`, and one schedule's log on GSI1) and the day's fire counter
 * (`SCHEDQUOTA#<day>`), all in the tenant's partition. Every DynamoDB call of the schedules is here;
 * items are parsed at this boundary. A definition write refused by its revision is a
 * ScheduleConflictError (still a 409); the refusals a fire expects (a log entry taken by an earlier
 * delivery, a schedule changed or deleted since it was read, the day's fires used up) are answers.
 * The rules (timing, admission, the missed-fire policy) stay in schedules.ts.
 */
import { DeleteCommand, GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import { queryAll, type Table } from '../db.ts';
import { ConflictError } from '../errors.ts';
import { parseJson, stringifyJson } from '../json.ts';
import { domainPk, INDEX, ITEM_TYPE, indexAttributes, indexKeyNames, withoutKeys } from '../keys.ts';
import type { Page } from '../pagination.ts';
import { putItem, updateItem } from '../store/conditional.ts';
import { countWithin } from '../store/counters.ts';
import { queryPageOf } from '../store/paged-query.ts';
import type { TenantContext } from '../tenancy/domain.ts';
import {
  DUE_SHARDS,
  dueEntry,
  dueShard,
  dueUntil,
  LOG_PREFIX,
  logKey,
  quotaKey,
  SCHEDULE_PREFIX,
  scheduleKey,
  scheduleLogPartition,
} from './keys.ts';
import type { FireLogEntry, FireOutcome, Schedule } from './schedules.ts';

/** A schedule's definition changed since it was read. Still a 409. */
export class ScheduleConflictError extends ConflictError {
  constructor(id: string, options: { cause?: unknown } = {}) {
    super(`Schedule ${id} changed concurrently; retry`, options);
  }
}

/** An enabled schedule due at or before a time, as the due index holds it. */
export interface DueSchedule {
  readonly tenantId: string;
  readonly scheduleId: string;
  readonly nextFireAt: string;
}

const DUE_INDEX = indexKeyNames(INDEX.lifecycle);

/** What a fire notes on its schedule (`markFired`): no definition's write may undo it. */
const LAST_FIRE = ['lastFireAt', 'lastOutcome', 'lastReason', 'lastExecutionId'] as const;

/** How often a definition's write is tried while fires keep landing between its read and write. */
const MAX_REPLACE_WRITES = 3;

/** A condition that the stored schedule's last fire is the one `schedule` carries (or none). */
function lastFireCondition(schedule: Schedule): { condition: string; values: Record<string, unknown> } {
  const values: Record<string, unknown> = {};
  const parts = LAST_FIRE.map((name) => {
    const value = schedule[name];
    if (value === undefined) return `attribute_not_exists(${name})`;
    values[`:${name}`] = value;
    return `${name} = :${name}`;
  });
  return { condition: parts.join(' AND '), values };
}

/** `schedule` without a last fire (given another Skill, it has not fired yet). */
export function withoutLastFire(schedule: Schedule): Schedule {
  return withLastFireOf(schedule, {} as Schedule);
}

/** `schedule` with the last fire of `stored` in place of its own. */
function withLastFireOf(schedule: Schedule, stored: Schedule): Schedule {
  const next: Record<string, unknown> = { ...schedule };
  for (const name of LAST_FIRE) {
    if (stored[name] === undefined) delete next[name];
    else next[name] = stored[name];
  }
  return next as unknown as Schedule;
}

function toSchedule(item: Record<string, unknown>): Schedule {
  // A run's status is read when listed, never taken from the item.
  const {
    type: _type,
    lastExecutionStatus: _never,
    inputJson,
    ...rest
  } = withoutKeys(item, [INDEX.lifecycle]);
  // The input is JSON text, as a run's is (schedules written before kept it as a map).
  return (typeof inputJson === 'string'
    ? { ...rest, input: parseJson(inputJson) }
    : rest) as unknown as Schedule;
}

function toEntry(item: Record<string, unknown>): FireLogEntry {
  const { type: _type, expiresAtEpoch: _ttl, ...rest } = withoutKeys(item, [INDEX.listing]);
  return rest as unknown as FireLogEntry;
}

/**
 * The stored schedule. Its input is kept as JSON text, as a run's input is: a map would be
 * marshalled, and DynamoDB numbers are not JSON's (1e20 was refused by the marshaller, a 500; a
 * number a double cannot hold exactly would lose digits before its runs got it).
 */
function scheduleItem(domain: TenantContext, schedule: Schedule): Record<string, unknown> {
  const { input, ...rest } = schedule;
  return {
    ...scheduleKey(domain, schedule.id),
    type: ITEM_TYPE.schedule,
    tenantId: domain.tenant.id,
    ...rest,
    inputJson: stringifyJson(input),
    ...(schedule.state === 'enabled' && schedule.nextFireAt !== undefined
      ? indexAttributes(INDEX.lifecycle, dueEntry(domain, schedule.id, schedule.nextFireAt))
      : {}),
  };
}

function logItem(
  domain: TenantContext,
  entry: FireLogEntry,
  expiresAtEpoch: number,
): Record<string, unknown> {
  return {
    ...logKey(domain, entry.scheduledTime, entry.scheduleId, entry.trigger),
    type: ITEM_TYPE.scheduleLog,
    ...indexAttributes(INDEX.listing, {
      partition: scheduleLogPartition(domain, entry.scheduleId),
      sort: entry.scheduledTime,
    }),
    ...entry,
    expiresAtEpoch,
  };
}

/**
 * Every schedule of the tenant (bounded by its plan), in key order. On its own, for what only counts
 * schedules (the plan's quota), so functions that never change one do not load the repository.
 */
export async function allSchedules(table: Table, domain: TenantContext): Promise<Schedule[]> {
  const schedules: Schedule[] = [];
  for await (const item of queryAll(table, {
    KeyConditionExpression: 'PK = :pk AND begins_with(SK, :prefix)',
    ExpressionAttributeValues: { ':pk': domainPk(domain), ':prefix': SCHEDULE_PREFIX },
  })) {
    schedules.push(toSchedule(item));
  }
  return schedules;
}

export class ScheduleRepository {
  readonly #table: Table;

  constructor(table: Table) {
    this.#table = table;
  }

  /** A schedule (strongly consistent), or null. */
  async find(domain: TenantContext, id: string): Promise<Schedule | null> {
    const result = await this.#table.client.send(
      new GetCommand({ TableName: this.#table.name, Key: scheduleKey(domain, id), ConsistentRead: true }),
    );
    return result.Item === undefined ? null : toSchedule(result.Item);
  }

  /** Every schedule of the tenant (bounded by its plan), in key order. */
  all(domain: TenantContext): Promise<Schedule[]> {
    return allSchedules(this.#table, domain);
  }

  /** Writes a new schedule; its id taken already is a ScheduleConflictError. */
  async create(domain: TenantContext, schedule: Schedule): Promise<void> {
    await putItem(
      this.#table,
      { Item: scheduleItem(domain, schedule), ConditionExpression: 'attribute_not_exists(PK)' },
      (error) => new ScheduleConflictError(schedule.id, { cause: error }),
    );
  }

  /**
   * Writes `schedule` over the one at `expectedRevision`; any other is a ScheduleConflictError. A
   * fire noted on the schedule since it was read (`markFired`, which leaves the revision) is kept:
   * the write is conditioned on the last fire it carries too, and on a fire in between it takes the
   * stored one and writes again (at most MAX_REPLACE_WRITES times). With `dropLastFire` (its Skill
   * changed), it is written without any last fire: that was of another Skill, whose run and reasons
   * a reader of the new one may not see.
   */
  async replace(
    domain: TenantContext,
    schedule: Schedule,
    expectedRevision: number,
    options: { readonly dropLastFire?: boolean } = {},
  ): Promise<void> {
    let next = options.dropLastFire === true ? withoutLastFire(schedule) : schedule;
    for (let write = 1; ; write += 1) {
      const fired =
        options.dropLastFire === true
          ? { condition: 'attribute_exists(PK)', values: {} }
          : lastFireCondition(next);
      try {
        await putItem(
          this.#table,
          {
            Item: scheduleItem(domain, next),
            ConditionExpression: `revision = :current AND ${fired.condition}`,
            ExpressionAttributeValues: { ':current': expectedRevision, ...fired.values },
          },
          (error) => new ScheduleConflictError(schedule.id, { cause: error }),
        );
        return;
      } catch (error) {
        if (!(error instanceof ScheduleConflictError) || write === MAX_REPLACE_WRITES) throw error;
        const stored = await this.find(domain, schedule.id);
        if (stored === null || stored.revision !== expectedRevision) throw error;
        next = withLastFireOf(next, stored);
      }
    }
  }

  async delete(domain: TenantContext, id: string): Promise<void> {
    await this.#table.client.send(
      new DeleteCommand({ TableName: this.#table.name, Key: scheduleKey(domain, id) }),
    );
  }

  /**
   * Moves an enabled schedule still at `revision` on to its next fire time, or completes it (`next`
   * null). False when it changed meanwhile (edited, paused, deleted): its own write set the time.
   */
  async advance(
    domain: TenantContext,
    id: string,
    revision: number,
    next: { readonly nextFireAt: string } | null,
  ): Promise<boolean> {
    const due = next === null ? undefined : dueEntry(domain, id, next.nextFireAt);
    return (
      (await updateItem(this.#table, {
        Key: scheduleKey(domain, id),
        UpdateExpression:
          due === undefined
            ? 'SET #state = :completed REMOVE nextFireAt, #duePk, #dueSk'
            : 'SET nextFireAt = :next, #duePk = :pk, #dueSk = :sk',
        ConditionExpression: 'revision = :revision AND #state = :enabled',
        ExpressionAttributeNames: { '#state': 'state', '#duePk': DUE_INDEX.pk, '#dueSk': DUE_INDEX.sk },
        ExpressionAttributeValues: {
          ':revision': revision,
          ':enabled': 'enabled',
          ...(due === undefined
            ? { ':completed': 'completed' }
            : { ':next': next?.nextFireAt, ':pk': due.partition, ':sk': due.sort }),
        },
      })) !== null
    );
  }

  /**
   * Notes a fire on its schedule: its scheduled time, outcome, and the run it started or why it was
   * skipped (an earlier fire's are removed). False when the schedule was deleted meanwhile.
   */
  async markFired(
    domain: TenantContext,
    id: string,
    fire: Pick<FireLogEntry, 'scheduledTime' | 'reason' | 'executionId'> & { readonly outcome: FireOutcome },
  ): Promise<boolean> {
    const set = ['lastFireAt = :at', 'lastOutcome = :outcome'];
    const remove: string[] = [];
    const values: Record<string, unknown> = { ':at': fire.scheduledTime, ':outcome': fire.outcome };
    for (const [name, value] of [
      ['lastReason', fire.reason],
      ['lastExecutionId', fire.executionId],
    ] as const) {
      if (value === undefined) {
        remove.push(name);
      } else {
        set.push(`${name} = :${name}`);
        values[`:${name}`] = value;
      }
    }
    return (
      (await updateItem(this.#table, {
        Key: scheduleKey(domain, id),
        UpdateExpression: `SET ${set.join(', ')}${remove.length === 0 ? '' : ` REMOVE ${remove.join(', ')}`}`,
        ConditionExpression: 'attribute_exists(PK)',
        ExpressionAttributeValues: values,
      })) !== null
    );
  }

  /**
   * Takes a fire's log entry: false when an earlier delivery took it. An entry whose request failed
   * may be taken again by its retry.
   */
  async claimLog(domain: TenantContext, entry: FireLogEntry, expiresAtEpoch: number): Promise<boolean> {
    return putItem(this.#table, {
      Item: logItem(domain, entry, expiresAtEpoch),
      ConditionExpression: 'attribute_not_exists(PK) OR outcome = :failed',
      ExpressionAttributeValues: { ':failed': 'failed' },
    });
  }

  /** Writes a fire's log entry as it now stands. */
  async putLog(domain: TenantContext, entry: FireLogEntry, expiresAtEpoch: number): Promise<void> {
    await this.#table.client.send(
      new PutCommand({ TableName: this.#table.name, Item: logItem(domain, entry, expiresAtEpoch) }),
    );
  }

  /** Fire log entries, newest first: one schedule's (on GSI1), or the tenant's. */
  logPage(
    domain: TenantContext,
    options: { scheduleId?: string; limit: number; cursor?: string },
  ): Promise<Page<FireLogEntry>> {
    return queryPageOf(
      this.#table,
      {
        ...(options.scheduleId === undefined
          ? { partition: domainPk(domain), range: { prefix: LOG_PREFIX } }
          : {
              index: INDEX.listing,
              partition: scheduleLogPartition(domain, options.scheduleId),
              owner: { partition: domainPk(domain), prefix: LOG_PREFIX },
            }),
        newestFirst: true,
        limit: options.limit,
        ...(options.cursor === undefined ? {} : { cursor: options.cursor }),
      },
      toEntry,
    );
  }

  /** Counts one fire of the day; false when the day's `limit` is used up. */
  countFire(domain: TenantContext, day: string, limit: number, expiresAtEpoch: number): Promise<boolean> {
    return countWithin(this.#table, {
      key: quotaKey(domain, day),
      attribute: 'fires',
      type: ITEM_TYPE.scheduleQuota,
      limit,
      expiresAtEpoch,
    });
  }

  /** Enabled schedules of every tenant due at or before `at`, shard by shard of the due index. */
  async *due(at: Date): AsyncGenerator<DueSchedule> {
    for (let shard = 0; shard < DUE_SHARDS; shard++) {
      for await (const item of queryAll(this.#table, {
        IndexName: INDEX.lifecycle,
        KeyConditionExpression: '#pk = :shard AND #sk <= :at',
        ExpressionAttributeNames: { '#pk': DUE_INDEX.pk, '#sk': DUE_INDEX.sk },
        ExpressionAttributeValues: { ':shard': dueShard(shard), ':at': dueUntil(at.toISOString()) },
      })) {
        yield {
          tenantId: String(item.tenantId),
          scheduleId: String(item.id),
          nextFireAt: String(item.nextFireAt),
        };
      }
    }
  }
}
