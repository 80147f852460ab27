/**
 * The free edition as an attacker sees it: sign-up flooding (per address, per email, per handle),
 * forged hosts and forged viewer addresses, cross-site sign-ups, one personal space reaching
 * another's data or sessions, and one-time handoffs used where they were not issued.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addresses, signUp as signUpOn } from '../support/free.ts';
import {
  expectProblem,
  HOSTS,
  problemType,
  startTestPlatform,
  type TestPlatform,
} from '../support/platform.ts';

const PASSWORD = 'demo-password-for-free-attacks';
const SPACE_PASSWORD = 'a long personal passphrase';
const LIMITS = { perAddressPerHour: 3, perEmailPerDay: 2, perHandlePerHour: 4, lookupsPerAddressPerHour: 5 };

let t: TestPlatform;
let mallory: { host: string; token: string; handoff: string; browser: string };
let victim: {
  host: string;
  token: string;
  handoff: string;
  browser: string;
  skillId: string;
  executionId: string;
};

const address = addresses(100);
const signUp = (body: Record<string, unknown>, from: string, headers: Record<string, string> = {}) =>
  signUpOn(t, body, from, headers);

async function space(handle: string) {
  const offers = await t.send({ host: HOSTS.free, path: '/api/free/offers' });
  const signed = await signUp(
    {
      handle,
      email: `${handle}@example.com`,
      password: SPACE_PASSWORD,
      templates: offers.body.items.map((item: { templateId: string }) => item.templateId),
    },
    address(),
  );
  expect(signed.status, signed.text).toBe(201);
  const host = String(signed.body.host);
  return {
    host,
    token: await t.login(host, handle, SPACE_PASSWORD),
    handoff: String(signed.body.handoff.token),
    // The browser that signed up holds the binding cookie (name=value).
    browser: String(signed.headers['set-cookie'] ?? '').split(';')[0] ?? '',
    skillId: String(signed.body.templates[0].skillId),
  };
}

beforeAll(async () => {
  t = await startTestPlatform(PASSWORD, { freeSignupLimits: LIMITS });
  mallory = await space('mallory');
  const v = await space('victim');
  const run = await t.send({
    host: v.host,
    token: v.token,
    method: 'POST',
    path: `/api/skills/${v.skillId}/executions`,
    body: { input: { name: 'secret' } },
  });
  expect(run.status, run.text).toBe(202);
  victim = { ...v, executionId: String(run.body.id) };
}, 120_000);

afterAll(async () => {
  await t?.stop();
});

describe('sign-up flooding', () => {
  it('limits sign-ups per address, counting every attempt, and says when to retry', async () => {
    const from = address();
    const results = await Promise.all(
      Array.from({ length: 8 }, (_, index) =>
        signUp(
          { handle: `flood-${index}`, email: `flood${index}@example.com`, password: SPACE_PASSWORD },
          from,
        ),
      ),
    );
    const created = results.filter((response) => response.status === 201);
    const limited = results.filter((response) => response.status === 429);
    expect(created.length, results.map((response) => response.text).join('\n')).toBe(
      LIMITS.perAddressPerHour,
    );
    expect(limited.length).toBe(8 - LIMITS.perAddressPerHour);
    for (const response of limited) {
      expectProblem(response, 429, 'flood');
      expect(response.body.type).toBe(problemType('rate-limited'));
      expect(Number(response.headers['retry-after'])).toBeGreaterThan(0);
    }
    // Each refused attempt made nothing: no space, no host.
    for (let index = 0; index < 8; index++) {
      const exists = await t.core.tenants.get(`p-flood-${index}`).then(
        () => true,
        () => false,
      );
      expect(exists).toBe(created.some((response) => response.body.handle === `flood-${index}`));
    }
  });

  it('limits sign-ups per email address, whatever its case, from any address', async () => {
    const statuses: number[] = [];
    for (let index = 0; index < 3; index++) {
      const response = await signUp(
        {
          handle: `mail-${index}`,
          email: index === 0 ? 'same@example.com' : 'SAME@Example.com',
          password: SPACE_PASSWORD,
        },
        address(),
      );
      statuses.push(response.status);
    }
    expect(statuses).toEqual([201, 201, 429]);
  });

  it('limits attempts on one handle (squatting races, guessing)', async () => {
    const statuses: number[] = [];
    for (let index = 0; index < 5; index++) {
      const response = await signUp(
        { handle: 'mallory', email: `guess${index}@example.com`, password: SPACE_PASSWORD },
        address(),
      );
      statuses.push(response.status);
    }
    // The first sign-up (in beforeAll) counted too.
    expect(statuses).toEqual([409, 409, 409, 429, 429]);
  });

  it('cannot pick its own address: a forged viewer-address header is replaced at the edge', async () => {
    const from = address();
    const statuses: number[] = [];
    for (let index = 0; index < LIMITS.perAddressPerHour + 1; index++) {
      const response = await signUp(
        { handle: `forged-${index}`, email: `forged${index}@example.com`, password: SPACE_PASSWORD },
        from,
        { 'x-execfabric-viewer-ip': `198.51.100.${index}`, 'x-forwarded-for': `198.51.100.${index}` },
      );
      statuses.push(response.status);
    }
    expect(statuses).toEqual([201, 201, 201, 429]);
  });

  it('limits space look-ups per address (handle enumeration)', async () => {
    const from = address();
    const statuses: number[] = [];
    for (let index = 0; index < LIMITS.lookupsPerAddressPerHour + 1; index++) {
      const response = await t.send({
        host: HOSTS.free,
        path: `/api/free/spaces/guess-${index}`,
        localAddress: from,
      });
      statuses.push(response.status);
    }
    expect(statuses.at(-1)).toBe(429);
    expect(statuses.slice(0, -1).every((status) => status === 422)).toBe(true);
  });
});

describe('cross-site and forged hosts', () => {
  it('refuses a sign-up sent from another site', async () => {
    const response = await signUp(
      { handle: 'csrf-victim', email: 'csrf@example.com', password: SPACE_PASSWORD },
      address(),
      { origin: 'https://evil.example', 'sec-fetch-site': 'cross-site' },
    );
    expectProblem(response, 403, 'cross-site sign-up');
    const form = await t.send({
      host: HOSTS.free,
      method: 'POST',
      path: '/api/free/signups',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: 'handle=formspace&email=f%40example.com&password=a+long+personal+passphrase',
      localAddress: address(),
    });
    expectProblem(form, 415, 'form sign-up');
    expect(await t.core.tenants.get('p-formspace').catch(() => null)).toBeNull();
  });

  it('signs up only on the free entry: not on a tenant host, the console, or a personal host', async () => {
    const body = { handle: 'wronghost', email: 'wrong@example.com', password: SPACE_PASSWORD };
    for (const host of [HOSTS.acme, HOSTS.admin, mallory.host]) {
      const response = await t.send({
        host,
        method: 'POST',
        path: '/api/free/signups',
        body,
        localAddress: address(),
      });
      expectProblem(response, [404, 405], `sign-up on ${host}`);
    }
  });

  it('serves no space on a host nobody signed up for, or one level deeper', async () => {
    for (const host of ['nobody.free.localhost', `x.${mallory.host}`, 'p-mallory.localhost']) {
      const response = await t.send({ host, token: mallory.token, path: '/api/skills' });
      expectProblem(response, [401, 404], host);
    }
  });

  it('binds the tenant to the Host, not to a header the client sends', async () => {
    const response = await t.send({
      host: mallory.host,
      token: mallory.token,
      path: '/api/skills',
      headers: { 'x-execfabric-host': victim.host, 'X-ExecFabric-Host': victim.host },
    });
    expect(response.status, response.text).toBe(200);
    expect(JSON.stringify(response.body)).not.toContain(victim.skillId);
  });

  it('keeps the free domain for personal spaces: no tenant or host of the console takes a name there', async () => {
    const admin = await t.login(HOSTS.admin, 'admin');
    const created = await t.send({
      host: HOSTS.admin,
      token: admin,
      method: 'POST',
      path: '/api/tenants',
      body: {
        id: 'p-victim2',
        name: 'Squatter',
        plan: 'standard',
        hosts: ['victim2.free.localhost'],
        expiresAt: '2030-01-01T00:00:00Z',
      },
    });
    expectProblem(created, 422, 'tenant on the free domain');
    const paths = created.body.errors.map((error: { path: string }) => error.path);
    expect(paths).toContain('id');
    const bound = await t.send({
      host: HOSTS.admin,
      token: admin,
      method: 'POST',
      path: '/api/tenants/acme/hosts',
      body: { host: 'victim.free.localhost' },
    });
    expectProblem(bound, [409, 422], 'host of a personal space bound to acme');
  });
});

describe('one personal space against another', () => {
  it('cannot use its token, session or handoff on another space', async () => {
    const token = await t.send({ host: victim.host, token: mallory.token, path: '/api/skills' });
    expectProblem(token, 401, 'mallory token on victim');
    const login = await t.send({
      host: victim.host,
      method: 'POST',
      path: '/api/auth/login',
      body: { username: 'mallory', password: SPACE_PASSWORD },
    });
    expectProblem(login, 401, 'mallory login on victim');
    // Mallory's own (unused) handoff, replayed on the victim's host, opens nothing there…
    const handoff = await t.send({
      host: victim.host,
      method: 'POST',
      path: '/api/auth/handoff',
      body: { token: mallory.handoff },
      headers: { cookie: mallory.browser },
    });
    expectProblem(handoff, 401, 'mallory handoff on victim');
    // Mallory's link opened in the victim's browser (the victim's binding, or none): it signs the
    // victim into nothing — no login CSRF into a space mallory controls.
    for (const cookie of [victim.browser, '']) {
      const lured = await t.send({
        host: mallory.host,
        method: 'POST',
        path: '/api/auth/handoff',
        body: { token: mallory.handoff },
        ...(cookie === '' ? {} : { headers: { cookie } }),
      });
      expectProblem(
        lured,
        401,
        `mallory's link in another browser (${cookie === '' ? 'no binding' : 'victim binding'})`,
      );
    }
    // …and none of it spends the handoff: it still works on mallory's own host, in mallory's browser, once.
    const own = await t.send({
      host: mallory.host,
      method: 'POST',
      path: '/api/auth/handoff',
      body: { token: mallory.handoff },
      headers: { cookie: mallory.browser },
    });
    expect(own.status, own.text).toBe(200);
    const forged = await t.send({
      host: victim.host,
      method: 'POST',
      path: '/api/auth/handoff',
      body: { token: victim.handoff.replace(/.$/, (last) => (last === 'A' ? 'B' : 'A')) },
      headers: { cookie: victim.browser },
    });
    expectProblem(forged, 401, 'forged handoff');
    // The victim's real handoff still works (a wrong secret does not burn it).
    const real = await t.send({
      host: victim.host,
      method: 'POST',
      path: '/api/auth/handoff',
      body: { token: victim.handoff },
      headers: { cookie: victim.browser },
    });
    expect(real.status, real.text).toBe(200);
  });

  it('cannot read another space’s runs, Skills or usage by id', async () => {
    for (const path of [
      `/api/executions/${victim.executionId}`,
      `/api/executions/${victim.executionId}/logs`,
      `/api/skills/${victim.skillId}`,
    ]) {
      const response = await t.send({ host: mallory.host, token: mallory.token, path });
      expectProblem(response, 404, path);
    }
    const run = await t.send({
      host: mallory.host,
      token: mallory.token,
      method: 'POST',
      path: `/api/skills/${victim.skillId}/executions`,
      body: { input: { name: 'x' } },
    });
    expectProblem(run, 404, 'run victim skill');
    const usage = await t.send({ host: mallory.host, token: mallory.token, path: '/api/usage' });
    expect(usage.body.runsToday.used).toBe(0);
  });

  it('cannot reach the console’s leads, even as its space’s admin', async () => {
    for (const host of [mallory.host, HOSTS.free]) {
      const response = await t.send({ host, token: mallory.token, path: '/api/free/leads' });
      expectProblem(response, [401, 404], `leads on ${host}`);
    }
    const console = await t.send({ host: HOSTS.admin, token: mallory.token, path: '/api/free/leads' });
    expectProblem(console, 401, 'mallory token on the console');
  });
});
