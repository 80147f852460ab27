import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  addDays,
  addMonths,
  DAY_MS,
  dayOf,
  daysBetween,
  dueReminder,
  GRACE_PERIOD_DAYS,
  MAX_CATCH_UP_DAYS,
  mayTransition,
  readableUtc,
  reminderBucketDays,
  reminderDueAt,
  reminderRanges,
  renewedExpiry,
  scanWindow,
  shutdownAction,
  statusAfterPayment,
} from '../../../../functions/core/governance/dates.ts';
import { TENANT_STATUSES } from '../../../../functions/core/tenancy/domain.ts';

const at = (iso: string) => new Date(iso);

describe('days', () => {
  it('adds days across month and year ends and leap days', () => {
    expect(addDays('2026-12-31', 1)).toBe('2027-01-01');
    expect(addDays('2028-02-28', 1)).toBe('2028-02-29');
    expect(addDays('2027-03-01', -1)).toBe('2027-02-28');
    expect(addDays('2026-05-10', 0)).toBe('2026-05-10');
  });

  it('refuses something that is not a day', () => {
    expect(() => addDays('2026-5-1', 1)).toThrow(RangeError);
  });

  it('lists days inclusively and nothing for an inverted range', () => {
    expect(daysBetween('2026-02-27', '2026-03-02')).toEqual([
      '2026-02-27',
      '2026-02-28',
      '2026-03-01',
      '2026-03-02',
    ]);
    expect(daysBetween('2026-03-02', '2026-03-01')).toEqual([]);
  });

  it('takes the UTC day of an instant with an offset', () => {
    expect(dayOf('2026-03-01T23:30:00-02:00')).toBe('2026-03-02');
  });
});

describe('readableUtc', () => {
  it('writes an instant as a person reads it, in UTC whatever the locale, and refuses a non-instant', () => {
    expect(readableUtc('2026-12-08T03:31:50.059Z')).toBe('8 Dec 2026, 03:31 UTC');
    expect(readableUtc('2027-01-01T23:05:00+02:00')).toBe('1 Jan 2027, 21:05 UTC');
    expect(readableUtc('next tuesday')).toBeNull();
  });
});

describe('addMonths', () => {
  it('keeps the day and time of day', () => {
    expect(addMonths('2026-01-15T10:20:30.000Z', 1)).toBe('2026-02-15T10:20:30.000Z');
    expect(addMonths('2026-11-15T00:00:00.000Z', 3)).toBe('2027-02-15T00:00:00.000Z');
    expect(addMonths('2026-01-15T00:00:00.000Z', 12)).toBe('2027-01-15T00:00:00.000Z');
  });

  it('clamps to the last day of a shorter month', () => {
    expect(addMonths('2026-01-31T08:00:00.000Z', 1)).toBe('2026-02-28T08:00:00.000Z');
    expect(addMonths('2028-01-31T08:00:00.000Z', 1)).toBe('2028-02-29T08:00:00.000Z');
    expect(addMonths('2026-03-31T08:00:00.000Z', 1)).toBe('2026-04-30T08:00:00.000Z');
  });

  it('always moves forward, by 28 to 31 days per month', () => {
    fc.assert(
      fc.property(
        fc.date({ min: new Date('2000-01-01'), max: new Date('2090-01-01'), noInvalidDate: true }),
        fc.integer({ min: 1, max: 120 }),
        (date, months) => {
          const before = date.getTime();
          const after = Date.parse(addMonths(date.toISOString(), months));
          expect(after).toBeGreaterThanOrEqual(before + months * 28 * DAY_MS);
          expect(after).toBeLessThanOrEqual(before + months * 31 * DAY_MS);
        },
      ),
    );
  });
});

describe('renewedExpiry', () => {
  const now = at('2026-06-01T12:00:00.000Z');

  it('extends a running subscription from its expiry', () => {
    expect(renewedExpiry('2026-07-10T00:00:00.000Z', 2, now)).toBe('2026-09-10T00:00:00.000Z');
  });

  it('extends an expired one from now, never from the past', () => {
    expect(renewedExpiry('2026-03-01T00:00:00.000Z', 1, now)).toBe('2026-07-01T12:00:00.000Z');
  });

  it('reactivates anything but an archived tenant', () => {
    expect(statusAfterPayment('grace')).toBe('active');
    expect(statusAfterPayment('suspended')).toBe('active');
    expect(statusAfterPayment('trial')).toBe('active');
    expect(statusAfterPayment('archived')).toBe('archived');
  });
});

describe('renewal reminders', () => {
  const expiresAt = '2026-07-31T09:00:00.000Z';

  it('is due from each threshold on, sending only the most urgent one due', () => {
    expect(dueReminder(expiresAt, at('2026-07-01T08:59:59.999Z'))).toBeNull();
    expect(dueReminder(expiresAt, at('2026-07-01T09:00:00.000Z'))).toBe(30);
    expect(dueReminder(expiresAt, at('2026-07-24T08:00:00.000Z'))).toBe(30);
    expect(dueReminder(expiresAt, at('2026-07-24T09:00:00.000Z'))).toBe(7);
    expect(dueReminder(expiresAt, at('2026-07-30T09:00:00.000Z'))).toBe(1);
    expect(dueReminder(expiresAt, at('2026-07-31T08:59:00.000Z'))).toBe(1);
  });

  it('is never due once the tenant has expired', () => {
    expect(dueReminder(expiresAt, at(expiresAt))).toBeNull();
    expect(dueReminder(expiresAt, at('2026-09-01T00:00:00.000Z'))).toBeNull();
  });

  it('fell due at a stable moment', () => {
    expect(reminderDueAt(expiresAt, 7)).toBe('2026-07-24T09:00:00.000Z');
  });

  it('reads the buckets each threshold maps the window to', () => {
    const window = { from: '2026-07-01', to: '2026-07-02' };
    expect(reminderBucketDays(window)).toEqual([
      '2026-07-02',
      '2026-07-03',
      '2026-07-08',
      '2026-07-09',
      '2026-07-31',
      '2026-08-01',
    ]);
  });

  it('never misses a tenant whose reminder fell due since the last run, however long ago it ran', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 400 * 24 }),
        fc.integer({ min: 1, max: 40 * 24 }),
        fc.integer({ min: 1, max: 60 * 24 }),
        (expiryHours, lastRunHoursBefore, nowHoursAfterLast) => {
          const base = Date.parse('2026-01-01T00:00:00.000Z');
          const lastRun = new Date(base + lastRunHoursBefore * 3_600_000);
          const now = new Date(lastRun.getTime() + nowHoursAfterLast * 3_600_000);
          const expiresAt = new Date(base + expiryHours * 3_600_000).toISOString();
          const dueNow = dueReminder(expiresAt, now);
          const dueBefore = dueReminder(expiresAt, lastRun);
          // A reminder newly due since the last run must be in a bucket this run reads …
          if (dueNow !== null && dueNow !== dueBefore) {
            const window = scanWindow(dayOf(lastRun.toISOString()), now);
            // (Outages longer than the catch-up bound are caught up to that bound only.)
            const earliest = addDays(dayOf(now.toISOString()), -MAX_CATCH_UP_DAYS);
            const withinCatchUp =
              Date.parse(reminderDueAt(expiresAt, dueNow)) >= Date.parse(`${earliest}T00:00:00Z`);
            if (withinCatchUp) expect(reminderBucketDays(window)).toContain(dayOf(expiresAt));
          }
        },
      ),
      { numRuns: 3000 },
    );
  });
});

describe('scan window', () => {
  const now = at('2026-07-10T01:30:00.000Z');

  it('re-reads the last run day and catches up missed days', () => {
    expect(scanWindow('2026-07-09', now)).toEqual({ from: '2026-07-09', to: '2026-07-10' });
    expect(scanWindow('2026-07-05', now)).toEqual({ from: '2026-07-05', to: '2026-07-10' });
  });

  it('bounds catching up, and looks back that far on a first run', () => {
    const earliest = addDays('2026-07-10', -MAX_CATCH_UP_DAYS);
    expect(scanWindow('2025-01-01', now)).toEqual({ from: earliest, to: '2026-07-10' });
    expect(scanWindow(undefined, now)).toEqual({ from: earliest, to: '2026-07-10' });
  });

  it('treats a last run in the future (a run with a later `now`) as today', () => {
    expect(scanWindow('2026-09-01', now)).toEqual({ from: '2026-07-10', to: '2026-07-10' });
  });
});

describe('expiry shutdown', () => {
  const expiresAt = '2026-07-10T12:00:00.000Z';
  const graceEnds = new Date(Date.parse(expiresAt) + GRACE_PERIOD_DAYS * DAY_MS);

  it('moves an expired tenant to grace, then to suspended after the grace period', () => {
    expect(shutdownAction('active', expiresAt, at('2026-07-10T11:59:59.000Z'))).toBeNull();
    expect(shutdownAction('active', expiresAt, at(expiresAt))).toBe('grace');
    expect(shutdownAction('trial', expiresAt, at('2026-07-11T00:00:00.000Z'))).toBe('grace');
    expect(shutdownAction('grace', expiresAt, at('2026-07-20T00:00:00.000Z'))).toBeNull();
    expect(shutdownAction('grace', expiresAt, graceEnds)).toBe('suspended');
  });

  it('suspends directly when a scan missed the whole grace period', () => {
    expect(shutdownAction('active', expiresAt, graceEnds)).toBe('suspended');
  });

  it('leaves suspended and archived tenants alone', () => {
    expect(shutdownAction('suspended', expiresAt, graceEnds)).toBeNull();
    expect(shutdownAction('archived', expiresAt, graceEnds)).toBeNull();
  });

  it('turns the reminder buckets into disjoint ascending index ranges covering the same days', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 400 }), fc.integer({ min: 0, max: 40 }), (start, length) => {
        const from = addDays('2026-01-01', start);
        const window = { from, to: addDays(from, length) };
        const ranges = reminderRanges(window);
        for (let index = 1; index < ranges.length; index++) {
          expect((ranges[index - 1] as [string, string])[1] < (ranges[index] as [string, string])[0]).toBe(
            true,
          );
        }
        for (const day of reminderBucketDays(window)) {
          const noon = `${day}T12:00:00.000Z`;
          expect(ranges.some(([low, high]) => low <= noon && noon <= high)).toBe(true);
        }
      }),
      { numRuns: 500 },
    );
  });
});

describe('manual status changes', () => {
  it('follow the lifecycle and keep archived tenants archived but restorable to suspended', () => {
    expect(mayTransition('trial', 'active')).toBe(true);
    expect(mayTransition('active', 'trial')).toBe(false);
    expect(mayTransition('suspended', 'active')).toBe(true);
    expect(mayTransition('archived', 'active')).toBe(false);
    expect(mayTransition('archived', 'suspended')).toBe(true);
    for (const status of TENANT_STATUSES) expect(mayTransition(status, status)).toBe(true);
  });
});
