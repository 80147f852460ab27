/**
 * Tenant isolation as an attacker would try it, against the embedded platform over real HTTP.
 *
 * Every route of both APIs is taken from the route tables themselves (a route added later is
 * attacked without editing this file) and sent, with the victim's real object ids in its path and a
 * body of the right shape, under each attack: the other tenant's session or access token, the
 * public super-admin's token, tokens re-addressed, re-signed, unsigned, signed with another secret,
 * expired, guessed access tokens, no credentials, a client-sent x-execfabric-host, an unbound host.
 * All must be refused with problem+json, and no answer may carry the other tenant's data. Then
 * each tenant's admin asks for the other tenant's object ids on its own host, and both tenants'
 * objects are checked to be untouched.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Auth } from '../../functions/core/identity/auth.ts';
import { TENANT_PERMISSIONS } from '../../functions/core/identity/permissions.ts';
import { domainPk, publicPk } from '../../functions/core/keys.ts';
import type { DomainContext } from '../../functions/core/tenancy/domain.ts';
import { freeRoutes } from '../../functions/free-api/routes.ts';
import { loadRoutes } from '../../functions/http/router.ts';
import type { TestResponse } from '../support/http.ts';
import {
  type ApiRoute,
  collectionOf,
  enumerateRoutes,
  fillPath,
  HOSTS,
  leakedMarkers,
  pathParams,
  sampleBody,
  startTestPlatform,
} from '../support/platform.ts';

const PASSWORD = 'isolation-suite-password-1';
const t = await startTestPlatform(PASSWORD);
const routes = await enumerateRoutes(t.core);
const freeTable = await loadRoutes(freeRoutes(async () => t.core.free));
afterAll(async () => {
  await t.stop();
});

type TenantKey = 'acme' | 'globex';

/** One side of the attack: a domain, its credentials, its objects and what only it may see. */
interface Side {
  readonly host: string;
  readonly domain: DomainContext;
  readonly admin: string;
  session: string;
  pat: string;
  patId: string;
  /** An AI (MCP) client token of this domain, where the API has them. */
  mcp: string;
  /** Session whose signature was made with another secret (its session item is real). */
  wrongSecret: string;
  /** Session signed with the real secret at a time long past. */
  expired: string;
  /** Object ids by collection (`roles`, `parameters`, `tokens`, `skills`, …). */
  readonly ids: Record<string, string>;
  /** Strings that only this domain's answers may contain. */
  readonly markers: string[];
}

const PAT_SECRET_LENGTH = 43;
const stats = { requests: 0, routesAttacked: 0, attacks: new Set<string>(), idorRoutes: 0, idorRealIds: 0 };
const sides = {} as Record<TenantKey | 'public', Side>;
const other: Record<TenantKey, TenantKey> = { acme: 'globex', globex: 'acme' };

async function send(request: Parameters<typeof t.send>[0]): Promise<TestResponse> {
  stats.requests++;
  return t.send(request);
}

async function created(response: TestResponse, what: string): Promise<Record<string, unknown>> {
  expect([200, 201, 202], `${what}: ${response.text.slice(0, 300)}`).toContain(response.status);
  return response.body;
}

/** Objects of a tenant, created through its own API with its admin's session. */
async function populate(key: TenantKey, side: Side): Promise<void> {
  const tag = key === 'acme' ? 'anvil' : 'zephyr';
  const secretValue = `${tag}-parameter-value-${randomBytes(6).toString('hex')}`;
  const roleDescription = `${tag} auditors of ${randomBytes(4).toString('hex')}`;
  const patName = `${tag}-pipeline-token`;
  const pat = await created(
    await send({
      host: side.host,
      path: '/api/tokens',
      method: 'POST',
      token: side.session,
      body: { name: patName, scopes: [...TENANT_PERMISSIONS] },
    }),
    `${key} token`,
  );
  side.pat = String(pat.token);
  side.patId = String(pat.id);
  side.ids.tokens = side.patId;
  const roleName = `${tag}-auditors`;
  await created(
    await send({
      host: side.host,
      path: '/api/roles',
      method: 'POST',
      token: side.session,
      body: { name: roleName, permissions: ['audit:read'], description: roleDescription },
    }),
    `${key} role`,
  );
  side.ids.roles = roleName;
  const parameterKey = `${tag}Endpoint`;
  await created(
    await send({
      host: side.host,
      path: '/api/parameters',
      method: 'POST',
      token: side.session,
      body: { key: parameterKey, value: secretValue, description: `${tag} only` },
    }),
    `${key} parameter`,
  );
  side.ids.parameters = parameterKey;
  side.ids.users = side.admin;
  side.markers.push(
    secretValue,
    roleDescription,
    patName,
    side.pat.split('_').slice(2).join('_'),
    side.session,
  );

  // Catalogue objects, when the API has them (issue 4): a script, a Skill on it, one run.
  const has = (name: string) => routes.tenant.some((route) => route.name === name);
  if (has('POST /api/assets/scripts')) {
    const script = await send({
      host: side.host,
      path: '/api/assets/scripts',
      method: 'POST',
      token: side.session,
      body: { name: `${tag} script`, source: 'def main(inputs, ctx):\n    return {"ok": True}\n' },
    });
    if (script.status === 201) {
      side.ids.scripts = String(script.body.id);
      side.ids.versions = '1';
      side.markers.push(`${tag} script`);
    }
  }
  if (side.ids.scripts !== undefined && has('POST /api/skills')) {
    const skill = await send({
      host: side.host,
      path: '/api/skills',
      method: 'POST',
      token: side.session,
      body: {
        name: `${tag} skill`,
        description: `${tag} skill description`,
        inputSchema: { type: 'object' },
        outputSchema: { type: 'object' },
        risk: 'low',
        asset: { kind: 'python-script', id: side.ids.scripts, version: 'active' },
        limits: { timeoutSeconds: 10 },
      },
    });
    if (skill.status === 201) {
      side.ids.skills = String(skill.body.id);
      side.markers.push(`${tag} skill`);
    }
  }
  if (has('POST /api/mcp-clients')) {
    const client = await created(
      await send({
        host: side.host,
        path: '/api/mcp-clients',
        method: 'POST',
        token: side.session,
        body: { name: `${tag} agent`, tags: [tag] },
      }),
      `${key} AI client`,
    );
    side.mcp = String(client.token);
    side.ids['mcp-clients'] = String(client.id);
    // efm_<16 hex>_<secret>; the secret is base64url, so it may hold underscores itself.
    side.markers.push(`${tag} agent`, side.mcp.slice(21));
  }
  if (side.ids.skills !== undefined && has('POST /api/skills/{id}/executions')) {
    const run = await send({
      host: side.host,
      path: `/api/skills/${side.ids.skills}/executions`,
      method: 'POST',
      token: side.session,
      body: { input: { marker: `${tag}-run-input` } },
    });
    if (run.status === 202 || run.status === 201) {
      side.ids.executions = String(run.body.id);
      side.markers.push(`${tag}-run-input`);
    }
  }
}

async function forgedSessions(side: Side): Promise<void> {
  const auth = (tokenSecret: string, now?: () => Date) =>
    new Auth({
      table: t.core.table,
      directory: t.core.directory,
      audit: t.core.audit,
      tokenSecret,
      ...(now === undefined ? {} : { now }),
    });
  const past = new Date(Date.now() - 9 * 3600 * 1000);
  side.wrongSecret = (
    await auth(randomBytes(32).toString('base64url')).login(side.domain, side.admin, PASSWORD)
  ).token;
  side.expired = (await auth(t.tokenSecret, () => past).login(side.domain, side.admin, PASSWORD)).token;
}

beforeAll(async () => {
  const make = async (host: string, admin: string, markers: string[]): Promise<Side> => ({
    host,
    domain: await t.core.hosts.resolve(host),
    admin,
    session: await t.login(host, admin),
    pat: '',
    patId: '',
    mcp: '',
    wrongSecret: '',
    expired: '',
    ids: {},
    markers,
  });
  sides.acme = await make(HOSTS.acme, 'alice', ['alice', 'Acme Corporation', 'acme.localhost']);
  sides.globex = await make(HOSTS.globex, 'gina', ['gina', 'Globex', 'globex']);
  sides.public = await make(HOSTS.admin, 'admin', []);
  await Promise.all([populate('acme', sides.acme), populate('globex', sides.globex)]);
  const created = await send({
    host: HOSTS.admin,
    path: '/api/tokens',
    method: 'POST',
    token: sides.public.session,
    body: { name: 'platform-ops', scopes: ['audit:read', 'user:manage', 'token:create'] },
  });
  sides.public.pat = String(created.body.token);
  sides.public.patId = String(created.body.id);
  sides.public.ids.tokens = sides.public.patId;
  for (const side of Object.values(sides)) await forgedSessions(side);
});

afterAll(() => {
  console.log(
    `isolation: ${stats.routesAttacked} route×host pairs, ${stats.attacks.size} distinct attacks, ` +
      `${stats.requests} requests; id attacks on ${stats.idorRoutes} routes (${stats.idorRealIds} with real foreign ids)`,
  );
});

// ————— forging, as a holder of one valid token could —————

function decodePart(part: string): Record<string, unknown> {
  return JSON.parse(Buffer.from(part, 'base64url').toString('utf8'));
}

function encodePart(value: unknown): string {
  return Buffer.from(JSON.stringify(value), 'utf8').toString('base64url');
}

/** The same token with claims changed and the original signature kept. */
function withClaims(token: string, change: Record<string, unknown>): string {
  const [prefix = '', payload = '', signature = ''] = token.split('.');
  return `${prefix}.${encodePart({ ...decodePart(payload), ...change })}.${signature}`;
}

function flipSignature(token: string): string {
  const cut = token.lastIndexOf('.') + 10;
  const char = token[cut] === 'A' ? 'B' : 'A';
  return `${token.slice(0, cut)}${char}${token.slice(cut + 1)}`;
}

function unsigned(token: string): string[] {
  const [prefix = '', payload = ''] = token.split('.');
  const none = encodePart({ alg: 'none', typ: 'JWT' });
  return [`${prefix}.${payload}.`, `${prefix}.${payload}`, `${none}.${payload}.`, `none.${payload}.x`];
}

function randomSecret(): string {
  return randomBytes(32).toString('base64url').slice(0, PAT_SECRET_LENGTH);
}

// ————— the attacks —————

interface Attempt {
  readonly attack: string;
  readonly host: string;
  readonly token?: string;
  readonly headers?: Record<string, string>;
  /** Expected status: 401 for a credential refused, 404 for an unbound host. */
  readonly status: number;
}

/** Attacks on a tenant host, with `victim` the tenant served there and `foreign` the other one. */
function tenantAttempts(victim: Side, foreign: Side): Attempt[] {
  const host = victim.host;
  const attempts: Attempt[] = [
    { attack: 'session of the other tenant', host, token: foreign.session, status: 401 },
    { attack: 'access token of the other tenant', host, token: foreign.pat, status: 401 },
    { attack: 'super-admin session of the public host', host, token: sides.public.session, status: 401 },
    { attack: 'super-admin access token', host, token: sides.public.pat, status: 401 },
    {
      attack: 'other tenant session re-addressed to this host',
      host,
      token: withClaims(foreign.session, { dom: domainPk(victim.domain), host }),
      status: 401,
    },
    {
      attack: 'own session re-addressed to the other user',
      host,
      token: withClaims(victim.session, { sub: foreign.admin }),
      status: 401,
    },
    {
      attack: 'own session with its expiry pushed out',
      host,
      token: withClaims(victim.expired, { exp: Math.floor(Date.now() / 1000) + 3600 }),
      status: 401,
    },
    {
      attack: 'own session with a signature character changed',
      host,
      token: flipSignature(victim.session),
      status: 401,
    },
    ...unsigned(victim.session).map((token, index) => ({
      attack: `unsigned session (alg none style #${index + 1})`,
      host,
      token,
      status: 401,
    })),
    { attack: 'session signed with another secret', host, token: victim.wrongSecret, status: 401 },
    { attack: 'expired session', host, token: victim.expired, status: 401 },
    {
      attack: 'access token with a real id and a guessed secret',
      host,
      token: `efp_${victim.patId}_${randomSecret()}`,
      status: 401,
    },
    {
      attack: 'access token with a guessed id',
      host,
      token: `efp_${randomBytes(8).toString('hex')}_${randomSecret()}`,
      status: 401,
    },
    {
      attack: 'other tenant access token with this tenant’s id',
      host,
      token: `efp_${victim.patId}_${foreign.pat.split('_').slice(2).join('_')}`,
      status: 401,
    },
    ...(foreign.mcp === ''
      ? []
      : [
          { attack: 'AI client token of the other tenant', host, token: foreign.mcp, status: 401 },
          {
            attack: 'AI client token with this tenant’s id and the other tenant’s secret',
            host,
            token: `${victim.mcp.slice(0, 21)}${foreign.mcp.slice(21)}`,
            status: 401,
          },
        ]),
    { attack: 'no credentials', host, status: 401 },
    {
      attack: 'password as Basic credentials',
      host,
      headers: { authorization: `Basic ${Buffer.from(`${victim.admin}:${PASSWORD}`).toString('base64')}` },
      status: 401,
    },
    {
      attack: 'client x-execfabric-host naming the other tenant, with its session',
      host,
      token: foreign.session,
      headers: { 'x-execfabric-host': foreign.host },
      status: 401,
    },
    {
      attack: 'client X-ExecFabric-Host (mixed case) naming the other tenant, with its access token',
      host,
      token: foreign.pat,
      headers: { 'X-ExecFabric-Host': foreign.host, 'X-EXECFABRIC-ORIGIN': 'guess' },
      status: 401,
    },
    {
      attack: 'unbound host with x-execfabric-host naming this tenant, with its session',
      host: 'initech.localhost',
      token: victim.session,
      headers: { 'x-execfabric-host': victim.host },
      status: 404,
    },
  ];
  return attempts;
}

/** Attacks on a public host (the governance console, the free entry). */
function publicAttempts(host: string): Attempt[] {
  const admin = sides.public;
  const attempts: Attempt[] = [];
  for (const key of ['acme', 'globex'] as const) {
    const tenant = sides[key];
    attempts.push(
      { attack: `${key} admin session`, host, token: tenant.session, status: 401 },
      { attack: `${key} admin access token`, host, token: tenant.pat, status: 401 },
      ...(tenant.mcp === ''
        ? []
        : [{ attack: `${key} AI client token`, host, token: tenant.mcp, status: 401 }]),
      {
        attack: `${key} session re-addressed to the public domain`,
        host,
        token: withClaims(tenant.session, { dom: publicPk, host, sub: admin.admin }),
        status: 401,
      },
      {
        attack: `client x-execfabric-host naming ${key}, with its session`,
        host,
        token: tenant.session,
        headers: { 'x-execfabric-host': tenant.host },
        status: 401,
      },
    );
  }
  if (host !== admin.host) {
    attempts.push(
      { attack: 'super-admin session of another public host', host, token: admin.session, status: 401 },
      { attack: 'super-admin access token of another public host', host, token: admin.pat, status: 401 },
      {
        attack: 'client x-execfabric-host naming the admin host, with its session',
        host,
        token: admin.session,
        headers: { 'x-execfabric-host': admin.host },
        status: 401,
      },
    );
  } else {
    attempts.push(
      {
        attack: 'super-admin session with a signature character changed',
        host,
        token: flipSignature(admin.session),
        status: 401,
      },
      ...unsigned(admin.session).map((token, index) => ({
        attack: `unsigned super-admin session (#${index + 1})`,
        host,
        token,
        status: 401,
      })),
      {
        attack: 'super-admin session signed with another secret',
        host,
        token: admin.wrongSecret,
        status: 401,
      },
      { attack: 'expired super-admin session', host, token: admin.expired, status: 401 },
      {
        attack: 'super-admin expired session with its expiry pushed out',
        host,
        token: withClaims(admin.expired, { exp: Math.floor(Date.now() / 1000) + 3600 }),
        status: 401,
      },
      {
        attack: 'super-admin access token with a guessed secret',
        host,
        token: `efp_${admin.patId}_${randomSecret()}`,
        status: 401,
      },
    );
  }
  attempts.push(
    { attack: 'no credentials', host, status: 401 },
    {
      attack: 'unbound host with x-execfabric-host naming this host',
      host: 'initech.localhost',
      token: admin.session,
      headers: { 'x-execfabric-host': host },
      status: 404,
    },
  );
  return attempts;
}

/** What is wrong with an answer, or null: problem+json of the expected status, nothing foreign. */
function judge(response: TestResponse, expected: number | null, forbidden: readonly string[], sent: string) {
  const leaks = leakedMarkers(
    response.text,
    forbidden.filter((marker) => !sent.includes(marker)),
  );
  if (leaks.length > 0)
    return `leaked ${leaks.join(', ')} in ${response.status} ${response.text.slice(0, 200)}`;
  if (response.status >= 500) return `server error ${response.status} ${response.text.slice(0, 200)}`;
  if (expected !== null && response.status !== expected) {
    return `expected ${expected}, got ${response.status} ${response.text.slice(0, 200)}`;
  }
  if (response.status >= 400) {
    const type = String(response.body?.type ?? '');
    if (
      response.headers['content-type'] !== 'application/problem+json' ||
      !type.startsWith('urn:execfabric:problem:')
    ) {
      return `not problem+json: ${response.status} ${response.headers['content-type']} ${response.text.slice(0, 200)}`;
    }
    if (response.body.status !== response.status)
      return `problem status ${response.body.status} ≠ ${response.status}`;
  }
  return null;
}

function requestFor(route: ApiRoute, path: string, attempt: Attempt) {
  const body = sampleBody(route.route);
  return {
    host: attempt.host,
    path,
    method: route.route.method,
    ...(attempt.token === undefined ? {} : { token: attempt.token }),
    ...(attempt.headers === undefined ? {} : { headers: attempt.headers }),
    ...(body === undefined ? {} : { body }),
  };
}

async function attackRoute(route: ApiRoute, path: string, attempts: Attempt[], forbidden: readonly string[]) {
  stats.routesAttacked++;
  const failures: string[] = [];
  for (const attempt of attempts) {
    stats.attacks.add(attempt.attack);
    const request = requestFor(route, path, attempt);
    const response = await send(request);
    // An anonymous route ignores credentials: it must answer as it would anyone, with nothing foreign.
    const expected = route.route.auth === 'anonymous' && attempt.status === 401 ? null : attempt.status;
    const problem = judge(response, expected, forbidden, JSON.stringify(request));
    if (problem !== null) failures.push(`${attempt.attack}: ${problem}`);
  }
  return failures;
}

/** The victim's own ids in the path, so that a bypass would reach real objects. */
function ownPath(route: ApiRoute, side: Side): string {
  return fillPath(route.route.path, (param) => side.ids[collectionOf(route.route.path, param)] ?? 'acme');
}

describe.each(['acme', 'globex'] as const)('tenant API on %s.localhost', (key) => {
  it('has routes to attack', () => {
    expect(routes.tenant.length).toBeGreaterThan(10);
  });

  it.each(routes.tenant.map((route) => [route.name, route] as const))(
    '%s refuses every attack',
    async (_, route) => {
      const victim = sides[key];
      const foreign = sides[other[key]];
      const failures = await attackRoute(
        route,
        ownPath(route, victim),
        tenantAttempts(victim, foreign),
        foreign.markers,
      );
      expect(failures).toEqual([]);
    },
  );
});

describe.each([HOSTS.admin, HOSTS.free])('governance API on %s', (host) => {
  it('has routes to attack', () => {
    expect(routes.governance.length).toBeGreaterThan(10);
  });

  it.each(routes.governance.map((route) => [route.name, route] as const))(
    '%s refuses every tenant or forged credential',
    async (_, route) => {
      const path = fillPath(route.route.path, (param) =>
        collectionOf(route.route.path, param) === 'tokens' ? sides.public.patId : 'acme',
      );
      const forbidden = [...sides.acme.markers, ...sides.globex.markers].filter(
        (marker) => !['acme.localhost', 'globex', 'Globex', 'Acme Corporation'].includes(marker),
      );
      // The free entry is its own function (free-api), which has none of these routes: every
      // attempt there, whatever the credential, meets 404 and learns nothing.
      // The free entry's own route of the same method and path (an anonymous one, such as the
      // templates it offers) answers there instead: anyone alike, with nothing foreign.
      const served = freeTable.find(
        (free) => free.method === route.route.method && free.path === route.route.path,
      );
      const target = host === HOSTS.free && served !== undefined ? { ...route, route: served } : route;
      const attempts = publicAttempts(host).map((attempt) =>
        host === HOSTS.free && served === undefined ? { ...attempt, status: 404 } : attempt,
      );
      const failures = await attackRoute(target, path, attempts, forbidden);
      expect(failures).toEqual([]);
    },
  );
});

describe.each(['acme', 'globex'] as const)(
  'a client-sent x-execfabric-host with a valid %s session',
  (key) => {
    const reads = routes.tenant.filter(
      (route) => route.route.method === 'GET' && route.route.auth === 'caller',
    );

    it.each(reads.map((route) => [route.name, route] as const))(
      '%s answers for the real host only',
      async (_, route) => {
        const victim = sides[key];
        const foreign = sides[other[key]];
        const path = ownPath(route, victim);
        const plain = await send({ host: victim.host, path, token: victim.session });
        const failures: string[] = [];
        const forgedHeaders: Record<string, string>[] = [
          { 'x-execfabric-host': foreign.host },
          { 'X-ExecFabric-Host': foreign.host },
          { 'x-execfabric-host': HOSTS.admin, 'x-execfabric-origin': 'forged' },
        ];
        for (const headers of forgedHeaders) {
          const answer = await send({ host: victim.host, path, token: victim.session, headers });
          const problem = judge(answer, plain.status, foreign.markers, JSON.stringify(headers));
          if (problem !== null) failures.push(`${JSON.stringify(headers)}: ${problem}`);
        }
        expect(failures).toEqual([]);
      },
    );
  },
);

/** Reads and removals first, so a write that creates an own object of the same name comes after. */
const METHOD_ORDER: Readonly<Record<string, number>> = { GET: 0, PATCH: 1, DELETE: 2, POST: 3, PUT: 4 };

describe.each(['acme', 'globex'] as const)(
  "the other tenant's object ids asked for on %s.localhost",
  (key) => {
    const withIds = routes.tenant
      .filter((route) => pathParams(route.route.path).length > 0)
      .sort((a, b) => (METHOD_ORDER[a.route.method] ?? 9) - (METHOD_ORDER[b.route.method] ?? 9));

    it.each(withIds.map((route) => [route.name, route] as const))(
      '%s finds nothing of theirs',
      async (_, route) => {
        stats.idorRoutes++;
        const victim = sides[key];
        const foreign = sides[other[key]];
        let real = true;
        const path = fillPath(route.route.path, (param) => {
          const id = foreign.ids[collectionOf(route.route.path, param)];
          if (id === undefined) real = false;
          return id ?? randomBytes(8).toString('hex');
        });
        if (real) stats.idorRealIds++;
        const body = sampleBody(route.route);
        const request = {
          host: victim.host,
          path,
          method: route.route.method,
          token: victim.session,
          ...(body === undefined ? {} : { body }),
        };
        const answer = await send(request);
        // Reading, changing or removing one named object of the other tenant must find nothing.
        const last = route.route.path.split('/').at(-1) ?? '';
        const names = last.startsWith('{') && route.route.method !== 'PUT' && route.route.method !== 'POST';
        const problem = judge(answer, names ? 404 : null, foreign.markers, JSON.stringify(request));
        expect(problem, `${route.name} as ${path}`).toBeNull();
      },
    );
  },
);

describe('afterwards', () => {
  it("left both tenants' credentials and objects as they were", async () => {
    for (const key of ['acme', 'globex'] as const) {
      const side = sides[key];
      const viaPat = await send({ host: side.host, path: '/api/me', token: side.pat });
      expect(viaPat.body).toMatchObject({ username: side.admin, via: 'personal-access-token' });
      const mine = await send({ host: side.host, path: '/api/me', token: side.session });
      expect(mine.body).toMatchObject({ username: side.admin, roles: ['admin'] });
      const roles = await send({ host: side.host, path: '/api/roles', token: side.session });
      const role = roles.body.items.find((item: { name: string }) => item.name === side.ids.roles);
      expect(role).toMatchObject({ permissions: ['audit:read'] });
      expect(side.markers).toContain(role.description);
      const parameters = await send({ host: side.host, path: '/api/parameters', token: side.session });
      const parameter = parameters.body.items.find(
        (item: { key: string }) => item.key === side.ids.parameters,
      );
      expect(side.markers).toContain(parameter.value);
      const users = await send({ host: side.host, path: '/api/users', token: side.session });
      const admin = users.body.items.find((item: { username: string }) => item.username === side.admin);
      expect(admin).toMatchObject({ roles: ['admin'], disabled: false });
      if (side.ids.skills !== undefined) {
        const skill = await send({
          host: side.host,
          path: `/api/skills/${side.ids.skills}`,
          token: side.session,
        });
        expect(skill.status).toBe(200);
      }
      if (side.mcp !== '') {
        const tools = await send({
          host: side.host,
          path: '/mcp',
          method: 'POST',
          token: side.mcp,
          headers: { accept: 'application/json, text/event-stream' },
          body: { jsonrpc: '2.0', id: 1, method: 'tools/list', params: {} },
        });
        expect(tools.status, tools.text).toBe(200);
        expect(tools.body.result.tools.map((tool: { name: string }) => tool.name)).toContain('get_run');
      }
    }
    expect((await send({ host: HOSTS.admin, path: '/api/me', token: sides.public.pat })).status).toBe(200);
  });
});
