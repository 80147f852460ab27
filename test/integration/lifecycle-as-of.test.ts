/**
 * The "as of" instant of a lifecycle scan run by hand (`POST /api/lifecycle/run {now}`), over real
 * HTTP: it catches up on a missed day and never applies future expiries. Later than the platform's
 * clock plus SCAN_CLOCK_SKEW_MS, or more than SCAN_MAX_PAST_DAYS before it, is a 422 problem naming
 * `now` that changes nothing; just inside either bound runs.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SCAN_CLOCK_SKEW_MS, SCAN_MAX_PAST_DAYS } from '../../functions/contract/tenancy.ts';
import { DAY_MS } from '../../functions/core/governance/dates.ts';
import { caller, expectProblem, HOSTS, startTestPlatform, type TestPlatform } from '../support/platform.ts';

const PASSWORD = 'demo-password-for-lifecycle-as-of';
/** Far enough inside a bound that the time a request takes cannot cross it. */
const MARGIN_MS = 60_000;

let t: TestPlatform;
let admin: ReturnType<typeof caller>;

beforeAll(async () => {
  t = await startTestPlatform(PASSWORD);
  admin = caller(t, HOSTS.admin, await t.login(HOSTS.admin, 'admin'));
}, 120_000);

afterAll(async () => {
  await t?.stop();
});

function scanAsOf(scan: string, time: number) {
  return admin('POST', '/api/lifecycle/run', { scan, now: new Date(time).toISOString() });
}

describe('a lifecycle scan run as of a given instant', () => {
  it('refuses a future instant beyond the clock skew and applies no future expiry', async () => {
    const expiresAt = new Date(Date.now() + 10 * DAY_MS).toISOString();
    const created = await admin('POST', '/api/tenants', {
      id: 'future-expiry',
      name: 'Future expiry',
      plan: 'standard',
      hosts: ['future-expiry.localhost'],
      expiresAt,
    });
    expect(created.status, created.text).toBe(201);

    // The trial's request: weeks ahead, which put this tenant into grace at once.
    const weeksAhead = await scanAsOf('expiry-shutdown', Date.now() + 60 * DAY_MS);
    expectProblem(weeksAhead, 422, 'weeks ahead');
    expect(weeksAhead.body.errors.map((error: { path: string }) => error.path)).toEqual(['now']);
    expect((await t.core.tenants.get('future-expiry')).status).toBe('active');

    const justAbove = await scanAsOf('expiry-shutdown', Date.now() + SCAN_CLOCK_SKEW_MS + MARGIN_MS);
    expectProblem(justAbove, 422, 'just above the skew');
    expect(justAbove.body.errors[0].path).toBe('now');
    const reminders = await scanAsOf('renewal-reminder', Date.now() + SCAN_CLOCK_SKEW_MS + MARGIN_MS);
    expectProblem(reminders, 422, 'reminders just above the skew');

    const justBelow = await scanAsOf('expiry-shutdown', Date.now() + SCAN_CLOCK_SKEW_MS - MARGIN_MS);
    expect(justBelow.status, justBelow.text).toBe(200);
    expect(
      justBelow.body.changed.filter((change: { tenantId?: string }) => change.tenantId === 'future-expiry'),
    ).toEqual([]);
    expect((await t.core.tenants.get('future-expiry')).status).toBe('active');
    expect((await admin('POST', '/api/lifecycle/run', { scan: 'expiry-shutdown' })).status).toBe(200);
  });

  it(`catches up on up to ${SCAN_MAX_PAST_DAYS} days back, and refuses older instants`, async () => {
    const inside = await scanAsOf('renewal-reminder', Date.now() - SCAN_MAX_PAST_DAYS * DAY_MS + MARGIN_MS);
    expect(inside.status, inside.text).toBe(200);
    const yesterday = await scanAsOf('expiry-shutdown', Date.now() - DAY_MS);
    expect(yesterday.status, yesterday.text).toBe(200);
    const older = await scanAsOf('renewal-reminder', Date.now() - SCAN_MAX_PAST_DAYS * DAY_MS - MARGIN_MS);
    expectProblem(older, 422, 'older than the catch-up window');
    expect(older.body.errors[0].path).toBe('now');
  });
});
