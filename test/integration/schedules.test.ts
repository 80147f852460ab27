/**
 * Issue 17, tenant schedules through the real local platform with its ticker running: a schedule at
 * rate 1 minute fires on time and leaves a run and a log entry; a paused one does not; a fire is
 * requested as the owner through admission — skipped (and logged why) when the tenant is suspended,
 * the owner lost the permission or was disabled; fires missed during downtime follow the policy
 * (logged as missed, not run); logs page per schedule and per tenant; the list shows each schedule's
 * last fire as it is now (its run's status, or why it was skipped); bad input is a clear 422; a fire
 * event that does not verify is refused.
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tableFromEnv } from '../../functions/clients/dynamodb.ts';
import { SKIP_REASONS } from '../../functions/contract/responses.ts';
import { dueEntry, quotaKey, scheduleKey } from '../../functions/core/schedules/keys.ts';
import {
  ScheduleConflictError,
  ScheduleRepository,
} from '../../functions/core/schedules/schedule-repository.ts';
import { fireEvent } from '../../functions/core/schedules/scheduler-port.ts';
import type { TenantContext } from '../../functions/core/tenancy/domain.ts';
import { tenantContext } from '../../functions/core/tenancy/hosts.ts';
import { PLAN_LIMITS, planLimits } from '../../functions/core/tenancy/plans.ts';
import { type LocalPlatform, REPOSITORY_ROOT, startLocalPlatform } from '../../lib/local/platform.ts';
import { call } from '../support/http.ts';
import { expectProblem, HOSTS } from '../support/platform.ts';
import { scriptSkill, unique } from '../support/runs.ts';
import { signIn, waitForRun } from '../support/session.ts';

const PASSWORD = 'schedules-test-password';
const ECHO = 'def main(inputs, ctx):\n    return {"echo": inputs.get("n"), "execution": ctx.execution_id}\n';

describe('tenant schedules', { timeout: 150_000 }, () => {
  let platform: LocalPlatform;
  let tokens: Record<string, string>;
  let acmeSkill: string;
  let globexSkill: string;
  let everyMinute: { id: string; createdAt: string; nextFireAt: string };
  let paused: { id: string };
  const table = () => tableFromEnv(platform.env);

  const api = (host: string, token: string, method: string, path: string, body?: unknown) =>
    call(platform.url, { host, token, method, path, ...(body === undefined ? {} : { body }) });

  function login(host: string, username: string, password = PASSWORD): Promise<string> {
    return signIn(platform.url, host, username, password);
  }

  /** A Skill running ECHO, taking `{n}`; `extra`: more of its definition (risk, visibility…). */
  async function skill(host: string, token: string, extra: Record<string, unknown> = {}): Promise<string> {
    const made = await scriptSkill(
      (as, method, path, body) => api(host, as, method, path, body),
      token,
      ECHO,
      {
        scriptName: unique('echo'),
        skill: {
          name: unique('echo'),
          inputSchema: { type: 'object', properties: { n: { type: 'integer' } }, required: ['n'] },
          ...extra,
        },
      },
    );
    return made.skillId;
  }

  async function schedule(host: string, token: string, body: Record<string, unknown>) {
    const created = await api(host, token, 'POST', '/api/schedules', {
      name: unique('schedule'),
      input: { n: 1 },
      timing: { kind: 'rate', every: 1, unit: 'minutes' },
      ...body,
    });
    expect(created.status, created.text).toBe(201);
    return created.body;
  }

  async function logs(host: string, token: string, id: string) {
    const page = await api(host, token, 'GET', `/api/schedules/${id}/logs`);
    expect(page.status, page.text).toBe(200);
    return page.body.items as Record<string, unknown>[];
  }

  /** Fires one schedule as the ticker would at its due time (without firing any other). */
  async function fire(tenantId: string, id: string, scheduledTime: string) {
    return platform.invoke('schedule-fire', fireEvent(platform.signer, tenantId, id, scheduledTime));
  }

  function finished(host: string, token: string, id: string) {
    return waitForRun({ url: platform.url, host, token }, id, { timeoutMs: 60_000, intervalMs: 200 });
  }

  beforeAll(async () => {
    platform = await startLocalPlatform({
      port: 0,
      dataDir: null,
      demoPassword: PASSWORD,
      log: () => undefined,
    });
    tokens = {
      alice: await login(HOSTS.acme, 'alice'),
      bob: await login(HOSTS.acme, 'bob'),
      gina: await login(HOSTS.globex, 'gina'),
      admin: await login(HOSTS.admin, 'admin'),
    };
    acmeSkill = await skill(HOSTS.acme, tokens.alice as string);
    globexSkill = await skill(HOSTS.globex, tokens.gina as string);
    // The schedule the last test watches fire on its own, and one that must never fire.
    everyMinute = await schedule(HOSTS.acme, tokens.bob as string, { skillId: acmeSkill, input: { n: 60 } });
    paused = await schedule(HOSTS.acme, tokens.bob as string, { skillId: acmeSkill, enabled: false });
  }, 150_000);

  afterAll(async () => {
    await platform?.stop();
  });

  it('refuses bad schedules with problem+json naming the field', async () => {
    const bob = tokens.bob as string;
    const base = { name: 'x', skillId: acmeSkill, input: { n: 1 } };
    for (const [body, path] of [
      [{ ...base, timing: { kind: 'cron', expression: '0 9 * *' } }, 'timing.expression'],
      [{ ...base, timing: { kind: 'cron', expression: '61 9 * * *' } }, 'timing.expression'],
      [{ ...base, timing: { kind: 'cron', expression: '0 9 1 * MON' } }, 'timing.expression'],
      [{ ...base, timing: { kind: 'cron', expression: '0 9 * * *' }, timezone: 'Mars/Olympus' }, 'timezone'],
      [{ ...base, timing: { kind: 'once', at: '2001-01-01T00:00' } }, 'timing.at'],
      [{ ...base, timing: { kind: 'once', at: 'tomorrow' } }, 'timing.at'],
      [{ ...base, timing: { kind: 'rate', every: 0, unit: 'minutes' } }, 'timing.every'],
      [
        { ...base, skillId: 'skl-000000000000', timing: { kind: 'rate', every: 5, unit: 'minutes' } },
        'skillId',
      ],
      [{ ...base, input: { n: 'one' }, timing: { kind: 'rate', every: 5, unit: 'minutes' } }, 'input.n'],
      [{ ...base, input: [1], timing: { kind: 'rate', every: 5, unit: 'minutes' } }, 'input'],
    ] as const) {
      const refused = await api(HOSTS.acme, bob, 'POST', '/api/schedules', body);
      expectProblem(refused, 422, JSON.stringify(body));
      expect(
        refused.body.errors.map((error: { path: string }) => error.path).join(','),
        refused.text,
      ).toContain(path);
    }
    // A viewer may read schedules but not make one.
    const viewer = await api(HOSTS.acme, tokens.alice as string, 'POST', '/api/users', {
      username: 'vera',
      password: 'vera-password-1',
      roles: ['viewer'],
    });
    expect(viewer.status, viewer.text).toBe(201);
    const vera = await login(HOSTS.acme, 'vera', 'vera-password-1');
    expectProblem(
      await api(HOSTS.acme, vera, 'POST', '/api/schedules', {
        ...base,
        timing: { kind: 'rate', every: 5, unit: 'minutes' },
      }),
      403,
    );
    expect((await api(HOSTS.acme, vera, 'GET', '/api/schedules')).body.items.length).toBeGreaterThanOrEqual(
      2,
    );
    // Another tenant's schedule is not found from here.
    expectProblem(
      await api(HOSTS.globex, tokens.gina as string, 'GET', `/api/schedules/${everyMinute.id}`),
      404,
    );
  });

  it('keeps an input its runs get exactly, numbers the table could not hold among them, and refuses one beyond a double', async () => {
    const bob = tokens.bob as string;
    const send = (body: string) =>
      call(platform.url, {
        host: HOSTS.acme,
        token: bob,
        method: 'POST',
        path: '/api/schedules',
        body,
        headers: { 'content-type': 'application/json' },
      });
    const raw = (input: string) =>
      `{"name":"${unique('big')}","skillId":"${acmeSkill}","enabled":false,` +
      `"timing":{"kind":"rate","every":1,"unit":"days"},"input":${input}}`;
    // 1e20 as a table number was refused by the document client (a 500); 2^64 + 1 is no double.
    const big = await send(raw('{"n":1e20,"m":18446744073709551617}'));
    expect(big.status, big.text).toBe(201);
    const read = await api(HOSTS.acme, bob, 'GET', `/api/schedules/${big.body.id}`);
    expect(read.status, read.text).toBe(200);
    expect(read.body.input.n).toBe(1e20);
    expect(read.text).toContain('"m":18446744073709551617');
    const fired = await api(HOSTS.acme, bob, 'POST', `/api/schedules/${big.body.id}/fire`);
    expect(fired.status, fired.text).toBe(200);
    const run = await finished(HOSTS.acme, bob, String(fired.body.executionId));
    expect(run.status, JSON.stringify(run.error)).toBe('succeeded');
    expect(run.output.echo).toBe(1e20);
    const beyond = await send(raw('{"n":1e400}'));
    expectProblem(beyond, 422);
    expect(beyond.body.errors.map((error: { path: string }) => error.path)).toEqual(['input.n']);
  });

  it('shows the next fire times, in the schedule’s time zone', async () => {
    const cron = await schedule(HOSTS.acme, tokens.bob as string, {
      skillId: acmeSkill,
      timing: { kind: 'cron', expression: '30 9 * * MON-FRI' },
      timezone: 'Europe/Paris',
    });
    expect(cron.upcoming).toHaveLength(5);
    for (const time of cron.upcoming as string[]) {
      const local = new Intl.DateTimeFormat('en-GB', {
        timeZone: 'Europe/Paris',
        weekday: 'short',
        hour: '2-digit',
        minute: '2-digit',
      }).format(new Date(time));
      expect(local).toMatch(/^(Mon|Tue|Wed|Thu|Fri) 09:30$/);
    }
    expect(cron.nextFireAt).toBe(cron.upcoming[0]);
    const pausedView = await api(HOSTS.acme, tokens.bob as string, 'GET', `/api/schedules/${paused.id}`);
    expect(pausedView.body).toMatchObject({ state: 'paused', upcoming: [] });
    expect(pausedView.body.nextFireAt).toBeUndefined();
  });

  it('skips, and logs why, a fire whose tenant is suspended', async () => {
    const gina = tokens.gina as string;
    const created = await schedule(HOSTS.globex, gina, { skillId: globexSkill });
    const suspend = await api(HOSTS.admin, tokens.admin as string, 'PATCH', '/api/tenants/globex', {
      status: 'suspended',
    });
    expect(suspend.status, suspend.text).toBe(200);
    try {
      await fire('globex', created.id, created.nextFireAt);
      const entries = await logs(HOSTS.globex, gina, created.id);
      expect(entries).toHaveLength(1);
      expect(entries[0]).toMatchObject({
        outcome: 'skipped',
        reason: 'tenant-suspended',
        scheduledTime: created.nextFireAt,
      });
      expect(entries[0]?.executionId).toBeUndefined();
      const runs = await api(HOSTS.globex, gina, 'GET', '/api/executions');
      expect(runs.body.items.filter((run: { skillId: string }) => run.skillId === globexSkill)).toHaveLength(
        0,
      );
      // It goes on: the next fire time moved past the skipped one.
      const after = await api(HOSTS.globex, gina, 'GET', `/api/schedules/${created.id}`);
      expect(Date.parse(after.body.nextFireAt)).toBeGreaterThan(Date.parse(created.nextFireAt));
    } finally {
      await api(HOSTS.admin, tokens.admin as string, 'PATCH', '/api/tenants/globex', { status: 'active' });
    }
  });

  it('runs as the owner: skipped once the owner lost skill:run or was disabled', async () => {
    const alice = tokens.alice as string;
    await api(HOSTS.acme, alice, 'POST', '/api/users', {
      username: 'carol',
      password: 'carol-password-1',
      roles: ['operator'],
    });
    const carol = await login(HOSTS.acme, 'carol', 'carol-password-1');
    const created = await schedule(HOSTS.acme, carol, { skillId: acmeSkill });
    expect(created.owner).toBe('carol');
    expect((await api(HOSTS.acme, alice, 'PATCH', '/api/users/carol', { roles: ['viewer'] })).status).toBe(
      200,
    );
    await fire('acme', created.id, created.nextFireAt);
    const [lost] = await logs(HOSTS.acme, alice, created.id);
    expect(lost).toMatchObject({ outcome: 'skipped', reason: 'permission-lost', owner: 'carol' });

    expect(
      (await api(HOSTS.acme, alice, 'PATCH', '/api/users/carol', { roles: ['operator'], disabled: true }))
        .status,
    ).toBe(200);
    const next = (await api(HOSTS.acme, alice, 'GET', `/api/schedules/${created.id}`)).body.nextFireAt;
    await fire('acme', created.id, next);
    const [disabled] = await logs(HOSTS.acme, alice, created.id);
    expect(disabled).toMatchObject({ outcome: 'skipped', reason: 'owner-disabled' });

    // An admin who edits it becomes its owner, and its fires run (as the admin).
    const edited = await api(HOSTS.acme, alice, 'PUT', `/api/schedules/${created.id}`, {
      name: created.name,
      skillId: acmeSkill,
      input: { n: 7 },
      timing: { kind: 'rate', every: 1, unit: 'minutes' },
    });
    expect(edited.body).toMatchObject({ owner: 'alice', revision: 2 });
    const fired = await api(HOSTS.acme, alice, 'POST', `/api/schedules/${created.id}/fire`);
    expect(fired.status, fired.text).toBe(200);
    expect(fired.body).toMatchObject({ outcome: 'ran', trigger: 'manual', owner: 'alice' });
    const run = await finished(HOSTS.acme, alice, fired.body.executionId);
    expect(run).toMatchObject({ status: 'succeeded', requestedBy: 'alice', schedule: { id: created.id } });
    expect(run.output.echo).toBe(7);
  });

  it('follows the missed-fire policy after downtime: late occurrences are logged as missed, not run', async () => {
    const alice = tokens.alice as string;
    const created = await schedule(HOSTS.acme, alice, { skillId: acmeSkill });
    // As if the platform had been down for twenty minutes: the schedule's clock is set back.
    const domain = (await tenantContext(table(), 'acme')) as TenantContext;
    const anchor = new Date(Date.now() - 20.5 * 60_000);
    const due = new Date(anchor.getTime() + 60_000).toISOString();
    await table().client.send(
      new UpdateCommand({
        TableName: table().name,
        Key: scheduleKey(domain, created.id),
        UpdateExpression: 'SET anchorAt = :anchor, nextFireAt = :due, GSI2PK = :pk, GSI2SK = :sk',
        ExpressionAttributeValues: {
          ':anchor': anchor.toISOString(),
          ':due': due,
          ':pk': dueEntry(domain, created.id, due).partition,
          ':sk': dueEntry(domain, created.id, due).sort,
        },
      }),
    );
    await platform.tickTenantSchedules();
    const entries = await logs(HOSTS.acme, alice, created.id);
    expect(entries).toHaveLength(1);
    const [missed] = entries;
    expect(missed).toMatchObject({ outcome: 'skipped', reason: 'missed', scheduledTime: due });
    expect((missed?.missed as { count: number } | undefined)?.count).toBeGreaterThanOrEqual(19);
    expect(missed?.executionId).toBeUndefined();
    const after = await api(HOSTS.acme, alice, 'GET', `/api/schedules/${created.id}`);
    expect(Date.parse(after.body.nextFireAt)).toBeGreaterThan(Date.now());
    // A second pass finds nothing due: one entry, no run.
    await platform.tickTenantSchedules();
    expect(await logs(HOSTS.acme, alice, created.id)).toHaveLength(1);
  });

  it('pages the log per schedule and per tenant, and refuses a cursor it did not issue', async () => {
    const alice = tokens.alice as string;
    const created = await schedule(HOSTS.acme, alice, { skillId: acmeSkill });
    for (let index = 0; index < 3; index++) {
      // Manual fires are one per second.
      const fired = await api(HOSTS.acme, alice, 'POST', `/api/schedules/${created.id}/fire`);
      expect(fired.status, fired.text).toBe(200);
      await new Promise((resolve) => setTimeout(resolve, 1050));
    }
    const seen: string[] = [];
    let cursor: string | undefined;
    do {
      const page = await api(
        HOSTS.acme,
        alice,
        'GET',
        `/api/schedules/${created.id}/logs?limit=1${cursor === undefined ? '' : `&cursor=${cursor}`}`,
      );
      expect(page.status, page.text).toBe(200);
      seen.push(...page.body.items.map((entry: { scheduledTime: string }) => entry.scheduledTime));
      cursor = page.body.cursor;
    } while (cursor !== undefined);
    expect(seen).toHaveLength(3);
    expect([...seen].sort().reverse()).toEqual(seen);

    const tenantPage = await api(HOSTS.acme, alice, 'GET', '/api/schedule-logs?limit=2');
    expect(tenantPage.body.items).toHaveLength(2);
    const next = await api(
      HOSTS.acme,
      alice,
      'GET',
      `/api/schedule-logs?limit=2&cursor=${tenantPage.body.cursor}`,
    );
    expect(next.status).toBe(200);
    // The tenant's cursor is not one of this schedule's, nor another tenant's.
    expectProblem(
      await api(
        HOSTS.acme,
        alice,
        'GET',
        `/api/schedules/${created.id}/logs?cursor=${tenantPage.body.cursor}`,
      ),
      422,
    );
    expectProblem(
      await api(
        HOSTS.globex,
        tokens.gina as string,
        'GET',
        `/api/schedule-logs?cursor=${tenantPage.body.cursor}`,
      ),
      422,
    );
  });

  it('pauses, resumes and deletes through the API: a paused schedule fires nothing, a deleted one is gone', async () => {
    const bob = tokens.bob as string;
    const created = await schedule(HOSTS.acme, bob, { skillId: acmeSkill });
    const pausedNow = await api(HOSTS.acme, bob, 'POST', `/api/schedules/${created.id}/pause`);
    expect(pausedNow.status, pausedNow.text).toBe(200);
    expect(pausedNow.body).toMatchObject({ state: 'paused', upcoming: [] });
    expect(await fire('acme', created.id, created.nextFireAt)).toEqual({ result: 'paused' });
    expect(await logs(HOSTS.acme, bob, created.id)).toHaveLength(0);
    // Pausing twice changes nothing; another tenant cannot touch it.
    expect((await api(HOSTS.acme, bob, 'POST', `/api/schedules/${created.id}/pause`)).status).toBe(200);
    expectProblem(
      await api(HOSTS.globex, tokens.gina as string, 'POST', `/api/schedules/${created.id}/resume`),
      404,
    );

    const resumed = await api(HOSTS.acme, bob, 'POST', `/api/schedules/${created.id}/resume`);
    expect(resumed.status, resumed.text).toBe(200);
    expect(resumed.body.state).toBe('enabled');
    expect(resumed.body.upcoming.length).toBeGreaterThan(0);
    // Rates count again from the resume: the next fire is a minute after it, not in the past.
    expect(Date.parse(resumed.body.nextFireAt)).toBeGreaterThan(Date.now());

    expectProblem(
      await api(HOSTS.globex, tokens.gina as string, 'DELETE', `/api/schedules/${created.id}`),
      404,
    );
    const removed = await api(HOSTS.acme, bob, 'DELETE', `/api/schedules/${created.id}`);
    expect(removed.status, removed.text).toBe(204);
    expectProblem(await api(HOSTS.acme, bob, 'GET', `/api/schedules/${created.id}`), 404);
    expect(await fire('acme', created.id, resumed.body.nextFireAt)).toEqual({ result: 'unknown' });
    const audit = await api(HOSTS.acme, tokens.alice as string, 'GET', '/api/audit?limit=100');
    const actions = audit.body.items
      .filter((entry: { target: string }) => entry.target === `schedule:${created.id}`)
      .map((entry: { action: string }) => entry.action);
    expect(actions).toEqual(
      expect.arrayContaining(['schedule.paused', 'schedule.resumed', 'schedule.deleted']),
    );
  });

  it('a fire of an approval-gated Skill waits for approval like any run, requested as the owner', async () => {
    const alice = tokens.alice as string;
    const bob = tokens.bob as string;
    const script = await api(HOSTS.acme, alice, 'POST', '/api/assets/scripts', {
      name: unique('gated'),
      source: ECHO,
    });
    const gated = await api(HOSTS.acme, alice, 'POST', '/api/skills', {
      name: unique('gated'),
      inputSchema: { type: 'object', properties: { n: { type: 'integer' } }, required: ['n'] },
      outputSchema: {},
      risk: 'medium',
      approval: 'one',
      asset: { kind: 'python-script', id: script.body.id, version: 'active' },
    });
    expect(gated.status, gated.text).toBe(201);
    const created = await schedule(HOSTS.acme, bob, { skillId: gated.body.id, input: { n: 7 } });
    await fire('acme', created.id, created.nextFireAt);
    const [entry] = await logs(HOSTS.acme, bob, created.id);
    expect(entry).toMatchObject({ outcome: 'ran', executionStatus: 'pending_approval' });
    const id = String(entry?.executionId);
    const pending = await api(HOSTS.acme, alice, 'GET', `/api/executions/${id}`);
    expect(pending.body).toMatchObject({ status: 'pending_approval', requestedBy: 'bob' });
    // The owner may not approve their own schedule's run; someone else may.
    expectProblem(await api(HOSTS.acme, bob, 'POST', `/api/executions/${id}/approve`, {}), 403);
    const approved = await api(HOSTS.acme, alice, 'POST', `/api/executions/${id}/approve`, {});
    expect(approved.status, approved.text).toBe(200);
    const run = await finished(HOSTS.acme, alice, id);
    expect(run).toMatchObject({ status: 'succeeded', output: { echo: 7, execution: id } });
    // The log says where the fire's run is now, not where it was when fired.
    expect(await logs(HOSTS.acme, bob, created.id)).toMatchObject([
      { outcome: 'ran', executionId: id, executionStatus: 'succeeded' },
    ]);
    const tenantLog = await api(HOSTS.acme, alice, 'GET', '/api/schedule-logs?limit=100');
    expect(
      tenantLog.body.items.find((item: { executionId?: string }) => item.executionId === id),
    ).toMatchObject({
      executionStatus: 'succeeded',
    });
  });

  it('skips, and logs why, a fire beyond the plan’s scheduled fires for the day', async () => {
    const gina = tokens.gina as string;
    const created = await schedule(HOSTS.globex, gina, { skillId: globexSkill });
    const domain = (await tenantContext(table(), 'globex')) as TenantContext;
    const day = new Date().toISOString().slice(0, 10);
    const limit = planLimits(domain.tenant.plan).firesPerDay;
    // The day's count stands at the plan's limit (as if that many fires had run today).
    await table().client.send(
      new UpdateCommand({
        TableName: table().name,
        Key: quotaKey(domain, day),
        UpdateExpression: 'SET fires = :limit',
        ExpressionAttributeValues: { ':limit': limit },
      }),
    );
    try {
      await fire('globex', created.id, created.nextFireAt);
      const entries = await logs(HOSTS.globex, gina, created.id);
      expect(entries).toHaveLength(1);
      expect(entries[0]).toMatchObject({ outcome: 'skipped', reason: 'over-quota' });
      expect(String(entries[0]?.detail)).toContain(`${limit} scheduled fires a day`);
      expect(entries[0]?.executionId).toBeUndefined();
      // "Fire now" is the firer's own run, counted with the day's runs and not the plan's scheduled
      // fires: nobody uses up, by firing their schedules by hand, the fires every other one needs.
      const now = await api(HOSTS.globex, gina, 'POST', `/api/schedules/${created.id}/fire`);
      expect(now.body).toMatchObject({ outcome: 'ran', trigger: 'manual', owner: 'gina' });
    } finally {
      await table().client.send(
        new UpdateCommand({
          TableName: table().name,
          Key: quotaKey(domain, day),
          UpdateExpression: 'SET fires = :zero',
          ExpressionAttributeValues: { ':zero': 0 },
        }),
      );
    }
  });

  it('lists each schedule with its last fire as it is now: the run’s status, or why it was skipped', async () => {
    const gina = tokens.gina as string;
    const listed = async (host: string, token: string, id: string) => {
      const list = await api(host, token, 'GET', '/api/schedules');
      expect(list.status, list.text).toBe(200);
      return list.body.items.find((item: { id: string }) => item.id === id) as Record<string, unknown>;
    };
    const created = await schedule(HOSTS.globex, gina, { skillId: globexSkill, input: { n: 3 } });
    await fire('globex', created.id, created.nextFireAt);
    const [entry] = await logs(HOSTS.globex, gina, created.id);
    const runId = String(entry?.executionId);
    await finished(HOSTS.globex, gina, runId);
    // The run ended after the fire noted it: the list says how it ended, linked by its id, and so
    // does the schedule's own answer.
    const ran = {
      lastFireAt: created.nextFireAt,
      lastOutcome: 'ran',
      lastExecutionId: runId,
      lastExecutionStatus: 'succeeded',
    };
    expect(await listed(HOSTS.globex, gina, created.id)).toMatchObject(ran);
    expect((await api(HOSTS.globex, gina, 'GET', `/api/schedules/${created.id}`)).body).toMatchObject(ran);

    // The next fire is skipped: the list says why, and no longer names the earlier fire's run.
    const domain = (await tenantContext(table(), 'globex')) as TenantContext;
    const day = new Date().toISOString().slice(0, 10);
    const quota = (fires: number) =>
      table().client.send(
        new UpdateCommand({
          TableName: table().name,
          Key: quotaKey(domain, day),
          UpdateExpression: 'SET fires = :fires',
          ExpressionAttributeValues: { ':fires': fires },
        }),
      );
    const next = await api(HOSTS.globex, gina, 'GET', `/api/schedules/${created.id}`);
    await quota(planLimits(domain.tenant.plan).firesPerDay);
    try {
      await fire('globex', created.id, next.body.nextFireAt);
    } finally {
      await quota(0);
    }
    const skipped = await listed(HOSTS.globex, gina, created.id);
    expect(skipped).toMatchObject({
      lastFireAt: next.body.nextFireAt,
      lastOutcome: 'skipped',
      lastReason: 'over-quota',
    });
    expect(skipped.lastExecutionId).toBeUndefined();
    expect(skipped.lastExecutionStatus).toBeUndefined();

    // The status is read in the host's tenant's partition, never taken from the schedule's item: a
    // schedule of acme naming globex's run, with a status written beside it, shows no status.
    const acme = (await tenantContext(table(), 'acme')) as TenantContext;
    const bob = tokens.bob as string;
    const foreign = await schedule(HOSTS.acme, bob, { skillId: acmeSkill, enabled: false });
    await table().client.send(
      new UpdateCommand({
        TableName: table().name,
        Key: scheduleKey(acme, foreign.id),
        UpdateExpression:
          'SET lastFireAt = :at, lastOutcome = :ran, lastExecutionId = :run, lastExecutionStatus = :status',
        ExpressionAttributeValues: {
          ':at': new Date().toISOString(),
          ':ran': 'ran',
          ':run': runId,
          ':status': 'succeeded',
        },
      }),
    );
    const shown = await listed(HOSTS.acme, bob, foreign.id);
    expect(shown).toMatchObject({ lastOutcome: 'ran', lastExecutionId: runId });
    expect(shown.lastExecutionStatus).toBeUndefined();
    const own = (await api(HOSTS.acme, bob, 'GET', `/api/schedules/${foreign.id}`)).body;
    expect(own).toMatchObject({ lastOutcome: 'ran', lastExecutionId: runId });
    expect(own.lastExecutionStatus).toBeUndefined();
  });

  it('skips, and logs why, a fire of a Skill that is disabled: a rule, not a fault to retry', async () => {
    const gina = tokens.gina as string;
    const skillId = await skill(HOSTS.globex, gina);
    const created = await schedule(HOSTS.globex, gina, { skillId, input: { n: 5 } });
    const disabled = await api(HOSTS.globex, gina, 'PUT', `/api/skills/${skillId}/state`, {
      state: 'disabled',
    });
    expect(disabled.status, disabled.text).toBe(200);
    const fired = await fire('globex', created.id, created.nextFireAt);
    expect(fired).toMatchObject({ result: 'logged' });
    const [entry] = await logs(HOSTS.globex, gina, created.id);
    expect(entry).toMatchObject({ outcome: 'skipped', reason: 'skill-not-runnable' });
    expect(entry?.executionId).toBeUndefined();
    const shown = await api(HOSTS.globex, gina, 'GET', `/api/schedules/${created.id}`);
    expect(shown.body).toMatchObject({ lastOutcome: 'skipped', lastReason: 'skill-not-runnable' });
  });

  it('keeps a fire noted between an edit’s read and its write, and still refuses a stale revision', async () => {
    const gina = tokens.gina as string;
    const created = await schedule(HOSTS.globex, gina, { skillId: globexSkill, input: { n: 4 } });
    const store = new ScheduleRepository(table());
    const domain = (await tenantContext(table(), 'globex')) as TenantContext;
    // An edit read the schedule; a fire lands before the edit writes.
    const read = await store.find(domain, created.id);
    expect(read?.lastFireAt).toBeUndefined();
    await fire('globex', created.id, created.nextFireAt);
    const [entry] = await logs(HOSTS.globex, gina, created.id);
    const edited = {
      ...(read as NonNullable<typeof read>),
      name: unique('renamed'),
      revision: (read?.revision ?? 0) + 1,
    };
    await store.replace(domain, edited, read?.revision ?? 0);
    const shown = await api(HOSTS.globex, gina, 'GET', `/api/schedules/${created.id}`);
    expect(shown.body).toMatchObject({
      name: edited.name,
      revision: edited.revision,
      lastFireAt: created.nextFireAt,
      lastOutcome: 'ran',
      lastExecutionId: entry?.executionId,
    });
    // An edit of the revision before is refused as ever, fire or none.
    await expect(
      store.replace(domain, { ...edited, name: unique('late') }, read?.revision ?? 0),
    ).rejects.toThrow(ScheduleConflictError);
    await finished(HOSTS.globex, gina, String(entry?.executionId));
  });

  it('refuses a fire event that does not verify, and ignores one for a schedule that is gone', async () => {
    const forged = { ...fireEvent(platform.signer, 'acme', everyMinute.id, new Date().toISOString()) };
    const tampered = await platform.invoke('schedule-fire', {
      ...forged,
      schedule: { body: forged.schedule.body.replace('acme', 'globex'), mac: forged.schedule.mac },
    });
    expect(tampered).toEqual({ result: 'refused' });
    expect(
      await platform.invoke('schedule-fire', {
        ...forged,
        schedule: { body: forged.schedule.body, mac: 'v1.x' },
      }),
    ).toEqual({
      result: 'refused',
    });
    expect(
      await platform.invoke(
        'schedule-fire',
        fireEvent(platform.signer, 'acme', 'sch-000000000000', new Date().toISOString()),
      ),
    ).toEqual({ result: 'unknown' });
    // Too early (a fire for a time far ahead) is not run.
    expect(
      await platform.invoke(
        'schedule-fire',
        fireEvent(platform.signer, 'acme', everyMinute.id, new Date(Date.now() + 3_600_000).toISOString()),
      ),
    ).toEqual({ result: 'early' });
  });

  it('fire now is the owner’s alone: nobody starts a run through another’s schedule, or approves what they fired; the audit names who fired', async () => {
    const alice = tokens.alice as string;
    const made = await api(HOSTS.acme, alice, 'POST', '/api/users', {
      username: 'cleo',
      password: 'cleo-password-1',
      roles: ['admin'],
    });
    expect(made.status, made.text).toBe(201);
    const cleo = await login(HOSTS.acme, 'cleo', 'cleo-password-1');
    const gated = await skill(HOSTS.acme, alice, { risk: 'medium', approval: 'one' });
    const created = await schedule(HOSTS.acme, alice, { skillId: gated, input: { n: 1_000_000 } });
    // Another admin may not fire alice's schedule: its Skill and input are alice's choice, and
    // either of them could then approve the run (before: it ran as alice, and cleo approved it).
    const refused = await api(HOSTS.acme, cleo, 'POST', `/api/schedules/${created.id}/fire`);
    expectProblem(refused, 403);
    expect(refused.body.detail).toContain('Only its owner (alice)');
    // Saved by cleo, it is cleo's: she fires it, the run is hers, and she may not approve it.
    const saved = await api(HOSTS.acme, cleo, 'PUT', `/api/schedules/${created.id}`, {
      name: created.name,
      skillId: gated,
      input: { n: 2 },
      timing: { kind: 'rate', every: 1, unit: 'minutes' },
    });
    expect(saved.body).toMatchObject({ owner: 'cleo' });
    const fired = await api(HOSTS.acme, cleo, 'POST', `/api/schedules/${created.id}/fire`);
    expect(fired.status, fired.text).toBe(200);
    expect(fired.body).toMatchObject({ outcome: 'ran', trigger: 'manual', owner: 'cleo' });
    const id = String(fired.body.executionId);
    const pending = await api(HOSTS.acme, alice, 'GET', `/api/executions/${id}`);
    expect(pending.body).toMatchObject({
      status: 'pending_approval',
      requestedBy: 'cleo',
      input: { n: 2 },
      schedule: { id: created.id },
    });
    expectProblem(await api(HOSTS.acme, cleo, 'POST', `/api/executions/${id}/approve`, {}), 403);
    // The audit says who fired it, signed in how, and the run's request is hers.
    const audit = await api(HOSTS.acme, alice, 'GET', '/api/audit?limit=100');
    const entries = audit.body.items as {
      action: string;
      target: string;
      actor: unknown;
      details: unknown;
    }[];
    expect(
      entries.find((entry) => entry.action === 'schedule.fired' && entry.target === `schedule:${created.id}`),
    ).toMatchObject({
      actor: { username: 'cleo', via: 'session' },
      details: { outcome: 'ran', executionId: id },
    });
    expect(
      entries.find((entry) => entry.action === 'execution.requested' && entry.target === `execution:${id}`)
        ?.actor,
    ).toMatchObject({ username: 'cleo', via: 'schedule' });
    const approved = await api(HOSTS.acme, alice, 'POST', `/api/executions/${id}/approve`, {});
    expect(approved.status, approved.text).toBe(200);
  });

  it('hides a schedule of a Skill the reader may not see, with its input and its fires', async () => {
    const alice = tokens.alice as string;
    const bob = tokens.bob as string;
    const hidden = await skill(HOSTS.acme, alice, {
      inputSchema: { type: 'object', properties: { n: { type: 'integer' }, key: { type: 'string' } } },
      visibility: { roles: ['admin'] },
    });
    const created = await schedule(HOSTS.acme, alice, {
      skillId: hidden,
      input: { n: 1, key: 'SECRET-PAYROLL-KEY' },
    });
    const fired = await api(HOSTS.acme, alice, 'POST', `/api/schedules/${created.id}/fire`);
    expect(fired.body.outcome, fired.text).toBe('ran');
    // bob (operator: schedule:read) may not see the Skill, so neither its schedule nor its fires.
    expectProblem(await api(HOSTS.acme, bob, 'GET', `/api/skills/${hidden}`), 404);
    const list = await api(HOSTS.acme, bob, 'GET', '/api/schedules');
    expect(list.status, list.text).toBe(200);
    expect(list.text).not.toContain(created.id);
    expect(list.text).not.toContain('SECRET-PAYROLL-KEY');
    expect(list.body.items.length).toBeGreaterThan(0);
    expectProblem(await api(HOSTS.acme, bob, 'GET', `/api/schedules/${created.id}`), 404);
    expectProblem(await api(HOSTS.acme, bob, 'GET', `/api/schedules/${created.id}/logs`), 404);
    const tenantLog = await api(HOSTS.acme, bob, 'GET', '/api/schedule-logs?limit=100');
    expect(tenantLog.status, tenantLog.text).toBe(200);
    expect(tenantLog.text).not.toContain(created.id);
    expect(tenantLog.text).not.toContain(String(fired.body.executionId));
    // Nor do the log's cursors name them: a page's last entry read may be one bob is not shown.
    const cursors: string[] = [];
    let cursor: string | undefined;
    do {
      const next = await api(
        HOSTS.acme,
        bob,
        'GET',
        `/api/schedule-logs?limit=1${cursor === undefined ? '' : `&cursor=${cursor}`}`,
      );
      expect(next.status, next.text).toBe(200);
      expect(next.text).not.toContain(created.id);
      cursor = next.body.cursor;
      if (cursor !== undefined) cursors.push(cursor);
    } while (cursor !== undefined && cursors.length < 500);
    expect(cursors.length).toBeGreaterThan(0);
    const opened = cursors.map((each) => Buffer.from(each, 'base64url').toString('latin1')).join('\n');
    expect(opened).not.toContain(created.id);
    expect(opened).not.toContain('SCHEDLOG');
    // Managing schedules without sight of the Skill reaches nothing of it either.
    const role = await api(HOSTS.acme, alice, 'POST', '/api/roles', {
      name: 'schedule-keeper',
      permissions: ['schedule:manage'],
    });
    expect(role.status, role.text).toBe(201);
    await api(HOSTS.acme, alice, 'POST', '/api/users', {
      username: 'dave',
      password: 'dave-password-1',
      roles: ['schedule-keeper'],
    });
    const dave = await login(HOSTS.acme, 'dave', 'dave-password-1');
    expectProblem(await api(HOSTS.acme, dave, 'POST', `/api/schedules/${created.id}/fire`), 404);
    expectProblem(await api(HOSTS.acme, dave, 'POST', `/api/schedules/${created.id}/pause`), 404);
    // Its owner, and whoever may see the Skill, still see it all.
    const own = await api(HOSTS.acme, alice, 'GET', `/api/schedules/${created.id}`);
    expect(own.body).toMatchObject({ input: { key: 'SECRET-PAYROLL-KEY' } });
    expect(await logs(HOSTS.acme, alice, created.id)).toHaveLength(1);
    // Given a Skill bob may see, the schedule is his to see, but not its last fire: a run of the other.
    const moved = await api(HOSTS.acme, alice, 'PUT', `/api/schedules/${created.id}`, {
      name: created.name,
      skillId: acmeSkill,
      input: { n: 1 },
      timing: { kind: 'rate', every: 5, unit: 'minutes' },
    });
    expect(moved.status, moved.text).toBe(200);
    expect(moved.body.lastOutcome).toBeUndefined();
    const seen = await api(HOSTS.acme, bob, 'GET', `/api/schedules/${created.id}`);
    expect(seen.status, seen.text).toBe(200);
    expect(seen.text).not.toContain(String(fired.body.executionId));
    expect(seen.body.lastFireAt).toBeUndefined();
  });

  it('a fire now in the second of an occurrence is its own fire, and an occurrence already taken still moves the schedule on', async () => {
    const bob = tokens.bob as string;
    const domain = (await tenantContext(table(), 'acme')) as TenantContext;
    const store = new ScheduleRepository(table());
    const entry = (
      created: { id: string; name: string; nextFireAt: string },
      trigger: 'schedule' | 'manual',
    ) => ({
      scheduleId: created.id,
      scheduleName: created.name,
      skillId: acmeSkill,
      scheduledTime: created.nextFireAt,
      firedAt: created.nextFireAt,
      outcome: 'requesting' as const,
      trigger,
      owner: 'bob',
    });
    const expires = Math.floor(Date.now() / 1000) + 3600;
    // A "fire now" took the very second the schedule is due (its entry written as the route does).
    const first = await schedule(HOSTS.acme, bob, { skillId: acmeSkill });
    expect(await store.claimLog(domain, entry(first, 'manual'), expires)).toBe(true);
    await fire('acme', first.id, first.nextFireAt);
    const both = await logs(HOSTS.acme, bob, first.id);
    expect(both.map((item) => item.trigger).sort()).toEqual(['manual', 'schedule']);
    expect(both.find((item) => item.trigger === 'schedule')).toMatchObject({ outcome: 'ran' });
    // An occurrence whose entry was taken, but the schedule not moved on (a fire that stopped in
    // between, or a second delivery): nothing runs again, and the schedule is no longer due then.
    const second = await schedule(HOSTS.acme, bob, { skillId: acmeSkill });
    expect(await store.claimLog(domain, entry(second, 'schedule'), expires)).toBe(true);
    await fire('acme', second.id, second.nextFireAt);
    expect(await logs(HOSTS.acme, bob, second.id)).toHaveLength(1);
    const after = await api(HOSTS.acme, bob, 'GET', `/api/schedules/${second.id}`);
    expect(Date.parse(after.body.nextFireAt)).toBeGreaterThan(Date.parse(second.nextFireAt));
  });

  it('the schedules guide: its samples are accepted as written; its reasons and limits are the code’s', async () => {
    const guide = readFileSync(resolve(REPOSITORY_ROOT, 'docs/guide/schedules.md'), 'utf8');
    const samples = [
      ...guide.matchAll(
        /<!-- tested-by: test\/integration\/schedules\.test\.ts -->\n```json\n([\s\S]*?)```/g,
      ),
    ].map(([, json]) => JSON.parse((json ?? '').replaceAll("<the Skill's id>", acmeSkill)));
    expect(samples.map((sample) => sample.timing.kind)).toEqual(['cron', 'rate', 'once']);
    for (const sample of samples) {
      const created = await api(HOSTS.acme, tokens.bob as string, 'POST', '/api/schedules', sample);
      expect(created.status, created.text).toBe(201);
      expect(created.body).toMatchObject({ state: 'enabled', timezone: sample.timezone ?? 'UTC' });
      expect(created.body.upcoming.length).toBeGreaterThan(0);
      const removed = await api(
        HOSTS.acme,
        tokens.bob as string,
        'DELETE',
        `/api/schedules/${created.body.id}`,
      );
      expect(removed.status, removed.text).toBe(204);
    }
    // Its table of skip reasons names each reason the fire logs, once, in the contract's order.
    // A table's first cells, below its header row (which starts with `heading`).
    const rows = (heading: string) =>
      [...((guide.split(heading)[1] ?? '').split('\n\n')[0] ?? '').matchAll(/^\| (.+?) \|/gm)]
        .map(([, cell]) => cell ?? '')
        .filter((cell) => cell !== '---');
    expect(rows('| reason |').map((cell) => cell.replaceAll('`', ''))).toEqual([...SKIP_REASONS]);
    // Its plan table is the plans' limits.
    const limits = rows('| plan |').flatMap((cell) => {
      const row = guide.split('\n').find((line) => line.startsWith(`| ${cell} |`)) ?? '';
      const [, , kept, interval, fires] = row.split('|').map((part) => part.trim());
      return cell.split(', ').map((plan) => [plan, kept, interval, fires] as const);
    });
    expect(limits.map(([plan]) => plan).sort()).toEqual(Object.keys(PLAN_LIMITS).sort());
    for (const [plan, kept, interval, fires] of limits) {
      const limit = PLAN_LIMITS[plan as keyof typeof PLAN_LIMITS];
      expect([kept, interval, fires], plan).toEqual([
        String(limit.schedules),
        `${limit.minScheduleMinutes} minute${limit.minScheduleMinutes === 1 ? '' : 's'}`,
        limit.firesPerDay.toLocaleString('en-US'),
      ]);
    }
  });

  it('a schedule at rate 1 minute fires on time and leaves a run and a log; a paused one does not', async () => {
    const bob = tokens.bob as string;
    const due = Date.parse(everyMinute.nextFireAt);
    expect(due - Date.parse(everyMinute.createdAt)).toBe(60_000);
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, due - Date.now() + 3_000)));
    const entries = await logs(HOSTS.acme, bob, everyMinute.id);
    expect(entries, JSON.stringify(entries)).toHaveLength(1);
    const [entry] = entries;
    expect(entry).toMatchObject({
      outcome: 'ran',
      trigger: 'schedule',
      scheduledTime: everyMinute.nextFireAt,
      owner: 'bob',
    });
    const late = Date.parse(String(entry?.firedAt)) - due;
    expect(late).toBeGreaterThanOrEqual(0);
    expect(late).toBeLessThan(2_500);
    const run = await finished(HOSTS.acme, bob, String(entry?.executionId));
    expect(run).toMatchObject({
      status: 'succeeded',
      output: { echo: 60 },
      requestedBy: 'bob',
      schedule: { id: everyMinute.id },
    });
    expect(await logs(HOSTS.acme, bob, paused.id)).toHaveLength(0);
    const pausedView = await api(HOSTS.acme, bob, 'GET', `/api/schedules/${paused.id}`);
    expect(pausedView.body.lastFireAt).toBeUndefined();
  });
});
