/**
 * Issue 19 at the API, on the real local platform: browser sessions in a cookie (attributes, host
 * binding, CSRF on every cookie write, sign-out everywhere) beside bearer tokens; cancelling runs
 * (waiting for approval, queued — its job claimed so no worker starts it — and already taken by a
 * worker); run and audit filters on indexes; log pages; disabling, archiving and restoring; the audit
 * export; notifications and read marks; a dedicated tenant's branding.
 */
import { CreateQueueCommand } from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Executions } from '../../functions/core/executions/executions.ts';
import { JobClaimRepository } from '../../functions/core/executions/job-claim-repository.ts';
import { jobId, PythonScriptExecutor } from '../../functions/core/executors/python-script.ts';
import { ExecutorRegistry } from '../../functions/core/executors/registry.ts';
import type { Caller } from '../../functions/core/identity/caller.ts';
import { Queues } from '../../functions/core/queues.ts';
import type { TenantContext } from '../../functions/core/tenancy/domain.ts';
import type { TestResponse } from '../support/http.ts';
import {
  expectProblem,
  HOSTS,
  problemType,
  startTestPlatform,
  type TestPlatform,
} from '../support/platform.ts';
import { scriptSkill } from '../support/runs.ts';
import { waitForRun } from '../support/session.ts';

const PASSWORD = 'integration-daily-password';
const { acme: ACME, globex: GLOBEX, admin: ADMIN } = HOSTS;

let platform: TestPlatform;
let alice: string;
let bob: string;
let admin: string;

function api(
  host: string,
  token: string | undefined,
  method: string,
  path: string,
  body?: unknown,
  headers = {},
) {
  return platform.send({ host, method, path, body, headers, ...(token === undefined ? {} : { token }) });
}

/** Signs in for a cookie session: the Set-Cookie value and the CSRF token. */
async function cookieLogin(
  host: string,
  username: string,
): Promise<{ cookie: string; setCookie: string; csrf: string; answer: TestResponse }> {
  const answer = await api(host, undefined, 'POST', '/api/auth/login', {
    username,
    password: PASSWORD,
    session: 'cookie',
  });
  expect(answer.status, answer.text).toBe(200);
  const setCookie = answer.headers['set-cookie'] ?? '';
  const cookie = setCookie.split(';')[0] ?? '';
  return { cookie, setCookie, csrf: String(answer.body.csrfToken), answer };
}

function newSkill(
  name: string,
  extra: Record<string, unknown> = {},
): Promise<{ readonly skillId: string; readonly scriptId: string }> {
  return scriptSkill(
    (token, method, path, body) => api(ACME, token, method, path, body),
    alice,
    'import time\n\ndef main(inputs, ctx):\n    print("hello")\n    return {"ok": True}\n',
    { scriptName: `${name}.py`, skill: { name, outputSchema: true, ...extra } },
  );
}

function waitFor(id: string, statuses: readonly string[]): Promise<Record<string, unknown>> {
  return waitForRun({ url: platform.platform.url, host: ACME, token: alice }, id, {
    until: statuses,
    timeoutMs: 20_000,
  });
}

beforeAll(async () => {
  platform = await startTestPlatform(PASSWORD);
  [alice, bob, admin] = await Promise.all([
    platform.login(ACME, 'alice'),
    platform.login(ACME, 'bob'),
    platform.login(ADMIN, 'admin'),
  ]);
  for (const username of ['vic', 'vera']) {
    const created = await api(ACME, alice, 'POST', '/api/users', {
      username,
      password: PASSWORD,
      roles: ['operator'],
    });
    expect(created.status, created.text).toBe(201);
  }
});

afterAll(async () => {
  await platform?.stop();
});

describe('browser sessions in a cookie', () => {
  it('sets a host-only, HttpOnly, SameSite=Strict cookie (not Secure over http) and answers no token', async () => {
    const { setCookie, answer, cookie } = await cookieLogin(ACME, 'bob');
    expect(setCookie).toMatch(/^efs=efs\.[^;]+; Max-Age=\d+; Path=\/; HttpOnly; SameSite=Strict$/);
    expect(setCookie).not.toMatch(/Domain=|Secure/);
    expect(answer.body).not.toHaveProperty('token');
    expect(answer.body.csrfToken).toMatch(/^[A-Za-z0-9_-]{43}$/);
    const me = await api(ACME, undefined, 'GET', '/api/me', undefined, { cookie });
    expect(me.status).toBe(200);
    expect(me.body).toMatchObject({ username: 'bob', csrfToken: answer.body.csrfToken });
  });

  it('is refused on every other host, tenant or console', async () => {
    const { cookie } = await cookieLogin(ACME, 'alice');
    for (const host of [GLOBEX, ADMIN]) {
      const me = await api(host, undefined, 'GET', '/api/me', undefined, { cookie });
      expectProblem(me, 401, `${host}`);
    }
  });

  it('a cookie write needs the CSRF token and this origin; a bearer write needs neither', async () => {
    const { cookie, csrf } = await cookieLogin(ACME, 'alice');
    const body = { key: 'daily.csrf', value: '1' };
    const attempts: [Record<string, string>, number][] = [
      [{ cookie }, 403],
      [{ cookie, 'x-csrf-token': 'forged' }, 403],
      [{ cookie, 'x-csrf-token': csrf, origin: 'http://globex.localhost:8080' }, 403],
      [{ cookie, 'x-csrf-token': csrf, 'sec-fetch-site': 'same-site' }, 403],
      [
        {
          cookie,
          'x-csrf-token': csrf,
          origin: 'http://acme.localhost:8080',
          'sec-fetch-site': 'same-origin',
        },
        201,
      ],
    ];
    for (const [headers, status] of attempts) {
      const answer = await api(ACME, undefined, 'POST', '/api/parameters', body, headers);
      expect(answer.status, `${JSON.stringify(headers)} → ${answer.text}`).toBe(status);
      if (status === 403) expect(answer.body.type).toBe(problemType('csrf-rejected'));
    }
    // Another user's token does not fit this session.
    const other = await cookieLogin(ACME, 'bob');
    const swapped = await api(ACME, undefined, 'POST', '/api/parameters', body, {
      cookie,
      'x-csrf-token': other.csrf,
    });
    expectProblem(swapped, 403);
    const bearer = await api(ACME, alice, 'POST', '/api/parameters', { key: 'daily.bearer', value: '1' });
    expect(bearer.status).toBe(201);
    // A cookie session is only started from this origin.
    const login = await api(
      ACME,
      undefined,
      'POST',
      '/api/auth/login',
      { username: 'bob', password: PASSWORD, session: 'cookie' },
      { origin: 'http://evil.localhost:9999' },
    );
    expectProblem(login, 403);
  });

  it('signing out clears the cookie; signing out everywhere ends every session of the user', async () => {
    const first = await cookieLogin(ACME, 'bob');
    const out = await api(ACME, undefined, 'POST', '/api/auth/logout', undefined, {
      cookie: first.cookie,
      'x-csrf-token': first.csrf,
    });
    expect(out.status).toBe(204);
    expect(out.headers['set-cookie']).toMatch(/^efs=; Max-Age=0; Path=\/; HttpOnly; SameSite=Strict/);
    expectProblem(await api(ACME, undefined, 'GET', '/api/me', undefined, { cookie: first.cookie }), 401);

    const browser = await cookieLogin(ACME, 'vic');
    const cli = await platform.login(ACME, 'vic');
    expect((await api(ACME, cli, 'GET', '/api/me')).status).toBe(200);
    const everywhere = await api(ACME, undefined, 'POST', '/api/auth/logout-everywhere', undefined, {
      cookie: browser.cookie,
      'x-csrf-token': browser.csrf,
    });
    expect(everywhere.status).toBe(204);
    expectProblem(await api(ACME, cli, 'GET', '/api/me'), 401);
    expect((await platform.login(ACME, 'vic')).length).toBeGreaterThan(10);
  });
});

describe('cancelling runs', () => {
  it('cancels a run waiting for approval: requester or execution:cancel only; audited; a finished run is a 409', async () => {
    const { skillId } = await newSkill('Gated', { risk: 'medium', approval: 'one' });
    const requested = await api(ACME, bob, 'POST', `/api/skills/${skillId}/executions`, { input: {} });
    expect(requested.body.status).toBe('pending_approval');
    const id = String(requested.body.id);
    const intruder = await api(
      ACME,
      await platform.login(ACME, 'vera'),
      'POST',
      `/api/executions/${id}/cancel`,
      {},
    );
    expectProblem(intruder, [403, 404]);
    const cancelled = await api(ACME, bob, 'POST', `/api/executions/${id}/cancel`, { reason: 'not needed' });
    expect(cancelled.status, cancelled.text).toBe(200);
    expect(cancelled.body).toMatchObject({
      status: 'cancelled',
      cancelledBy: 'bob',
      cancelReason: 'not needed',
      error: { type: 'Cancelled', message: 'Cancelled by bob: not needed' },
    });
    expectProblem(await api(ACME, bob, 'POST', `/api/executions/${id}/cancel`, {}), 409);
    const audit = await api(
      ACME,
      alice,
      'GET',
      `/api/audit?target=execution:${id}&action=execution.cancelled`,
    );
    expect(audit.body.items).toHaveLength(1);
    expect(audit.body.items[0]).toMatchObject({
      actor: { username: 'bob' },
      details: { note: 'not needed' },
    });
    const gone = await api(ACME, alice, 'GET', '/api/approvals');
    expect(gone.body.items.map((item: { id: string }) => item.id)).not.toContain(id);
  });

  it('claims a queued job so no worker starts it; a job a worker holds gets a cancel request instead', async () => {
    const { skillId } = await newSkill('Queued');
    // A queue nobody reads keeps the runs queued; the claims table is the platform's own.
    const sqs = platform.platform.services.sqs;
    const url = (await sqs.send(new CreateQueueCommand({ QueueName: 'daily-unread' }))).QueueUrl ?? '';
    const core = platform.core;
    const claims = new JobClaimRepository({
      client: core.table.client,
      name: platform.platform.services.claimsTableName,
    });
    const executors = new ExecutorRegistry().register(
      new PythonScriptExecutor({
        assets: core.scripts,
        queues: new Queues(sqs, { 'script-executions': url }, platform.platform.signer),
        resources: core.httpResources,
      }),
    );
    const executions = new Executions({
      table: core.table,
      audit: core.audit,
      skills: core.skills,
      executors,
      claims,
    });
    const tenant = (await core.hosts.resolve(ACME)) as TenantContext;
    const bobCaller: Caller = {
      username: 'bob',
      roles: ['operator'],
      permissions: new Set(['skill:read', 'skill:run', 'execution:read']),
      superAdmin: false,
      via: 'session',
      credentialId: 'test',
    };
    const epoch = Math.floor(Date.now() / 1000) + 60;

    const waiting = await executions.request(tenant, bobCaller, skillId, {});
    expect(waiting.execution.status).toBe('queued');
    const cancelled = await executions.cancel(tenant, bobCaller, waiting.execution.id, 'changed my mind');
    expect(cancelled).toMatchObject({ status: 'cancelled', cancelledBy: 'bob' });
    // A worker receiving the job now cannot claim it, so it never runs.
    expect(await claims.claim(jobId(tenant.tenant.id, waiting.execution.id), epoch)).toBe(false);

    const taken = await executions.request(tenant, bobCaller, skillId, {});
    expect(await claims.claim(jobId(tenant.tenant.id, taken.execution.id), epoch)).toBe(true);
    const requested = await executions.cancel(tenant, bobCaller, taken.execution.id);
    expect(requested).toMatchObject({ status: 'queued', cancelRequested: true, cancelRequestedBy: 'bob' });
    // Asking again changes nothing; the runtime's report (or the sweep) ends it.
    const again = await executions.cancel(tenant, bobCaller, taken.execution.id);
    expect(again.cancelRequestedAt).toBe(requested.cancelRequestedAt);
  });

  it('a run a worker already holds is not closed: the cancel request is recorded for the runtime', async () => {
    const { skillId } = await newSkill('Held');
    const started = await api(ACME, bob, 'POST', `/api/skills/${skillId}/executions`, { input: {} });
    const id = String(started.body.id);
    // Claim the job as a worker would have, then cancel.
    const tenant = (await platform.core.hosts.resolve(ACME)) as TenantContext;
    await new JobClaimRepository({
      client: platform.core.table.client,
      name: platform.platform.services.claimsTableName,
    }).claim(jobId(tenant.tenant.id, id), Math.floor(Date.now() / 1000) + 60);
    const answer = await api(ACME, bob, 'POST', `/api/executions/${id}/cancel`, {});
    if (answer.status === 409) return; // the worker had finished it already
    expect([200, 202]).toContain(answer.status);
    if (answer.status === 202) {
      expect(answer.body).toMatchObject({ cancelRequested: true, cancelRequestedBy: 'bob' });
      const audit = await api(
        ACME,
        alice,
        'GET',
        `/api/audit?target=execution:${id}&action=execution.cancel-requested`,
      );
      expect(audit.body.items).toHaveLength(1);
    }
  });
});

describe('filters, logs and durations', () => {
  it('filters runs by status, Skill, requester and dates on indexes, pages them, and refuses bad filters', async () => {
    const { skillId } = await newSkill('Filtered');
    const ids: string[] = [];
    for (const token of [bob, bob, alice]) {
      const started = await api(ACME, token, 'POST', `/api/skills/${skillId}/executions`, { input: {} });
      ids.push(String(started.body.id));
    }
    for (const id of ids) await waitFor(id, ['succeeded']);
    const bySkill = await api(ACME, alice, 'GET', `/api/executions?skillId=${skillId}`);
    expect(bySkill.body.items.map((item: { id: string }) => item.id)).toEqual([...ids].reverse());
    const byBob = await api(
      ACME,
      alice,
      'GET',
      `/api/executions?skillId=${skillId}&requestedBy=bob&status=succeeded`,
    );
    expect(byBob.body.items.map((item: { id: string }) => item.id)).toEqual([ids[1], ids[0]]);
    const paged = await api(ACME, alice, 'GET', `/api/executions?skillId=${skillId}&limit=1`);
    expect(paged.body.items).toHaveLength(1);
    const next = await api(
      ACME,
      alice,
      'GET',
      `/api/executions?skillId=${skillId}&limit=1&cursor=${paged.body.cursor}`,
    );
    expect(next.body.items[0].id).toBe(ids[1]);
    // A cursor of one listing is refused by another.
    expectProblem(
      await api(ACME, alice, 'GET', `/api/executions?status=failed&cursor=${paged.body.cursor}`),
      422,
    );
    const future = await api(ACME, alice, 'GET', `/api/executions?skillId=${skillId}&from=2999-01-01`);
    expect(future.body.items).toEqual([]);
    const today = new Date().toISOString().slice(0, 10);
    const dated = await api(
      ACME,
      alice,
      'GET',
      `/api/executions?skillId=${skillId}&from=${today}&to=${today}T23:59:59Z`,
    );
    expect(dated.body.items).toHaveLength(3);
    const bad = await api(ACME, alice, 'GET', '/api/executions?status=nope&skillId=x&from=yesterday');
    expectProblem(bad, 422);
    expect(bad.body.errors.map((error: { path: string }) => error.path).sort()).toEqual([
      'from',
      'skillId',
      'status',
    ]);
    // A misspelt filter, or one given twice, is refused: ignored, it answered every run as if filtered.
    const misspelt = await api(
      ACME,
      alice,
      'GET',
      `/api/executions?skill=${skillId}&status=succeeded&status=failed`,
    );
    expectProblem(misspelt, 422);
    expect(misspelt.body.errors).toEqual([
      { path: 'skill', message: expect.stringContaining('it takes') },
      { path: 'status', message: 'given more than once' },
    ]);
    expect(misspelt.body.errors[0].message).toContain('skillId');
    // Anonymous routes ignore what they do not read: a monitor's cache-buster is no filter.
    expect((await api(ACME, alice, 'GET', '/api/health?_=1733430000')).status).toBe(200);
    for (const name of ['constructor', '__proto__', 'toString']) {
      const odd = await api(ACME, alice, 'GET', `/api/me?${name}=1`);
      expectProblem(odd, 422);
      expect(odd.body.errors).toEqual([{ path: name, message: 'this route takes no query parameters' }]);
    }
    // Durations come with each run.
    expect(bySkill.body.items[0].durationMs).toBeGreaterThanOrEqual(0);
    expect(bySkill.body.items[0].waitMs).toBeGreaterThanOrEqual(0);
    // The log of a finished run, as a page, then nothing more after its cursor.
    const logs = await api(ACME, alice, 'GET', `/api/executions/${ids[0]}/logs`);
    expect(logs.body).toMatchObject({
      complete: true,
      chunks: [{ seq: 1, stream: 'stdout', text: 'hello\n' }],
    });
    const after = await api(ACME, alice, 'GET', `/api/executions/${ids[0]}/logs?after=${logs.body.cursor}`);
    expect(after.body).toMatchObject({ complete: true, chunks: [] });
    expectProblem(await api(ACME, alice, 'GET', `/api/executions/${ids[0]}/logs?after=-1`), 422);
  });

  it('answers streamed log chunks in order after a cursor, each written once', async () => {
    const { skillId } = await newSkill('Streamed', { risk: 'medium', approval: 'one' });
    const started = await api(ACME, bob, 'POST', `/api/skills/${skillId}/executions`, { input: {} });
    const id = String(started.body.id);
    const tenant = (await platform.core.hosts.resolve(ACME)) as TenantContext;
    const chunks = [1, 2, 3].map((seq) => ({ seq, stream: 'stdout' as const, text: `line ${seq}\n` }));
    expect(await platform.core.executions.appendLogChunks(tenant, id, chunks)).toBe(3);
    expect(await platform.core.executions.appendLogChunks(tenant, id, chunks)).toBe(0);
    const first = await api(ACME, bob, 'GET', `/api/executions/${id}/logs`);
    expect(first.body.chunks.map((chunk: { text: string }) => chunk.text)).toEqual([
      'line 1\n',
      'line 2\n',
      'line 3\n',
    ]);
    expect(first.body.complete).toBe(false);
    const after = await api(ACME, bob, 'GET', `/api/executions/${id}/logs?after=2`);
    expect(after.body.chunks.map((chunk: { seq: number }) => chunk.seq)).toEqual([3]);
    // globex never reads acme's log.
    const gina = await platform.login(GLOBEX, 'gina');
    expectProblem(await api(GLOBEX, gina, 'GET', `/api/executions/${id}/logs`), 404);
  });
});

describe('disable, archive, restore', () => {
  it('refuses runs of a disabled Skill or archived script with the reason; approvals too; restore undoes it', async () => {
    const { skillId, scriptId } = await newSkill('Switchable', { risk: 'medium', approval: 'one' });
    const pending = await api(ACME, bob, 'POST', `/api/skills/${skillId}/executions`, { input: {} });
    const disabled = await api(ACME, alice, 'PUT', `/api/skills/${skillId}/state`, {
      state: 'disabled',
      reason: 'audit',
    });
    expect(disabled.body).toMatchObject({ state: 'disabled', stateReason: 'audit', stateChangedBy: 'alice' });
    const refused = await api(ACME, bob, 'POST', `/api/skills/${skillId}/executions`, { input: {} });
    expectProblem(refused, 409);
    expect(refused.body).toMatchObject({
      type: problemType('not-runnable'),
      subject: 'Skill',
      state: 'disabled',
    });
    const approve = await api(ACME, alice, 'POST', `/api/executions/${pending.body.id}/approve`, {});
    expectProblem(approve, 409);
    // Still listed while disabled; archived leaves the catalogue (managers may ask for it).
    expect(
      (await api(ACME, bob, 'GET', '/api/skills')).body.items.map((item: { id: string }) => item.id),
    ).toContain(skillId);
    await api(ACME, alice, 'PUT', `/api/skills/${skillId}/state`, { state: 'archived' });
    expect(
      (await api(ACME, bob, 'GET', '/api/skills?archived=true')).body.items.map(
        (item: { id: string }) => item.id,
      ),
    ).not.toContain(skillId);
    expect(
      (await api(ACME, alice, 'GET', '/api/skills?archived=true')).body.items.map(
        (item: { id: string }) => item.id,
      ),
    ).toContain(skillId);
    await api(ACME, alice, 'PUT', `/api/skills/${skillId}/state`, { state: 'active' });

    await api(ACME, alice, 'PUT', `/api/assets/scripts/${scriptId}/state`, { state: 'archived' });
    const byScript = await api(ACME, bob, 'POST', `/api/skills/${skillId}/executions`, { input: {} });
    expect(byScript.body).toMatchObject({
      type: problemType('not-runnable'),
      subject: 'script',
      state: 'archived',
    });
    expect(
      (await api(ACME, alice, 'GET', '/api/assets/scripts?limit=100')).body.items.map(
        (item: { id: string }) => item.id,
      ),
    ).not.toContain(scriptId);
    await api(ACME, alice, 'PUT', `/api/assets/scripts/${scriptId}/state`, { state: 'active' });
    expect((await api(ACME, bob, 'POST', `/api/skills/${skillId}/executions`, { input: {} })).status).toBe(
      202,
    );
    expect((await api(ACME, alice, 'POST', `/api/executions/${pending.body.id}/approve`, {})).status).toBe(
      200,
    );

    // Operators cannot change states, and bad states are refused.
    expectProblem(await api(ACME, bob, 'PUT', `/api/skills/${skillId}/state`, { state: 'archived' }), 403);
    expectProblem(await api(ACME, alice, 'PUT', `/api/skills/${skillId}/state`, { state: 'deleted' }), 422);
    const actions = (await api(ACME, alice, 'GET', `/api/audit?target=skill:${skillId}`)).body.items.map(
      (entry: { action: string }) => entry.action,
    );
    expect(actions).toEqual(expect.arrayContaining(['skill.disabled', 'skill.archived', 'skill.restored']));
  });
});

describe('an HTTP resource the platform disables', () => {
  it("refuses the tenant's runs of it with the reason until the platform restores it", async () => {
    const created = await api(ADMIN, admin, 'POST', '/api/http-resources', {
      name: 'Stock API',
      baseUrl: 'https://stock.example.com',
      methods: ['GET'],
      paths: ['/items/*'],
      writeAllowed: false,
      auth: { scheme: 'bearer' },
    });
    expect(created.status, created.text).toBe(201);
    const id = String(created.body.id);
    expect(
      (await api(ADMIN, admin, 'POST', `/api/http-resources/${id}/grants`, { tenantIds: ['acme'] })).status,
    ).toBe(200);
    const skill = await api(ACME, alice, 'POST', '/api/skills', {
      name: 'Stock level',
      inputSchema: { type: 'object' },
      outputSchema: true,
      risk: 'low',
      asset: { kind: 'http', id, request: { method: 'GET', path: '/items/1' } },
    });
    expect(skill.status, skill.text).toBe(201);
    const disabled = await api(ADMIN, admin, 'PUT', `/api/http-resources/${id}/state`, { state: 'disabled' });
    expect(disabled.body).toMatchObject({ state: 'disabled' });
    const summary = await api(ACME, alice, 'GET', '/api/http-resources');
    expect(summary.body.items.find((item: { id: string }) => item.id === id)).toMatchObject({
      state: 'disabled',
    });
    const refused = await api(ACME, bob, 'POST', `/api/skills/${skill.body.id}/executions`, { input: {} });
    expectProblem(refused, 409);
    expect(refused.body).toMatchObject({ subject: 'HTTP resource', state: 'disabled' });
    expect(refused.body.detail).toContain('until the platform restores it');
    // Tenants cannot touch it; the public chain records who did.
    expectProblem(
      await api(ACME, alice, 'PUT', `/api/http-resources/${id}/state`, { state: 'active' }),
      [403, 404, 405],
    );
    await api(ADMIN, admin, 'PUT', `/api/http-resources/${id}/state`, { state: 'active' });
    const audit = await api(
      ADMIN,
      admin,
      'GET',
      `/api/audit?target=http-resource:${id}&action=http-resource.disabled`,
    );
    expect(audit.body.items).toHaveLength(1);
    expect(
      (await api(ACME, bob, 'POST', `/api/skills/${skill.body.id}/executions`, { input: {} })).status,
    ).toBe(202);
  });
});

describe('audit export', () => {
  it('exports JSON Lines, oldest first, with the verification and a cursor for the rest', async () => {
    const first = await api(ACME, alice, 'GET', '/api/audit/export?limit=3&verify=true&actor=alice');
    expect(first.status).toBe(200);
    expect(first.headers['content-type']).toBe('application/jsonl; charset=utf-8');
    expect(first.headers['content-disposition']).toMatch(/^attachment; filename="audit-tenant-acme-/);
    const lines = first.text
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line));
    expect(lines[0]).toMatchObject({ kind: 'header', domain: 'tenant:acme', filter: { actor: 'alice' } });
    expect(lines[0].verification).toMatchObject({ valid: true });
    const entries = lines.filter((line) => line.kind === 'entry');
    expect(entries).toHaveLength(3);
    expect(entries.every((entry) => entry.actor.username === 'alice' && typeof entry.hash === 'string')).toBe(
      true,
    );
    expect(entries.map((entry) => entry.at)).toEqual([...entries.map((entry) => entry.at)].sort());
    const next = lines.at(-1);
    expect(next.kind).toBe('next');
    const rest = await api(
      ACME,
      alice,
      'GET',
      `/api/audit/export?limit=3&actor=alice&cursor=${encodeURIComponent(next.cursor)}`,
    );
    const header = JSON.parse(rest.text.split('\n')[0] ?? '{}');
    expect(header).toMatchObject({ kind: 'header', continues: true });
    expectProblem(await api(ACME, bob, 'GET', '/api/audit/export'), 403);
    expectProblem(await api(ACME, alice, 'GET', '/api/audit/export?limit=5000'), 422);
  });
});

describe('notifications and read marks', () => {
  it('counts unread announcements until marked read; personal notifications reach only their recipient', async () => {
    const before = (await api(ACME, bob, 'GET', '/api/notifications')).body.unreadAnnouncements;
    const posted = await api(ACME, alice, 'POST', '/api/announcements', {
      title: 'Daily note',
      body: 'hello',
    });
    expect((await api(ACME, bob, 'GET', '/api/notifications')).body.unreadAnnouncements).toBe(before + 1);
    expect((await api(ACME, bob, 'POST', `/api/announcements/${posted.body.id}/read`)).status).toBe(204);
    expect((await api(ACME, bob, 'GET', '/api/notifications')).body.unreadAnnouncements).toBe(before);
    const unread = await api(ACME, bob, 'GET', '/api/announcements?unread=true');
    expect(unread.body.items.map((item: { id: string }) => item.id)).not.toContain(posted.body.id);
    expectProblem(await api(ACME, bob, 'POST', '/api/announcements/nothing-here/read'), 404);
    // A decision notifies the requester, and nobody else sees it.
    const { skillId } = await newSkill('Notified', { risk: 'medium', approval: 'one' });
    const run = await api(ACME, bob, 'POST', `/api/skills/${skillId}/executions`, { input: {} });
    await api(ACME, alice, 'POST', `/api/executions/${run.body.id}/reject`, { comment: 'no budget' });
    const bobs = await api(ACME, bob, 'GET', '/api/announcements?unread=true');
    expect(
      bobs.body.items.find((item: { title: string }) => item.title === 'Rejected: Notified'),
    ).toMatchObject({
      recipients: ['bob'],
      link: `/executions/${run.body.id}`,
    });
    const alices = await api(ACME, alice, 'GET', '/api/announcements?limit=100');
    expect(alices.body.items.map((item: { title: string }) => item.title)).not.toContain(
      'Rejected: Notified',
    );
    const detail = await api(ACME, bob, 'GET', `/api/executions/${run.body.id}`);
    expect(detail.body.decisions).toMatchObject([
      { approver: 'alice', decision: 'reject', comment: 'no budget' },
    ]);

    // The count stops at 50 and says when more are unread (the header reads "50+").
    const counts = async () => {
      const response = await api(ACME, bob, 'GET', '/api/notifications');
      return [response.body.unreadAnnouncements, response.body.unreadAnnouncementsMore];
    };
    const [already] = await counts();
    for (let i = already; i < 50; i++) {
      const note = await api(ACME, alice, 'POST', '/api/announcements', { title: `Note ${i}`, body: '.' });
      expect(note.status, note.text).toBe(201);
    }
    expect(await counts()).toEqual([50, false]);
    await api(ACME, alice, 'POST', '/api/announcements', { title: 'One more', body: '.' });
    expect(await counts()).toEqual([50, true]);
  });
});

describe('dedicated branding', () => {
  it('validates the branding, shows it only for a dedicated delivery, and narrows its menus', async () => {
    const bad = await api(ADMIN, admin, 'PUT', '/api/tenants/globex/branding', {
      branding: {
        displayName: '',
        logo: 'javascript:alert(1)',
        colors: { primary: 'red' },
        menus: ['nowhere'],
      },
    });
    expectProblem(bad, 422);
    expect(bad.body.errors.map((error: { path: string }) => error.path).sort()).toEqual([
      'colors.primary',
      'displayName',
      'logo',
      'menus',
    ]);
    const set = await api(ADMIN, admin, 'PUT', '/api/tenants/globex/branding', {
      branding: { displayName: 'Globex Portal', colors: { primary: '#112233' }, menus: ['skills'] },
    });
    expect(set.status, set.text).toBe(200);
    // Shared: the branding is kept, not shown.
    expect((await api(GLOBEX, undefined, 'GET', '/api/branding')).body).toEqual({ deliveryMode: 'shared' });
    await api(ADMIN, admin, 'PATCH', '/api/tenants/globex', { deliveryMode: 'dedicated' });
    const shown = await api(GLOBEX, undefined, 'GET', '/api/branding');
    expect(shown.body).toMatchObject({
      deliveryMode: 'dedicated',
      branding: { displayName: 'Globex Portal' },
    });
    const gina = await platform.login(GLOBEX, 'gina');
    const me = await api(GLOBEX, gina, 'GET', '/api/me');
    expect(me.body.menus.map((menu: { id: string }) => menu.id)).toEqual(['home', 'skills']);
    expect(me.body.appearance.branding.menus).toEqual(['skills']);
    // Tenants cannot set it; acme stays standard.
    expectProblem(
      await api(ACME, alice, 'PUT', '/api/tenants/acme/branding', { branding: null }),
      [403, 404],
    );
    expect((await api(ACME, undefined, 'GET', '/api/branding')).body).toEqual({ deliveryMode: 'shared' });
    await api(ADMIN, admin, 'PATCH', '/api/tenants/globex', { deliveryMode: 'shared' });
  });
});
