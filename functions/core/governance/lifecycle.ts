/**
 * Lifecycle scans: renewal reminders and expiry shutdown. The schedules (EventBridge Scheduler in
 * AWS, the local scheduler) and `POST /api/lifecycle/run` call the same functions, through one
 * registry of scans that the lifecycle-scan handler dispatches on.
 *
 * A scan reads only the tenants that can be due, from the sparse lifecycle index (GSI2: a partition
 * per phase, sorted by expiry), never the table:
 * - the expiry shutdown reads the `live` tenants whose expiry has passed and the `grace` tenants
 *   whose grace period is over — however long since it last ran: it fails closed;
 * - a status change parks the tenant in the `notice` phase until its notice is out, and each run
 *   first finishes what a crashed run left there;
 * - the renewal reminders read the `live` tenants expiring in the ranges their window maps to
 *   (`dates.ts`: from the day of the last run, kept in a small state item, to today, at most
 *   MAX_CATCH_UP_DAYS back — a reminder that old is moot).
 * Everything a scan writes is idempotent — reminders and notices have deterministic ids and are
 * written only if absent, status changes are conditioned on what the scan read — so a replayed or
 * concurrent scan changes nothing twice. Tenants written before the index existed are placed in it
 * once, by the first scan that finds the index unmarked.
 */

import { SCAN_CLOCK_SKEW_MS, SCAN_MAX_PAST_DAYS } from '../../contract/tenancy.ts';
import type { AuditLog } from '../audit/chain.ts';
import type { Table } from '../db.ts';
import { ValidationError } from '../errors.ts';
import { type SweepDependencies, sweepStaleExecutions } from '../executions/sweep.ts';
import type { Announcement, Announcements, TenantState } from '../foundation/announcements.ts';
import type { Tenant, TenantRegistry } from '../tenancy/tenants.ts';
import { recordPublic, SYSTEM, tenantDomain } from './acting.ts';
import type { Customers, LedgerKind } from './customers.ts';
import {
  DAY_MS,
  dayOf,
  dueReminder,
  GRACE_PERIOD_DAYS,
  MAX_CATCH_UP_DAYS,
  RENEWAL_THRESHOLDS_DAYS,
  readableUtc,
  receivesReminders,
  reminderDueAt,
  reminderRanges,
  reminderSeverity,
  type ScanWindow,
  type ShutdownAction,
  scanWindow,
  shutdownAction,
  shutdownDueAt,
} from './dates.ts';
import { ScanUnavailableError } from './errors.ts';
import type { HostOnboarding } from './onboarding.ts';
import { PlatformStateRepository } from './platform-state-repository.ts';

export const SCAN_NAMES = [
  'renewal-reminder',
  'expiry-shutdown',
  'stale-executions',
  'host-onboarding',
] as const;
/** The state item marking that every tenant record is in the lifecycle index. */
const INDEX_STATE = 'lifecycle-index';
const LIFECYCLE_INDEX_VERSION = 2;
export type ScanName = (typeof SCAN_NAMES)[number];

export interface ScanChange {
  /** The tenant concerned; absent for the platform's own hosts. */
  readonly tenantId?: string;
  /** The host a host-onboarding scan moved. */
  readonly host?: string;
  /** `reminder-30d`, `reminder-7d`, `reminder-1d`, `grace` or `suspended` (or a sweep's action). */
  readonly action: string;
  /** The run a stale-execution sweep closed or re-dispatched. */
  readonly executionId?: string;
}

export interface ScanResult {
  readonly scan: string;
  readonly now: string;
  /** Items the scan read. */
  readonly scanned: number;
  /** What this run changed; empty on a replay. */
  readonly changed: ScanChange[];
  /** The days a reminder scan covered, and the index ranges it read for them. */
  readonly window?: ScanWindow;
  readonly ranges?: number;
}

export interface ScanOptions {
  readonly now: Date;
}

export type ScanFunction = (options: ScanOptions) => Promise<ScanResult>;
export type ScanRegistry = Readonly<Partial<Record<ScanName, ScanFunction>>>;

export interface LifecycleOptions {
  readonly table: Table;
  readonly tenants: TenantRegistry;
  readonly customers: Customers;
  readonly announcements: Announcements;
  readonly audit: AuditLog;
  /** @default RENEWAL_THRESHOLDS_DAYS */
  readonly thresholdsDays?: readonly number[];
  /** @default GRACE_PERIOD_DAYS */
  readonly graceDays?: number;
  /** @default MAX_CATCH_UP_DAYS */
  readonly maxCatchUpDays?: number;
}

function plural(days: number): string {
  return days === 1 ? '1 day' : `${days} days`;
}

export class Lifecycle {
  readonly #state: PlatformStateRepository;
  readonly #tenants: TenantRegistry;
  readonly #customers: Customers;
  readonly #announcements: Announcements;
  readonly #audit: AuditLog;
  readonly #thresholds: readonly number[];
  readonly #graceDays: number;
  readonly #maxCatchUpDays: number;

  constructor(options: LifecycleOptions) {
    this.#state = new PlatformStateRepository(options.table);
    this.#tenants = options.tenants;
    this.#customers = options.customers;
    this.#announcements = options.announcements;
    this.#audit = options.audit;
    this.#thresholds = options.thresholdsDays ?? RENEWAL_THRESHOLDS_DAYS;
    this.#graceDays = options.graceDays ?? GRACE_PERIOD_DAYS;
    this.#maxCatchUpDays = options.maxCatchUpDays ?? MAX_CATCH_UP_DAYS;
  }

  /** Warns each trial or active tenant's admins 30, 7 and 1 days before expiry, once each. */
  async renewalReminders({ now }: ScanOptions): Promise<ScanResult> {
    const scan: ScanName = 'renewal-reminder';
    await this.#ensureIndexed();
    const window = await this.#window(scan, now);
    const ranges = reminderRanges(window, this.#thresholds);
    const changed: ScanChange[] = [];
    const seen = new Set<string>();
    let scanned = 0;
    for (const [from, until] of ranges) {
      for await (const { tenant } of this.#tenants.inPhase('live', until, from)) {
        scanned++;
        if (seen.has(tenant.id)) continue;
        seen.add(tenant.id);
        await this.#maybeRemind(tenant, now, changed);
      }
    }
    await this.#finish(scan, now);
    return { scan, now: now.toISOString(), scanned, changed, window, ranges: ranges.length };
  }

  async #maybeRemind(tenant: Tenant, now: Date, changed: ScanChange[]): Promise<void> {
    if (!receivesReminders(tenant.status)) return;
    const threshold = dueReminder(tenant.expiresAt, now, this.#thresholds);
    if (threshold === null) return;
    if (await this.#remind(tenant, threshold)) {
      changed.push({ tenantId: tenant.id, action: `reminder-${threshold}d` });
    }
  }

  /**
   * Moves expired tenants to grace, and tenants past their grace period to suspended: every tenant
   * due, however long ago it fell due, reading only those.
   */
  async expiryShutdown({ now }: ScanOptions): Promise<ScanResult> {
    const scan: ScanName = 'expiry-shutdown';
    await this.#ensureIndexed();
    const changed: ScanChange[] = [];
    let scanned = 0;
    // First what a crashed run left: a status changed, its notice not yet out.
    for await (const { tenant, noticeOwed } of this.#tenants.inPhase('notice')) {
      scanned++;
      if (noticeOwed === undefined || tenant.status !== noticeOwed) continue;
      await this.#notice(tenant, noticeOwed);
      await this.#tenants.noticeSent(tenant.id, noticeOwed);
    }
    const nowIso = now.toISOString();
    const graceOver = new Date(now.getTime() - this.#graceDays * DAY_MS).toISOString();
    for (const [phase, until] of [
      ['live', nowIso],
      ['grace', graceOver],
    ] as const) {
      for await (const { tenant } of this.#tenants.inPhase(phase, until)) {
        scanned++;
        const action = shutdownAction(tenant.status, tenant.expiresAt, now, this.#graceDays);
        if (action === null) continue;
        if (!(await this.#tenants.transition(tenant.id, tenant.status, action, tenant.expiresAt))) continue;
        changed.push({ tenantId: tenant.id, action });
        await recordPublic(this.#audit, SYSTEM, `lifecycle.tenant.${action}`, `tenant:${tenant.id}`, {
          from: tenant.status,
          expiresAt: tenant.expiresAt,
          graceDays: this.#graceDays,
        });
        await this.#notice({ ...tenant, status: action }, action);
        await this.#tenants.noticeSent(tenant.id, action);
      }
    }
    await this.#finish(scan, now);
    return { scan, now: nowIso, scanned, changed };
  }

  /** Places tenants written before the lifecycle index existed in it, once (marked in a state item). */
  async #ensureIndexed(): Promise<void> {
    if ((await this.#state.version(INDEX_STATE)) === LIFECYCLE_INDEX_VERSION) return;
    await this.#tenants.reindexLifecycle();
    await this.#state.setVersion(INDEX_STATE, LIFECYCLE_INDEX_VERSION);
  }

  /** Posts the reminder and records it in the ledger; true when this call wrote either. */
  async #remind(tenant: Tenant, threshold: number): Promise<boolean> {
    const expiryDay = dayOf(tenant.expiresAt);
    const expiry = readableUtc(tenant.expiresAt) ?? tenant.expiresAt;
    const at = reminderDueAt(tenant.expiresAt, threshold);
    const posted = await this.#post(tenant, {
      // Prefixed with its due moment so the tenant's announcement list stays newest first.
      id: `${at}-renewal-${expiryDay}-${threshold}d`,
      title: `Your ExecFabric subscription expires in ${plural(threshold)}`,
      body: `${tenant.name} (plan ${tenant.plan}) expires on ${expiry}. Renew before then to keep running Skills without interruption.`,
      severity: reminderSeverity(threshold),
      // Moot once the tenant is renewed (its expiry moves) or no longer live.
      tenantState: { statuses: ['trial', 'active'], expiryDay },
    });
    const recorded = await this.#ledger(tenant, {
      id: `reminder-${tenant.id}-${expiryDay}-${threshold}d`,
      kind: 'renewal-reminder',
      at,
      summary: `Renewal reminder: ${tenant.id} expires in ${plural(threshold)} (${expiry})`,
      details: { thresholdDays: threshold, expiresAt: tenant.expiresAt },
    });
    if (posted || recorded) {
      await recordPublic(this.#audit, SYSTEM, 'lifecycle.reminder.sent', `tenant:${tenant.id}`, {
        thresholdDays: threshold,
        expiresAt: tenant.expiresAt,
      });
    }
    return posted || recorded;
  }

  /** Tells the tenant's admins (and the ledger) that it entered grace or was suspended. */
  async #notice(tenant: Tenant, action: ShutdownAction): Promise<void> {
    const expiryDay = dayOf(tenant.expiresAt);
    const at = shutdownDueAt(tenant.expiresAt, action, this.#graceDays);
    const suspended = action === 'suspended';
    const expiry = readableUtc(tenant.expiresAt) ?? tenant.expiresAt;
    await this.#post(tenant, {
      id: `${at}-${action}-${expiryDay}`,
      title: suspended
        ? 'Your ExecFabric subscription is suspended'
        : 'Your ExecFabric subscription has expired',
      body: suspended
        ? `${tenant.name} expired on ${expiry} and its grace period is over. Users can still sign in and read, but Skills no longer run until the subscription is renewed.`
        : `${tenant.name} expired on ${expiry}. Skills keep running during a ${this.#graceDays}-day grace period; renew before it ends to avoid suspension.`,
      severity: 'critical',
      // Retired once the tenant leaves that state (a renewal makes it active again).
      tenantState: { statuses: [action], expiryDay },
    });
    await this.#ledger(tenant, {
      id: `${action}-${tenant.id}-${expiryDay}`,
      kind: suspended ? 'tenant-suspended' : 'tenant-grace',
      at,
      summary: suspended
        ? `${tenant.id} suspended after its grace period`
        : `${tenant.id} expired and entered its grace period`,
      details: { expiresAt: tenant.expiresAt, graceDays: this.#graceDays },
    });
  }

  async #post(
    tenant: Tenant,
    announcement: {
      id: string;
      title: string;
      body: string;
      severity: Announcement['severity'];
      tenantState: TenantState;
    },
  ): Promise<boolean> {
    const { created } = await this.#announcements.post(
      tenantDomain(tenant),
      { ...announcement, audience: ['admin'] },
      SYSTEM.actor,
      'system',
    );
    return created;
  }

  async #ledger(
    tenant: Tenant,
    entry: { id: string; kind: LedgerKind; at: string; summary: string; details: Record<string, unknown> },
  ): Promise<boolean> {
    if (tenant.customerId === undefined) return false;
    return this.#customers.record({ ...entry, customerId: tenant.customerId, tenantId: tenant.id });
  }

  async #window(scan: ScanName, now: Date): Promise<ScanWindow> {
    return scanWindow(await this.#state.lastDay(scan), now, this.#maxCatchUpDays);
  }

  /** Records a successful run; the recorded day only moves forward. */
  async #finish(scan: ScanName, now: Date): Promise<void> {
    await this.#state.finished(scan, dayOf(now.toISOString()), now.toISOString());
  }
}

/** What the stale-execution sweep (owned by the executions module) needs, its clock aside. */
export type StaleSweepDependencies = Omit<SweepDependencies, 'now'>;

/**
 * The scans this deployment provides, by name; the lifecycle-scan handler and the API dispatch
 * through it. `stale-executions` is the executions module's sweep, present when its dependencies
 * are given.
 */
export interface HostOnboardingDependencies {
  readonly onboarding: HostOnboarding;
  readonly registry: TenantRegistry;
  /** The platform's own hosts by surface: bound (idempotently) before the due hosts are advanced. */
  readonly platformHosts: {
    readonly governance: readonly string[];
    readonly free: readonly string[];
    /** The documentation site's hosts: static pages only, bound so no tenant can claim them. */
    readonly docs?: readonly string[];
  };
}

/** Binds the platform's own hosts (a no-op once bound), then advances every host whose check is due. */
async function hostOnboardingScan(
  deps: HostOnboardingDependencies,
  { now }: ScanOptions,
): Promise<ScanResult> {
  for (const host of deps.platformHosts.governance) await deps.registry.bindPublicHost(host, 'governance');
  for (const host of deps.platformHosts.free) await deps.registry.bindPublicHost(host, 'free');
  for (const host of deps.platformHosts.docs ?? []) await deps.registry.bindPublicHost(host, 'docs');
  const { scanned, changed } = await deps.onboarding.advanceDue();
  return {
    scan: 'host-onboarding',
    now: now.toISOString(),
    scanned,
    changed: changed.map((change) => ({
      ...(change.owner.domain === 'tenant' ? { tenantId: change.owner.tenantId } : {}),
      host: change.host,
      action: `host:${change.to}`,
    })),
  };
}

export function createScanRegistry(
  lifecycle: Lifecycle,
  options: {
    readonly staleSweep?: StaleSweepDependencies;
    readonly hostOnboarding?: HostOnboardingDependencies;
  } = {},
): ScanRegistry {
  const { staleSweep, hostOnboarding } = options;
  return {
    'renewal-reminder': (scan) => lifecycle.renewalReminders(scan),
    'expiry-shutdown': (scan) => lifecycle.expiryShutdown(scan),
    ...(hostOnboarding === undefined
      ? {}
      : { 'host-onboarding': (scan: ScanOptions) => hostOnboardingScan(hostOnboarding, scan) }),
    ...(staleSweep === undefined
      ? {}
      : {
          'stale-executions': async ({ now }: ScanOptions): Promise<ScanResult> => {
            const result = await sweepStaleExecutions({ ...staleSweep, now: () => now });
            return {
              scan: 'stale-executions',
              now: now.toISOString(),
              scanned: result.scanned,
              changed: result.changed,
            };
          },
        }),
  };
}

/**
 * The instant a scan requested by an operator runs as of: `requested` (a missed day caught up on)
 * or the clock. A later instant than the clock would apply expiries that have not happened (suspend
 * a tenant today for an expiry weeks away) and record a future day as the scan's last run. Later than the clock plus SCAN_CLOCK_SKEW_MS, or more than SCAN_MAX_PAST_DAYS before
 * it, is a ValidationError naming `now`. The schedules run as of the clock and need no check.
 */
export function operatorScanInstant(requested: Date | undefined, clock: Date): Date {
  if (requested === undefined) return clock;
  const latest = clock.getTime() + SCAN_CLOCK_SKEW_MS;
  const earliest = clock.getTime() - SCAN_MAX_PAST_DAYS * DAY_MS;
  if (requested.getTime() > latest) {
    throw new ValidationError('A scan cannot run as of a time that has not come', [
      {
        path: 'now',
        message: `at most ${SCAN_CLOCK_SKEW_MS / 60_000} minutes after the platform's clock (${clock.toISOString()}): a scan catches up on past days, it never applies future expiries`,
      },
    ]);
  }
  if (requested.getTime() < earliest) {
    throw new ValidationError('A scan cannot run as of that long ago', [
      {
        path: 'now',
        message: `at most ${SCAN_MAX_PAST_DAYS} days before the platform's clock (${clock.toISOString()})`,
      },
    ]);
  }
  return requested;
}

/** Runs one scan of the registry; a scan it does not hold is a clear error, never a silent success. */
export function runScan(registry: ScanRegistry, scan: ScanName, options: ScanOptions): Promise<ScanResult> {
  const run = registry[scan];
  if (run === undefined) {
    return Promise.reject(new ScanUnavailableError(scan, Object.keys(registry)));
  }
  return run(options);
}
