/**
 * The pure date and threshold rules of tenant lifecycle: expiry-day buckets, the bucket ranges a
 * scan reads (including the days a scan missed), which renewal reminder is due, when an expired
 * tenant enters grace or is suspended, how an order moves an expiry forward, and which status
 * changes an operator may make. No I/O here; everything takes its clock as an argument.
 *
 * Days are UTC calendar days written `yyyy-mm-dd`; instants are ISO-8601 UTC strings.
 */
import type { TenantStatus } from '../tenancy/domain.ts';

// Written in the contract, which the fronts share; re-exported for the core's callers.
export { readableUtc } from '../../contract/dates.ts';

export const DAY_MS = 24 * 3600 * 1000;

/** Renewal reminders go out this many days before expiry, each once per tenant and expiry. */
export const RENEWAL_THRESHOLDS_DAYS = [30, 7, 1] as const;
export type ReminderThreshold = (typeof RENEWAL_THRESHOLDS_DAYS)[number];

/** An expired tenant stays in `grace` this long before it is suspended. */
export const GRACE_PERIOD_DAYS = 14;

/**
 * The furthest back a scan looks for days it missed (and how far the first scan ever looks).
 * Longer outages than this are caught up to this bound only.
 */
export const MAX_CATCH_UP_DAYS = 31;

const DAY_PATTERN = /^\d{4}-\d{2}-\d{2}$/;

/** The UTC day of an instant: `2026-11-23T17:00:00.000Z` → `2026-11-23`. */
export function dayOf(iso: string): string {
  return new Date(iso).toISOString().slice(0, 10);
}

export function addDays(day: string, days: number): string {
  if (!DAY_PATTERN.test(day)) throw new RangeError(`Not a day: ${day}`);
  return new Date(Date.parse(`${day}T00:00:00.000Z`) + days * DAY_MS).toISOString().slice(0, 10);
}

/** Every day from `from` to `to`, both included; empty when `from` is after `to`. */
export function daysBetween(from: string, to: string): string[] {
  const days: string[] = [];
  for (let day = from; day <= to; day = addDays(day, 1)) days.push(day);
  return days;
}

/**
 * `months` calendar months after an instant, keeping the time of day; a day that does not exist
 * in the target month becomes its last day (31 January + 1 month = 28 or 29 February).
 */
export function addMonths(iso: string, months: number): string {
  const date = new Date(iso);
  const targetMonth = date.getUTCMonth() + months;
  const year = date.getUTCFullYear() + Math.floor(targetMonth / 12);
  const month = ((targetMonth % 12) + 12) % 12;
  const lastDay = new Date(Date.UTC(year, month + 1, 0)).getUTCDate();
  const result = new Date(date.getTime());
  result.setUTCFullYear(year, month, Math.min(date.getUTCDate(), lastDay));
  return result.toISOString();
}

/**
 * The expiry after paying for `months`: counted from the current expiry, or from now when the
 * tenant has already expired (a renewal never starts in the past).
 */
export function renewedExpiry(currentExpiry: string, months: number, now: Date): string {
  const base = Date.parse(currentExpiry) > now.getTime() ? currentExpiry : now.toISOString();
  return addMonths(base, months);
}

/** The days a scan covers: from its last successful day (re-read, see below) up to today. */
export interface ScanWindow {
  readonly from: string;
  readonly to: string;
}

/**
 * The window of a scan run at `now`, given the day of the last successful run. The last run's day
 * is read again because buckets are whole days while due-ness is to the instant: a tenant expiring
 * later on that day was not yet due then. A missed day (no run yesterday) is inside the window;
 * the window never reaches back more than MAX_CATCH_UP_DAYS, which is also the reach of the
 * very first run.
 */
export function scanWindow(
  lastDay: string | undefined,
  now: Date,
  maxCatchUpDays = MAX_CATCH_UP_DAYS,
): ScanWindow {
  const today = dayOf(now.toISOString());
  const earliest = addDays(today, -maxCatchUpDays);
  if (lastDay === undefined) return { from: earliest, to: today };
  const last = lastDay > today ? today : lastDay;
  return { from: last < earliest ? earliest : last, to: today };
}

/** Expiry days whose tenants may have crossed a reminder threshold within the window. */
export function reminderBucketDays(
  window: ScanWindow,
  thresholds: readonly number[] = RENEWAL_THRESHOLDS_DAYS,
): string[] {
  const days = new Set<string>();
  for (const threshold of thresholds) {
    for (const day of daysBetween(addDays(window.from, threshold), addDays(window.to, threshold)))
      days.add(day);
  }
  return [...days].sort();
}

/**
 * The expiry ranges (`[from, until]` instants, both included, disjoint, ascending) whose tenants may
 * have crossed a reminder threshold within the window: the reminder buckets as ranges of the
 * lifecycle index.
 */
export function reminderRanges(
  window: ScanWindow,
  thresholds: readonly number[] = RENEWAL_THRESHOLDS_DAYS,
): [string, string][] {
  const ranges = [...thresholds]
    .map(
      (days) =>
        [`${addDays(window.from, days)}T00:00:00.000Z`, `${addDays(window.to, days)}T23:59:59.999Z`] as [
          string,
          string,
        ],
    )
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  const merged: [string, string][] = [];
  for (const range of ranges) {
    const last = merged[merged.length - 1];
    if (last !== undefined && range[0] <= last[1]) last[1] = range[1] > last[1] ? range[1] : last[1];
    else merged.push([range[0], range[1]]);
  }
  return merged;
}

/**
 * The reminder due for a tenant at `now`: the smallest threshold whose moment has come, or null
 * when none has or the tenant has already expired. A scan that missed a threshold sends only the
 * most urgent one that is due.
 */
export function dueReminder(
  expiresAt: string,
  now: Date,
  thresholds: readonly number[] = RENEWAL_THRESHOLDS_DAYS,
): number | null {
  const expiry = Date.parse(expiresAt);
  if (now.getTime() >= expiry) return null;
  const due = thresholds.filter((days) => expiry - days * DAY_MS <= now.getTime());
  return due.length === 0 ? null : Math.min(...due);
}

/** The moment a reminder fell due: its stable timestamp, whenever it was actually sent. */
export function reminderDueAt(expiresAt: string, thresholdDays: number): string {
  return new Date(Date.parse(expiresAt) - thresholdDays * DAY_MS).toISOString();
}

export function reminderSeverity(thresholdDays: number): 'info' | 'warning' | 'critical' {
  if (thresholdDays <= 1) return 'critical';
  if (thresholdDays <= 7) return 'warning';
  return 'info';
}

/** Statuses whose tenants receive renewal reminders. */
export function receivesReminders(status: TenantStatus): boolean {
  return status === 'trial' || status === 'active';
}

export type ShutdownAction = 'grace' | 'suspended';

/**
 * What the expiry shutdown does to a tenant at `now`: an expired trial or active tenant enters
 * grace; once the grace period is over it is suspended (directly, if a scan missed the grace
 * step). Suspended and archived tenants are left alone.
 */
export function shutdownAction(
  status: TenantStatus,
  expiresAt: string,
  now: Date,
  graceDays = GRACE_PERIOD_DAYS,
): ShutdownAction | null {
  if (status !== 'trial' && status !== 'active' && status !== 'grace') return null;
  const expiry = Date.parse(expiresAt);
  if (now.getTime() < expiry) return null;
  if (now.getTime() >= expiry + graceDays * DAY_MS) return 'suspended';
  return status === 'grace' ? null : 'grace';
}

/** The moment a shutdown action became due (stable, for ledger entries). */
export function shutdownDueAt(
  expiresAt: string,
  action: ShutdownAction,
  graceDays = GRACE_PERIOD_DAYS,
): string {
  const expiry = Date.parse(expiresAt);
  return new Date(action === 'grace' ? expiry : expiry + graceDays * DAY_MS).toISOString();
}

/** The status a paid renewal leaves a tenant in: a trial, grace or suspended tenant becomes active. */
export function statusAfterPayment(status: TenantStatus): TenantStatus {
  return status === 'archived' ? 'archived' : 'active';
}

/** Status changes an operator may make by hand (the scans make grace and suspended on their own). */
const MANUAL_TRANSITIONS: Readonly<Record<TenantStatus, readonly TenantStatus[]>> = {
  trial: ['active', 'grace', 'suspended', 'archived'],
  active: ['grace', 'suspended', 'archived'],
  grace: ['active', 'suspended', 'archived'],
  suspended: ['active', 'grace', 'archived'],
  archived: ['suspended'],
};

export function mayTransition(from: TenantStatus, to: TenantStatus): boolean {
  return from === to || MANUAL_TRANSITIONS[from].includes(to);
}

export function allowedTransitions(from: TenantStatus): readonly TenantStatus[] {
  return MANUAL_TRANSITIONS[from];
}
