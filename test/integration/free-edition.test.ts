/**
 * The free personal edition end to end, over real HTTP through the local edge router: sign-up on
 * the free entry, the personal space on its own host with its templates pre-installed, the plan's
 * quotas (the daily run quota under 20 concurrent requests), the lead in the console (list, filter,
 * export, disable), and the conversion into a standard tenant through a paid order.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MAX_SIGNUP_TEMPLATES } from '../../functions/core/free/signups.ts';
import { tenantDomain } from '../../functions/core/governance/acting.ts';
import { MAX_PASSWORD_LENGTH } from '../../functions/core/identity/passwords.ts';
import type { TenantContext } from '../../functions/core/tenancy/domain.ts';
import { addresses, signUp as signUpOn } from '../support/free.ts';
import type { TestResponse } from '../support/http.ts';
import {
  expectProblem,
  HOSTS,
  problemType,
  startTestPlatform,
  type TestPlatform,
} from '../support/platform.ts';
import { waitForRun } from '../support/session.ts';

const PASSWORD = 'demo-password-for-free-edition';
const SPACE_PASSWORD = 'a long personal passphrase';

let t: TestPlatform;
let adminToken: string;

beforeAll(async () => {
  t = await startTestPlatform(PASSWORD);
  adminToken = await t.login(HOSTS.admin, 'admin');
}, 120_000);

afterAll(async () => {
  await t?.stop();
});

const address = addresses(10);
const signUp = (body: Record<string, unknown>, from: string, headers: Record<string, string> = {}) =>
  signUpOn(t, body, from, headers);

async function offeredTemplates(): Promise<{ templateId: string; name: string }[]> {
  const offers = await t.send({ host: HOSTS.free, path: '/api/free/offers' });
  expect(offers.status, offers.text).toBe(200);
  return offers.body.items;
}

function waitFor(host: string, token: string, executionId: string): Promise<TestResponse['body']> {
  return waitForRun({ url: t.platform.url, host, token }, executionId);
}

async function spaceContext(tenantId: string): Promise<TenantContext> {
  return tenantDomain(await t.core.tenants.get(tenantId));
}

describe('the free entry', () => {
  it('offers the starter templates and says what the free plan allows', async () => {
    const offers = await t.send({ host: HOSTS.free, path: '/api/free/offers' });
    expect(offers.status, offers.text).toBe(200);
    expect(offers.body.items.map((item: { name: string }) => item.name)).toEqual(['Greeting', 'Word count']);
    expect(offers.body.plan).toMatchObject({ name: 'free', runsPerDay: 100, httpAssets: false });
  });

  it('audits the seeded starter templates as the system’s own, not as someone’s session', async () => {
    const audit = await t.send({
      host: HOSTS.admin,
      path: '/api/audit?action=template.created&limit=100',
      token: adminToken,
    });
    expect(audit.status, audit.text).toBe(200);
    const seeded = audit.body.items.filter((entry: { details: { name: string } }) =>
      ['Greeting', 'Word count'].includes(entry.details.name),
    );
    expect(seeded).toHaveLength(2);
    for (const entry of seeded) expect(entry.actor).toEqual({ username: 'system', via: 'system' });
  });

  it('refuses bad sign-ups with field errors, and leaves nothing behind', async () => {
    const from = address();
    const cases: [Record<string, unknown>, string][] = [
      [{ handle: 'ab', email: 'a@example.com', password: SPACE_PASSWORD }, 'handle'],
      [{ handle: 'bad.handle', email: 'a@example.com', password: SPACE_PASSWORD }, 'handle'],
      [{ handle: 'xn--80ak6aa92e', email: 'a@example.com', password: SPACE_PASSWORD }, 'handle'],
      [{ handle: 'admin', email: 'a@example.com', password: SPACE_PASSWORD }, 'handle'],
      [{ handle: 'okname', email: 'not-an-email', password: SPACE_PASSWORD }, 'email'],
      [{ handle: 'okname', email: 'a@example.com', password: 'short' }, 'password'],
      [{ handle: 'okname', email: 'a@example.com', password: 'okname-is-my-password' }, 'password'],
      [
        { handle: 'okname', email: 'a@example.com', password: SPACE_PASSWORD, templates: ['tpl_nope'] },
        'templates',
      ],
      [{ handle: 'okname', email: 'a@example.com', password: SPACE_PASSWORD, extra: 1 }, ''],
      // Each field's own limit, at one past it (the body's schema, routes/free-entry.ts).
      [{ handle: 'okname', email: `${'a'.repeat(243)}@example.com`, password: SPACE_PASSWORD }, 'email'],
      [
        { handle: 'okname', email: 'a@example.com', password: 'p'.repeat(MAX_PASSWORD_LENGTH + 2) },
        'password',
      ],
      [
        { handle: 'okname', email: 'a@example.com', password: SPACE_PASSWORD, name: ` ${'n'.repeat(81)} ` },
        'name',
      ],
      [
        { handle: 'okname', email: 'a@example.com', password: SPACE_PASSWORD, source: 's'.repeat(201) },
        'source',
      ],
      [
        { handle: 'okname', email: 'a@example.com', password: SPACE_PASSWORD, campaign: 'c'.repeat(201) },
        'campaign',
      ],
      [
        { handle: 'okname', email: 'a@example.com', password: SPACE_PASSWORD, referrer: 'r'.repeat(254) },
        'referrer',
      ],
      [
        {
          handle: 'okname',
          email: 'a@example.com',
          password: SPACE_PASSWORD,
          templates: Array.from({ length: MAX_SIGNUP_TEMPLATES + 1 }, (_, index) => `tpl_${index}`),
        },
        'templates',
      ],
      [
        { handle: 'okname', email: 'a@example.com', password: SPACE_PASSWORD, templates: ['t'.repeat(65)] },
        'templates.0',
      ],
    ];
    for (const [body, path] of cases) {
      const response = await signUp(body, from);
      expectProblem(response, [400, 422], JSON.stringify(body));
      if (path !== '') {
        expect(
          response.body.errors.map((error: { path: string }) => error.path),
          response.text,
        ).toContain(path);
      }
    }
    expect(await t.core.tenants.get('p-okname').catch(() => null)).toBeNull();
    const host = await t.send({ host: 'okname.free.localhost', path: '/api/me' });
    expect(host.status).toBe(404);
  });

  it('signs a person up into their own space, runs a template Skill, and shows what is left', async () => {
    const templates = await offeredTemplates();
    const wordCount = templates.find((template) => template.name === 'Word count');
    expect(wordCount).toBeDefined();
    const signed = await signUp(
      {
        handle: 'Alice-1',
        email: 'Alice@Example.com',
        password: SPACE_PASSWORD,
        name: 'Alice',
        templates: [wordCount?.templateId],
        source: 'newsletter',
        campaign: 'winter',
      },
      address(),
    );
    expect(signed.status, signed.text).toBe(201);
    expect(signed.body).toMatchObject({
      tenantId: 'p-alice-1',
      handle: 'alice-1',
      host: 'alice-1.free.localhost',
      username: 'alice-1',
      plan: 'free',
    });
    expect(signed.body.handoff.token).toMatch(/^efh_/);
    const skillId = String(signed.body.templates[0].skillId);
    expect(skillId).toMatch(/^skl-/);

    // The handoff is a session on the space's host, once, in the browser that signed up: the
    // sign-up set its binding cookie on the free domain, for the handoff route only.
    const binding = String(signed.headers['set-cookie'] ?? '');
    expect(binding).toMatch(
      /^efhb=[A-Za-z0-9_-]{43}; Max-Age=120; Domain=free\.localhost; Path=\/api\/auth\/handoff; HttpOnly; SameSite=Strict$/,
    );
    const cookie = binding.split(';')[0] ?? '';
    const host = 'alice-1.free.localhost';
    const handoff = await t.send({
      host,
      method: 'POST',
      path: '/api/auth/handoff',
      body: { token: signed.body.handoff.token },
      headers: { cookie },
    });
    expect(handoff.status, handoff.text).toBe(200);
    expect(handoff.headers['set-cookie']).toMatch(/HttpOnly/);
    const replay = await t.send({
      host,
      method: 'POST',
      path: '/api/auth/handoff',
      body: { token: signed.body.handoff.token },
      headers: { cookie },
    });
    expectProblem(replay, 401, 'handoff replay');

    // The password signs in too, on the space's host only.
    const token = await t.login(host, 'alice-1', SPACE_PASSWORD);
    const elsewhere = await t.send({
      host: HOSTS.acme,
      method: 'POST',
      path: '/api/auth/login',
      body: { username: 'alice-1', password: SPACE_PASSWORD },
    });
    expectProblem(elsewhere, 401, 'alice on acme');

    const started = await t.send({
      host,
      token,
      method: 'POST',
      path: `/api/skills/${skillId}/executions`,
      body: { input: { text: 'one two three' } },
    });
    expect(started.status, started.text).toBe(202);
    const run = await waitFor(host, token, String(started.body.id));
    expect(run.status, JSON.stringify(run)).toBe('succeeded');
    expect(run.output).toEqual({ words: 3, characters: 13 });

    const usage = await t.send({ host, token, path: '/api/usage' });
    expect(usage.status, usage.text).toBe(200);
    expect(usage.body).toMatchObject({
      plan: 'free',
      runsToday: { used: 1, limit: 100, remaining: 99 },
      skills: { used: 1, limit: 10, remaining: 9 },
      allows: { httpAssets: false },
    });
  });

  it('tells who already has a handle, and finds one’s space again', async () => {
    const taken = await signUp(
      { handle: 'alice-1', email: 'someone@example.com', password: SPACE_PASSWORD },
      address(),
    );
    expectProblem(taken, 409, 'taken handle');
    expect(taken.body.type).toBe(problemType('handle-unavailable'));
    const found = await t.send({
      host: HOSTS.free,
      path: '/api/free/spaces/ALICE-1',
      localAddress: address(),
    });
    expect(found.status, found.text).toBe(200);
    expect(found.body).toEqual({ handle: 'alice-1', host: 'alice-1.free.localhost' });
    const missing = await t.send({ host: HOSTS.free, path: '/api/free/spaces/nobody-here' });
    expectProblem(missing, 422, 'unknown handle');
  });

  it('gives one handle to exactly one of many concurrent sign-ups', async () => {
    const attempts = await Promise.all(
      Array.from({ length: 6 }, (_, index) =>
        signUp({ handle: 'racer', email: `racer${index}@example.com`, password: SPACE_PASSWORD }, address()),
      ),
    );
    const statuses = attempts.map((response) => response.status).sort();
    expect(statuses, attempts.map((response) => response.text).join('\n')).toEqual([
      201, 409, 409, 409, 409, 409,
    ]);
    for (const response of attempts.filter((attempt) => attempt.status === 409)) expectProblem(response, 409);
  });
});

describe('the free plan’s quotas', () => {
  it('takes the last runs of the day exactly once under 20 concurrent requests', async () => {
    const from = address();
    const signed = await signUp(
      {
        handle: 'quota-bob',
        email: 'bob@example.com',
        password: SPACE_PASSWORD,
        templates: (await offeredTemplates())
          .filter((item) => item.name === 'Greeting')
          .map((item) => item.templateId),
      },
      from,
    );
    expect(signed.status, signed.text).toBe(201);
    const host = String(signed.body.host);
    const skillId = String(signed.body.templates[0].skillId);
    const token = await t.login(host, 'quota-bob', SPACE_PASSWORD);

    // 90 of the day's 100 runs already taken (as earlier runs would have), 10 left.
    const space = await spaceContext('p-quota-bob');
    for (let index = 0; index < 90; index++) await t.core.quotas.reserveRun(space, `exe_earlier_${index}`);
    const before = await t.send({ host, token, path: '/api/usage' });
    expect(before.body.runsToday).toEqual({ used: 90, limit: 100, remaining: 10 });

    const responses = await Promise.all(
      Array.from({ length: 20 }, (_, index) =>
        t.send({
          host,
          token,
          method: 'POST',
          path: `/api/skills/${skillId}/executions`,
          body: { input: { name: `n${index}` } },
        }),
      ),
    );
    const accepted = responses.filter((response) => response.status === 202);
    const refused = responses.filter((response) => response.status !== 202);
    expect(accepted.length, responses.map((response) => response.text).join('\n')).toBe(10);
    expect(refused.length).toBe(10);
    for (const response of refused) {
      expectProblem(response, 429, 'over the daily quota');
      expect(response.body.type).toBe(problemType('quota-exceeded'));
      expect(response.body).toMatchObject({ quota: 'runsPerDay', limit: 100, remaining: 0 });
      // The sentence reads the reset as a person does; the field keeps the instant.
      expect(response.body.detail).toMatch(/start again at \d{1,2} [A-Z][a-z]{2} \d{4}, 00:00 UTC$/);
      expect(response.body.resetsAt).toMatch(/^\d{4}-\d{2}-\d{2}T00:00:00\.000Z$/);
      expect(Number(response.headers['retry-after'])).toBeGreaterThan(0);
    }
    const after = await t.send({ host, token, path: '/api/usage' });
    expect(after.body.runsToday).toEqual({ used: 100, limit: 100, remaining: 0 });
    const listed = await t.send({ host, token, path: '/api/executions?limit=100' });
    expect(listed.body.items.length).toBe(10);
    // None of the accepted runs is left hanging.
    for (const response of accepted) {
      const run = await waitFor(host, token, String(response.body.id));
      expect(run.status, JSON.stringify(run)).toBe('succeeded');
    }
  }, 180_000);

  it('refuses what the plan does not include with 403 plan-limit', async () => {
    const signed = await signUp(
      { handle: 'limits-carol', email: 'carol@example.com', password: SPACE_PASSWORD },
      address(),
    );
    expect(signed.status, signed.text).toBe(201);
    const host = String(signed.body.host);
    const token = await t.login(host, 'limits-carol', SPACE_PASSWORD);
    const big = await t.send({
      host,
      token,
      method: 'POST',
      path: '/api/assets/scripts',
      body: { name: 'big', source: `def main(inputs, ctx):\n    return {}\n# ${'x'.repeat(40 * 1024)}\n` },
    });
    expectProblem(big, 403, 'script above the free plan');
    expect(big.body.type).toBe(problemType('plan-limit'));

    const script = await t.send({
      host,
      token,
      method: 'POST',
      path: '/api/assets/scripts',
      body: { name: 'small', source: 'def main(inputs, ctx):\n    return {}\n' },
    });
    expect(script.status, script.text).toBe(201);
    const skill = (name: string, asset: Record<string, unknown>) =>
      t.send({
        host,
        token,
        method: 'POST',
        path: '/api/skills',
        body: {
          name,
          inputSchema: { type: 'object' },
          outputSchema: {},
          risk: 'low',
          asset,
          limits: { timeoutSeconds: 10 },
        },
      });
    const scriptAsset = { kind: 'python-script', id: script.body.id, version: 'active' };

    // No HTTP resources on the free plan: refused before anything is looked up.
    const http = await skill('crm', {
      kind: 'http',
      id: 'hr-anything',
      request: { method: 'GET', path: '/customers' },
    });
    expectProblem(http, 403, 'HTTP resource on the free plan');
    expect(http.body.type).toBe(problemType('plan-limit'));
    // …so the space's menus offer no HTTP resources page, and say the plan.
    const me = await t.send({ host, token, path: '/api/me' });
    expect(me.body.domain.tenant.plan).toBe('free');
    const menus = me.body.menus.map((menu: { id: string }) => menu.id);
    expect(menus).toContain('skill-admin');
    expect(menus).not.toContain('http-resources');
    const listed = await t.send({ host, token, path: '/api/menus' });
    expect(listed.body.items.map((menu: { id: string }) => menu.id)).toEqual(menus);

    // Ten Skills kept, however many ask at once.
    const created = await Promise.all(
      Array.from({ length: 14 }, (_, index) => skill(`skill-${index}`, scriptAsset)),
    );
    const kept = created.filter((response) => response.status === 201);
    expect(kept.length, created.map((response) => response.text).join('\n')).toBe(10);
    for (const response of created.filter((answer) => answer.status !== 201)) {
      expectProblem(response, 403, 'eleventh Skill');
      expect(response.body).toMatchObject({ type: problemType('plan-limit'), quota: 'skills', limit: 10 });
    }
    // An archived Skill gives its place back.
    const archived = await t.send({
      host,
      token,
      method: 'PUT',
      path: `/api/skills/${kept[0]?.body.id}/state`,
      body: { state: 'archived' },
    });
    expect(archived.status, archived.text).toBe(200);
    expect((await skill('after-archive', scriptAsset)).status).toBe(201);
    expectProblem(await skill('one-too-many', scriptAsset), 403, 'over again');

    // Three schedules kept; the fourth is refused.
    const schedule = (index: number) =>
      t.send({
        host,
        token,
        method: 'POST',
        path: '/api/schedules',
        body: {
          name: `schedule-${index}`,
          skillId: kept[1]?.body.id,
          input: {},
          timing: { kind: 'rate', every: 15, unit: 'minutes' },
        },
      });
    const schedules = await Promise.all([0, 1, 2, 3, 4].map(schedule));
    expect(
      schedules.filter((response) => response.status === 201).length,
      schedules.map((r) => r.text).join('\n'),
    ).toBe(3);
    for (const response of schedules.filter((answer) => answer.status !== 201)) {
      expectProblem(response, 403, 'fourth schedule');
      expect(response.body.quota).toBe('schedules');
    }
    const usage = await t.send({ host, token, path: '/api/usage' });
    expect(usage.body).toMatchObject({
      skills: { used: 10, limit: 10, remaining: 0 },
      schedules: { used: 3, limit: 3, remaining: 0 },
    });
  }, 120_000);
});

describe('leads in the console', () => {
  it('lists, filters and exports leads; disables and enables a space', async () => {
    const list = await t.send({
      host: HOSTS.admin,
      token: adminToken,
      path: '/api/free/leads?source=newsletter',
    });
    expect(list.status, list.text).toBe(200);
    const alice = list.body.items.find((lead: { handle: string }) => lead.handle === 'alice-1');
    expect(alice).toMatchObject({
      email: 'alice@example.com',
      source: 'newsletter',
      campaign: 'winter',
      status: 'active',
    });
    const direct = await t.send({
      host: HOSTS.admin,
      token: adminToken,
      path: '/api/free/leads?source=direct',
    });
    expect(direct.body.items.some((lead: { handle: string }) => lead.handle === 'alice-1')).toBe(false);
    const searched = await t.send({
      host: HOSTS.admin,
      token: adminToken,
      path: '/api/free/leads?q=alice%40',
    });
    expect(searched.body.items.map((lead: { handle: string }) => lead.handle)).toEqual(['alice-1']);
    const bad = await t.send({
      host: HOSTS.admin,
      token: adminToken,
      path: '/api/free/leads?status=gone&from=x',
    });
    expectProblem(bad, 422, 'bad filter');
    expect(bad.body.errors.map((error: { path: string }) => error.path).sort()).toEqual(['from', 'status']);

    const csv = await t.send({
      host: HOSTS.admin,
      token: adminToken,
      path: '/api/free/leads/export?status=active',
    });
    expect(csv.status, csv.text).toBe(200);
    expect(csv.headers['content-type']).toMatch(/^text\/csv/);
    const [header, ...rows] = csv.text.trim().split('\r\n');
    expect(header).toMatch(/^id,createdAt,handle,email/);
    expect(rows.some((row) => row.includes('alice-1') && row.includes('newsletter'))).toBe(true);

    // A tenant admin, and the free entry, see none of it.
    const acmeToken = await t.login(HOSTS.acme, 'alice');
    const fromTenant = await t.send({ host: HOSTS.acme, token: acmeToken, path: '/api/free/leads' });
    expectProblem(fromTenant, 404, 'leads on a tenant host');
    const fromFree = await t.send({ host: HOSTS.free, path: '/api/free/leads' });
    expectProblem(fromFree, 404, 'leads on the free entry');

    const signed = await signUp(
      {
        handle: 'spammer',
        email: 'spam@example.com',
        password: SPACE_PASSWORD,
        templates: (await offeredTemplates()).map((item) => item.templateId),
      },
      address(),
    );
    expect(signed.status, signed.text).toBe(201);
    const host = String(signed.body.host);
    const token = await t.login(host, 'spammer', SPACE_PASSWORD);
    const skillId = String(signed.body.templates[0].skillId);
    const disabled = await t.send({
      host: HOSTS.admin,
      token: adminToken,
      method: 'POST',
      path: `/api/free/leads/${signed.body.leadId}/disable`,
      body: { reason: 'mass mailing' },
    });
    expect(disabled.status, disabled.text).toBe(200);
    expect(disabled.body).toMatchObject({
      status: 'disabled',
      disabledReason: 'mass mailing',
      disabledBy: 'admin',
    });
    const run = await t.send({
      host,
      token,
      method: 'POST',
      path: `/api/skills/${skillId}/executions`,
      body: { input: { name: 'x' } },
    });
    expectProblem(run, 403, 'run in a disabled space');
    const readable = await t.send({ host, token, path: '/api/skills' });
    expect(readable.status).toBe(200);
    const enabled = await t.send({
      host: HOSTS.admin,
      token: adminToken,
      method: 'POST',
      path: `/api/free/leads/${signed.body.leadId}/enable`,
    });
    expect(enabled.status, enabled.text).toBe(200);
    const again = await t.send({
      host,
      token,
      method: 'POST',
      path: `/api/skills/${skillId}/executions`,
      body: { input: { name: 'x' } },
    });
    expect(again.status, again.text).toBe(202);
    await waitFor(host, token, String(again.body.id));
  }, 120_000);

  it('lets super-admins choose the templates offered to new spaces', async () => {
    const list = await t.send({ host: HOSTS.admin, token: adminToken, path: '/api/free/templates' });
    expect(list.status, list.text).toBe(200);
    const greeting = list.body.items.find((item: { name: string }) => item.name === 'Greeting');
    const withdrawn = await t.send({
      host: HOSTS.admin,
      token: adminToken,
      method: 'DELETE',
      path: `/api/free/templates/${greeting.templateId}`,
    });
    expect(withdrawn.status, withdrawn.text).toBe(204);
    expect((await offeredTemplates()).map((item) => item.name)).toEqual(['Word count']);
    const late = await signUp(
      {
        handle: 'late-greeter',
        email: 'late@example.com',
        password: SPACE_PASSWORD,
        templates: [greeting.templateId],
      },
      address(),
    );
    expectProblem(late, 422, 'withdrawn template');
    const again = await t.send({
      host: HOSTS.admin,
      token: adminToken,
      method: 'PUT',
      path: `/api/free/templates/${greeting.templateId}`,
    });
    expect(again.status, again.text).toBe(200);
    expect((await offeredTemplates()).map((item) => item.name)).toEqual(['Greeting', 'Word count']);
    const unknown = await t.send({
      host: HOSTS.admin,
      token: adminToken,
      method: 'PUT',
      path: '/api/free/templates/tpl-nope',
    });
    expectProblem(unknown, [404, 422], 'unknown template');
  });

  it('converts a space into a standard tenant through a paid order, keeping its data on its new host', async () => {
    const list = await t.send({ host: HOSTS.admin, token: adminToken, path: '/api/free/leads?q=alice-1' });
    const lead = list.body.items[0];
    expect(lead.handle).toBe('alice-1');

    const refused = await t.send({
      host: HOSTS.admin,
      token: adminToken,
      method: 'POST',
      path: `/api/free/leads/${lead.id}/conversion`,
      body: {
        plan: 'free',
        months: 12,
        amount: 120,
        hosts: ['acme.localhost', 'x.free.localhost'],
        admin: { username: 'alice-1', password: 'another long passphrase' },
      },
    });
    expectProblem(refused, 422, 'bad conversion');
    expect(refused.body.errors.map((error: { path: string }) => error.path).sort()).toEqual([
      'admin.username',
      'hosts.0',
      'hosts.1',
      'plan',
    ]);
    // A plain order or plan change cannot turn a personal space into something else.
    const plain = await t.send({
      host: HOSTS.admin,
      token: adminToken,
      method: 'POST',
      path: '/api/orders',
      body: { tenantId: 'p-alice-1', plan: 'standard', months: 1, amount: 10 },
    });
    expectProblem(plain, 409, 'plain order for a personal space');
    const patched = await t.send({
      host: HOSTS.admin,
      token: adminToken,
      method: 'PATCH',
      path: '/api/tenants/p-alice-1',
      body: { plan: 'standard' },
    });
    expectProblem(patched, 422, 'plan patch of a personal space');

    const ordered = await t.send({
      host: HOSTS.admin,
      token: adminToken,
      method: 'POST',
      path: `/api/free/leads/${lead.id}/conversion`,
      body: {
        plan: 'standard',
        months: 12,
        amount: 1200,
        hosts: ['alice-co.localhost'],
        admin: { username: 'owner', password: 'the owner passphrase' },
        name: 'Alice & Co',
      },
    });
    expect(ordered.status, ordered.text).toBe(201);
    expect(JSON.stringify(ordered.body)).not.toContain('passwordHash');
    // Nothing changes until the payment is confirmed.
    expect((await t.core.tenants.get('p-alice-1')).plan).toBe('free');

    const paid = await t.send({
      host: HOSTS.admin,
      token: adminToken,
      method: 'POST',
      path: `/api/orders/${ordered.body.id}/confirm-payment`,
    });
    expect(paid.status, paid.text).toBe(200);
    expect(paid.body.conversion.appliedAt).toBeDefined();
    const replay = await t.send({
      host: HOSTS.admin,
      token: adminToken,
      method: 'POST',
      path: `/api/orders/${ordered.body.id}/confirm-payment`,
    });
    expect(replay.status, replay.text).toBe(200);

    const tenant = await t.core.tenants.get('p-alice-1');
    expect(tenant).toMatchObject({ plan: 'standard', name: 'Alice & Co' });
    expect(tenant.hosts).toEqual(expect.arrayContaining(['alice-1.free.localhost', 'alice-co.localhost']));
    expect(tenant.personal?.convertedAt).toBeDefined();

    const newHost = 'alice-co.localhost';
    const owner = await t.login(newHost, 'owner', 'the owner passphrase');
    const skills = await t.send({ host: newHost, token: owner, path: '/api/skills' });
    expect(skills.body.items.map((skill: { name: string }) => skill.name)).toContain('Word count');
    const scripts = await t.send({ host: newHost, token: owner, path: '/api/assets/scripts' });
    expect(scripts.body.items.length).toBeGreaterThan(0);
    const runs = await t.send({ host: newHost, token: owner, path: '/api/executions' });
    expect(runs.body.items.some((run: { status: string }) => run.status === 'succeeded')).toBe(true);
    const usage = await t.send({ host: newHost, token: owner, path: '/api/usage' });
    expect(usage.body).toMatchObject({
      plan: 'standard',
      runsToday: { limit: null },
      allows: { httpAssets: true },
    });
    const alice = await t.login(newHost, 'alice-1', SPACE_PASSWORD);
    expect(alice).toMatch(/./);
    // The bare local address lists the converted tenant on its own host, never the personal one.
    const directory = await t.send({ host: `localhost:${t.platform.port}`, path: '/api/health' });
    const listed = (directory.body.platformHosts as { host: string }[]).map((entry) => entry.host);
    expect(listed).toContain(newHost);
    expect(listed).not.toContain('alice-1.free.localhost');

    const converted = await t.send({
      host: HOSTS.admin,
      token: adminToken,
      path: `/api/free/leads/${lead.id}`,
    });
    expect(converted.body).toMatchObject({ status: 'converted', orderId: ordered.body.id, plan: 'standard' });
    const twice = await t.send({
      host: HOSTS.admin,
      token: adminToken,
      method: 'POST',
      path: `/api/free/leads/${lead.id}/conversion`,
      body: {
        plan: 'standard',
        months: 1,
        amount: 1,
        hosts: ['alice-two.localhost'],
        admin: { username: 'owner2', password: 'the owner passphrase' },
      },
    });
    expectProblem(twice, 409, 'converted twice');
  }, 120_000);
});
