/**
 * Keys of tenant schedules and their fire logs, built on `itemKey` from the core's key module:
 * - a schedule                `SCHED#<id>` in its tenant's partition; while enabled it also sits in a
 *   sharded sparse GSI2 partition by next fire time (`SCHEDULES#DUE#<shard>`), which the local ticker
 *   reads (in AWS, EventBridge Scheduler fires each schedule itself);
 * - a fire log entry          `SCHEDLOG#<scheduled time>#<scheduleId>[#manual]` (the tenant's log, newest first
 *   by reverse key order), and on GSI1 `<tenant partition>#SCHEDLOG#<scheduleId>` (one schedule's log);
 * - the day's fire counter     `SCHEDQUOTA#<yyyy-mm-dd>`.
 */
import { createHash } from 'node:crypto';
import { domainPk, type IndexEntry, itemKey, type Key, TAG, typePrefix } from '../keys.ts';
import type { TenantContext } from '../tenancy/domain.ts';

const SCHEDULE = TAG.schedule;
const LOG = TAG.scheduleLog;
const QUOTA = TAG.scheduleQuota;
export const DUE_SHARDS = 8;

export function scheduleKey(domain: TenantContext, id: string): Key {
  return itemKey(domain, SCHEDULE, id);
}

export const SCHEDULE_PREFIX = typePrefix(SCHEDULE);

export function dueShard(shard: number): string {
  return `SCHEDULES#DUE#${shard}`;
}

/** The due (lifecycle) index entry of an enabled schedule: its shard and `<next fire>#<tenant>#<id>`. */
export function dueEntry(domain: TenantContext, id: string, nextFireAt: string): IndexEntry {
  const shard = Number.parseInt(createHash('sha256').update(id).digest('hex').slice(0, 4), 16) % DUE_SHARDS;
  return { partition: dueShard(shard), sort: `${nextFireAt}#${domain.tenant.id}#${id}` };
}

/** The upper bound of every due-index sort key at or before `instant` (`~` sorts after every id character). */
export function dueUntil(instant: string): string {
  return `${instant}#~`;
}

/**
 * A fire's log entry: one per (schedule, scheduled time) and trigger — a "fire now" in the second of
 * an occurrence is its own entry, so it never takes the occurrence's (which would then never run).
 */
export function logKey(
  domain: TenantContext,
  scheduledTime: string,
  scheduleId: string,
  trigger: 'schedule' | 'manual' = 'schedule',
): Key {
  return trigger === 'manual'
    ? itemKey(domain, LOG, scheduledTime, scheduleId, 'manual')
    : itemKey(domain, LOG, scheduledTime, scheduleId);
}

export const LOG_PREFIX = typePrefix(LOG);

/** GSI1 partition of one schedule's log entries (sort key: the scheduled time). */
export function scheduleLogPartition(domain: TenantContext, scheduleId: string): string {
  return `${domainPk(domain)}#${LOG}#${scheduleId}`;
}

export function quotaKey(domain: TenantContext, day: string): Key {
  return itemKey(domain, QUOTA, day);
}
