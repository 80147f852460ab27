/**
 * The API contract: each API's OpenAPI document, as its host serves it at `/api/openapi.json`,
 * validates against the OpenAPI 3.1 schema, lists exactly the routes the API serves, and every
 * operation's real answers match it — status declared, media type declared, body valid against the
 * declared schema. Every operation is called three ways: without a credential, with a malformed body
 * (when it takes one), and as the domain's admin with real object ids and a body of the shape its
 * schema asks for; a walk through the main resources adds the successes the sweep cannot reach.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freeRoutes } from '../../functions/free-api/routes.ts';
import { OPENAPI_PATH } from '../../functions/http/openapi.ts';
import { loadRoutes } from '../../functions/http/router.ts';
import type { TestResponse } from '../support/http.ts';
import { ApiContract, type OpenApiDocument, validateDocument } from '../support/openapi.ts';
import {
  collectionOf,
  enumerateRoutes,
  fillPath,
  HOSTS,
  sampleBody,
  startTestPlatform,
  type TestPlatform,
} from '../support/platform.ts';

const PASSWORD = `contract-${randomBytes(6).toString('hex')}`;

let t: TestPlatform;
const contracts = {} as Record<'tenant' | 'governance' | 'free', ApiContract>;
const sessions = {} as Record<'tenant' | 'governance', string>;
const ids: Record<'tenant' | 'governance', Record<string, string>> = { tenant: {}, governance: {} };

const HOST_OF = { tenant: HOSTS.acme, governance: HOSTS.admin, free: HOSTS.free } as const;

async function documentOf(host: string): Promise<OpenApiDocument> {
  const response = await t.send({ host, path: OPENAPI_PATH });
  expect(response.status, response.text.slice(0, 300)).toBe(200);
  expect(response.headers['content-type']).toMatch(/^application\/json/);
  return response.body as OpenApiDocument;
}

function operationOf(route: { method: string; path: string }) {
  return `${route.method} ${route.path}`;
}

beforeAll(async () => {
  t = await startTestPlatform(PASSWORD);
  for (const api of ['tenant', 'governance', 'free'] as const) {
    const host = HOST_OF[api];
    contracts[api] = new ApiContract(api, await documentOf(host), (request) => t.send({ ...request, host }));
  }
  sessions.tenant = await t.login(HOSTS.acme, 'alice');
  sessions.governance = await t.login(HOSTS.admin, 'admin');
}, 60_000);

afterAll(async () => {
  await t?.stop();
});

describe('the OpenAPI documents', () => {
  it.each(['tenant', 'governance', 'free'] as const)(
    '%s: validates against the OpenAPI 3.1 schema',
    async (api) => {
      const { valid, errors } = await validateDocument(contracts[api].document);
      expect(JSON.stringify(errors).slice(0, 2000), 'schema errors').toBe('[]');
      expect(valid).toBe(true);
      expect(contracts[api].document.openapi).toBe('3.1.0');
    },
  );

  it('a broken document does not validate (the validator is real)', async () => {
    const broken = structuredClone(contracts.free.document) as unknown as Record<string, unknown>;
    broken.info = { version: 1 };
    expect((await validateDocument(broken)).valid).toBe(false);
  });

  it('lists exactly the routes each API serves, and answers its own operation', async () => {
    const tables = await enumerateRoutes(t.core);
    const expected = {
      tenant: tables.tenant.map((entry) => entry.name),
      governance: tables.governance.map((entry) => entry.name),
      free: (await loadRoutes(freeRoutes(async () => t.core.free))).map(operationOf),
    };
    for (const api of ['tenant', 'governance', 'free'] as const) {
      const operations = contracts[api].operations();
      expect(operations.sort(), api).toEqual([...expected[api], `GET ${OPENAPI_PATH}`].sort());
      await contracts[api].call({ path: OPENAPI_PATH });
    }
  });

  it('a tenant host describes tenant routes only; the admin host the public ones', () => {
    const tenantPaths = Object.keys(contracts.tenant.document.paths);
    const publicPaths = Object.keys(contracts.governance.document.paths);
    expect(tenantPaths).toContain('/api/skills');
    expect(tenantPaths).not.toContain('/api/tenants');
    expect(publicPaths).toContain('/api/tenants');
    expect(publicPaths).not.toContain('/api/skills');
  });

  it('its components are the named schemas (their `id`), and every `$ref` names one of them', () => {
    for (const api of ['tenant', 'governance', 'free'] as const) {
      const document = contracts[api].document as unknown as {
        components: { schemas: Record<string, unknown> };
      };
      const names = Object.keys(document.components.schemas);
      // A schema reused without a name is written where it is used, not as `__schema12`.
      expect(
        names.filter((name) => !/^[A-Z][A-Za-z]+$/.test(name)),
        api,
      ).toEqual([]);
      expect(names, api).toContain('Problem');
      const refs = [...JSON.stringify(document).matchAll(/"\$ref":"#\/components\/schemas\/([^"]+)"/g)];
      expect(refs.length, api).toBeGreaterThan(0);
      for (const [, name] of refs) expect(names, `${api} $ref ${name}`).toContain(name);
    }
  });

  it('every operation names its tag, its security and an error answer', () => {
    for (const api of ['tenant', 'governance', 'free'] as const) {
      for (const [path, item] of Object.entries(contracts[api].document.paths)) {
        for (const [method, operation] of Object.entries(item)) {
          const where = `${api} ${method} ${path}`;
          const op = operation as unknown as Record<string, unknown>;
          expect(Array.isArray(op.tags) && op.tags.length === 1, where).toBe(true);
          expect(Array.isArray(op.security), where).toBe(true);
          expect((op.responses as Record<string, unknown>).default, where).toBeDefined();
        }
      }
    }
  });
});

/** Objects created through the tenant API, whose ids fill the sweep's paths. */
async function populateTenant(): Promise<void> {
  const c = contracts.tenant;
  const token = sessions.tenant;
  const own = ids.tenant;
  const script = await c.call({
    path: '/api/assets/scripts',
    method: 'POST',
    token,
    body: { name: 'contract script', source: 'def main(inputs, ctx):\n    return {"ok": True}\n' },
  });
  expect(script.status, script.text).toBe(201);
  own.scripts = String(script.body.id);
  own.versions = '1';
  const skill = await c.call({
    path: '/api/skills',
    method: 'POST',
    token,
    body: {
      name: 'contract skill',
      description: 'Skill of the contract suite',
      inputSchema: { type: 'object' },
      outputSchema: { type: 'object' },
      risk: 'low',
      asset: { kind: 'python-script', id: own.scripts, version: 'active' },
      limits: { timeoutSeconds: 10 },
    },
  });
  expect(skill.status, skill.text).toBe(201);
  own.skills = String(skill.body.id);
  const run = await c.call({
    path: '/api/skills/{id}/executions',
    params: { id: own.skills },
    method: 'POST',
    token,
    body: { input: {} },
  });
  expect([201, 202], run.text).toContain(run.status);
  own.executions = String(run.body.id);
  const role = await c.call({
    path: '/api/roles',
    method: 'POST',
    token,
    body: { name: 'contract-auditors', permissions: ['audit:read'], description: 'contract' },
  });
  expect(role.status, role.text).toBe(201);
  own.roles = 'contract-auditors';
  const parameter = await c.call({
    path: '/api/parameters',
    method: 'POST',
    token,
    body: { key: 'contractKey', value: 'v', description: 'contract' },
  });
  expect(parameter.status, parameter.text).toBe(201);
  own.parameters = 'contractKey';
  own.users = 'bob';
  const client = await c.call({
    path: '/api/mcp-clients',
    method: 'POST',
    token,
    body: { name: 'contract agent', tags: ['contract'] },
  });
  expect(client.status, client.text).toBe(201);
  own['mcp-clients'] = String(client.body.id);
  const pat = await c.call({
    path: '/api/tokens',
    method: 'POST',
    token,
    body: { name: 'contract-token', scopes: ['audit:read'] },
  });
  expect(pat.status, pat.text).toBe(201);
  own.tokens = String(pat.body.id);
}

/** Ids the sweep can read from a listing the API answers (`items[0].id` or `.name`/`.key`). */
async function idsFromListings(api: 'tenant' | 'governance'): Promise<void> {
  const c = contracts[api];
  for (const operation of c.operations()) {
    const [method, path] = operation.split(' ') as [string, string];
    if (method !== 'GET' || path.includes('{')) continue;
    const collection = path.split('/').at(-1) ?? '';
    if (ids[api][collection] !== undefined) continue;
    const response = await c.call({ path, token: sessions[api] });
    const first = response.status === 200 ? response.body?.items?.[0] : undefined;
    const id = first?.id ?? first?.name ?? first?.key ?? first?.host;
    if (typeof id === 'string') ids[api][collection] = id;
  }
}

/** The main resources walked as their users do, so their successes are checked too. */
async function walkTenant(): Promise<void> {
  const c = contracts.tenant;
  const alice = sessions.tenant;
  const own = ids.tenant;
  const ok = async (call: Parameters<ApiContract['call']>[0]) => {
    const response = await c.call(call);
    expect(
      response.status < 300,
      `${call.method ?? 'GET'} ${call.path} → ${response.status} ${response.text.slice(0, 300)}`,
    ).toBe(true);
    return response;
  };
  await ok({ path: '/api/auth/login', method: 'POST', body: { username: 'alice', password: PASSWORD } });
  const bob = await t.login(HOSTS.acme, 'bob');
  // Hot update and rollback.
  await ok({
    path: '/api/assets/scripts/{id}/versions',
    params: { id: own.scripts ?? '' },
    method: 'POST',
    token: alice,
    body: { source: 'def main(inputs, ctx):\n    return {"ok": 2}\n', note: 'two' },
  });
  await ok({
    path: '/api/assets/scripts/{id}/active',
    params: { id: own.scripts ?? '' },
    method: 'PUT',
    token: alice,
    body: { version: 2 },
  });
  await ok({
    path: '/api/assets/scripts/{id}/active',
    params: { id: own.scripts ?? '' },
    method: 'PUT',
    token: alice,
    body: { version: 1 },
  });
  await ok({
    path: '/api/assets/scripts/{id}/state',
    params: { id: own.scripts ?? '' },
    method: 'PUT',
    token: alice,
    body: { state: 'active' },
  });
  const definition = {
    name: 'contract approvals',
    description: 'needs one approval',
    inputSchema: { type: 'object' },
    outputSchema: { type: 'object' },
    risk: 'medium',
    approval: 'one',
    asset: { kind: 'python-script', id: own.scripts, version: 'active' },
    limits: { timeoutSeconds: 10 },
  };
  const skill = await ok({ path: '/api/skills', method: 'POST', token: alice, body: definition });
  const skillId = String(skill.body.id);
  await ok({
    path: '/api/skills/{id}',
    params: { id: skillId },
    method: 'PUT',
    token: alice,
    body: { ...definition, description: 'still one approval' },
  });
  await ok({
    path: '/api/skills/{id}/state',
    params: { id: skillId },
    method: 'PUT',
    token: alice,
    body: { state: 'active' },
  });
  // Approvals: bob asks, alice decides.
  const runs: string[] = [];
  for (let index = 0; index < 3; index++) {
    const run = await ok({
      path: '/api/skills/{id}/executions',
      params: { id: skillId },
      method: 'POST',
      token: bob,
      body: { input: {} },
    });
    runs.push(String(run.body.id));
  }
  await ok({ path: '/api/approvals', token: alice });
  await ok({
    path: '/api/executions/{id}/approve',
    params: { id: runs[0] ?? '' },
    method: 'POST',
    token: alice,
    body: {},
  });
  await ok({
    path: '/api/executions/{id}/reject',
    params: { id: runs[1] ?? '' },
    method: 'POST',
    token: alice,
    body: { comment: 'not now' },
  });
  await ok({
    path: '/api/executions/{id}/cancel',
    params: { id: runs[2] ?? '' },
    method: 'POST',
    token: bob,
    body: { reason: 'wrong input' },
  });
  // Extension data.
  await ok({
    path: '/api/data/collections',
    method: 'POST',
    token: alice,
    body: { name: 'contract', schema: { type: 'object' } },
  });
  await ok({ path: '/api/data/collections/{name}', params: { name: 'contract' }, token: alice });
  await ok({
    path: '/api/data/collections/{name}/records/{key}',
    params: { name: 'contract', key: 'k1' },
    method: 'PUT',
    token: alice,
    body: { value: { a: 1 } },
  });
  await ok({
    path: '/api/data/collections/{name}/records/{key}',
    params: { name: 'contract', key: 'k1' },
    token: alice,
  });
  await ok({ path: '/api/data/collections/{name}/records', params: { name: 'contract' }, token: alice });
  await ok({ path: '/api/data/collections/{name}/export', params: { name: 'contract' }, token: alice });
  await ok({
    path: '/api/data/collections/{name}/records/{key}',
    params: { name: 'contract', key: 'k1' },
    method: 'DELETE',
    token: alice,
  });
  await ok({
    path: '/api/data/collections/{name}',
    params: { name: 'contract' },
    method: 'DELETE',
    token: alice,
  });
  // Schedules.
  const schedule = await ok({
    path: '/api/schedules',
    method: 'POST',
    token: alice,
    body: {
      name: 'contract schedule',
      skillId: own.skills,
      input: {},
      timing: { kind: 'rate', every: 1, unit: 'minutes' },
    },
  });
  const scheduleId = String(schedule.body.id);
  for (const [path, method] of [
    ['/api/schedules/{id}', 'GET'],
    ['/api/schedules/{id}/pause', 'POST'],
    ['/api/schedules/{id}/resume', 'POST'],
    ['/api/schedules/{id}/logs', 'GET'],
    ['/api/schedules/{id}', 'DELETE'],
  ] as const) {
    await ok({
      path,
      params: { id: scheduleId },
      method,
      token: alice,
      ...(method === 'POST' ? { body: {} } : {}),
    });
  }
  // Local agents, AI clients, tokens, roles, parameters, users.
  await ok({ path: '/api/agents', method: 'POST', token: alice, body: { name: 'contract-agent' } });
  await ok({
    path: '/api/agents/{name}/token',
    params: { name: 'contract-agent' },
    method: 'POST',
    token: alice,
    body: {},
  });
  await ok({
    path: '/api/agents/{name}/token',
    params: { name: 'contract-agent' },
    method: 'DELETE',
    token: alice,
  });
  await ok({
    path: '/api/mcp-clients/{id}',
    params: { id: own['mcp-clients'] ?? '' },
    method: 'DELETE',
    token: alice,
  });
  await ok({ path: '/api/tokens/{id}', params: { id: own.tokens ?? '' }, method: 'DELETE', token: alice });
  await ok({
    path: '/api/roles/{name}',
    params: { name: 'contract-auditors' },
    method: 'PUT',
    token: alice,
    body: { permissions: ['audit:read', 'skill:read'], description: 'contract' },
  });
  await ok({
    path: '/api/roles/{name}',
    params: { name: 'contract-auditors' },
    method: 'DELETE',
    token: alice,
  });
  await ok({
    path: '/api/parameters/{key}',
    params: { key: 'contractKey' },
    method: 'PUT',
    token: alice,
    body: { value: 'w' },
  });
  await ok({ path: '/api/parameters/{key}', params: { key: 'contractKey' }, method: 'DELETE', token: alice });
  await ok({
    path: '/api/users',
    method: 'POST',
    token: alice,
    body: { username: 'carla', password: 'contract-password-1', roles: ['operator'] },
  });
  await ok({
    path: '/api/users/{username}',
    params: { username: 'carla' },
    method: 'PATCH',
    token: alice,
    body: { roles: ['operator'] },
  });
  await ok({ path: '/api/auth/logout-everywhere', method: 'POST', token: bob, body: {} });
}

/** The governance console's main resources, walked as a super-admin does. */
async function walkGovernance(): Promise<void> {
  const c = contracts.governance;
  const admin = sessions.governance;
  const ok = async (call: Parameters<ApiContract['call']>[0], contract = c) => {
    const response = await contract.call(call);
    expect(
      response.status < 300,
      `${call.method ?? 'GET'} ${call.path} → ${response.status} ${response.text.slice(0, 300)}`,
    ).toBe(true);
    return response;
  };
  const customer = await ok({
    path: '/api/customers',
    method: 'POST',
    token: admin,
    body: {
      name: 'Contract Co',
      contacts: [{ name: 'Cora', email: 'cora@contract.example', role: 'billing' }],
    },
  });
  const customerId = String(customer.body.id);
  await ok({ path: '/api/customers/{id}', params: { id: customerId }, token: admin });
  await ok({ path: '/api/customers/{id}/ledger', params: { id: customerId }, token: admin });
  await ok({
    path: '/api/tenants',
    method: 'POST',
    token: admin,
    body: {
      id: 'contract',
      name: 'Contract Co',
      plan: 'standard',
      hosts: ['contract.localhost'],
      expiresAt: new Date(Date.now() + 90 * 86_400_000).toISOString(),
      customerId,
    },
  });
  const tenant = { id: 'contract' };
  await ok({ path: '/api/tenants/{id}', params: tenant, token: admin });
  await ok({
    path: '/api/tenants/{id}',
    params: tenant,
    method: 'PATCH',
    token: admin,
    body: { name: 'Contract Company' },
  });
  await ok({
    path: '/api/tenants/{id}/admins',
    method: 'POST',
    params: tenant,
    token: admin,
    body: { username: 'cora', password: 'contract-password-2' },
  });
  await ok({
    path: '/api/tenants/{id}/hosts',
    params: tenant,
    method: 'POST',
    token: admin,
    body: { host: 'contract2.localhost' },
  });
  await ok({ path: '/api/tenants/{id}/hosts', params: tenant, token: admin });
  await ok({
    path: '/api/tenants/{id}/hosts/{host}',
    params: { ...tenant, host: 'contract2.localhost' },
    token: admin,
  });
  await ok({
    path: '/api/tenants/{id}/hosts/{host}',
    params: { ...tenant, host: 'contract2.localhost' },
    method: 'DELETE',
    token: admin,
  });
  await ok({ path: '/api/tenants/{id}/agents', params: tenant, token: admin });
  const order = await ok({
    path: '/api/orders',
    method: 'POST',
    token: admin,
    body: { tenantId: 'contract', plan: 'standard', months: 1, amount: 10 },
  });
  await ok({ path: '/api/orders/{id}', params: { id: String(order.body.id) }, token: admin });
  await ok({
    path: '/api/orders/{id}/confirm-payment',
    params: { id: String(order.body.id) },
    method: 'POST',
    token: admin,
    body: {},
  });
  const second = await ok({
    path: '/api/orders',
    method: 'POST',
    token: admin,
    body: { tenantId: 'contract', plan: 'standard', months: 1, amount: 10 },
  });
  await ok({
    path: '/api/orders/{id}/cancel',
    params: { id: String(second.body.id) },
    method: 'POST',
    token: admin,
    body: {},
  });
  await ok({ path: '/api/lifecycle/run', method: 'POST', token: admin, body: { scan: 'renewal-reminder' } });
  await ok({
    path: '/api/announcements',
    method: 'POST',
    token: admin,
    body: {
      title: 'Contract',
      body: 'Checked against the document.',
      severity: 'info',
      tenants: ['contract'],
    },
  });
  const resource = await ok({
    path: '/api/http-resources',
    method: 'POST',
    token: admin,
    body: {
      name: 'Contract API',
      baseUrl: 'https://stock.example.com',
      methods: ['GET'],
      paths: ['/items/*'],
      writeAllowed: false,
      auth: { scheme: 'bearer' },
    },
  });
  const resourceId = { id: String(resource.body.id) };
  await ok({ path: '/api/http-resources/{id}', params: resourceId, token: admin });
  await ok({
    path: '/api/http-resources/{id}',
    params: resourceId,
    method: 'PATCH',
    token: admin,
    body: { paths: ['/items/*', '/stock/*'] },
  });
  await ok({
    path: '/api/http-resources/{id}/state',
    params: resourceId,
    method: 'PUT',
    token: admin,
    body: { state: 'active' },
  });
  await ok({
    path: '/api/http-resources/{id}/credential',
    params: resourceId,
    method: 'PUT',
    token: admin,
    body: { value: 'contract-secret-1' },
  });
  await ok({
    path: '/api/http-resources/{id}/credential',
    params: resourceId,
    method: 'PUT',
    token: admin,
    body: { value: 'contract-secret-2' },
  });
  await ok({
    path: '/api/http-resources/{id}/credential/previous',
    params: resourceId,
    method: 'DELETE',
    token: admin,
  });
  await ok({
    path: '/api/http-resources/{id}/grants',
    params: resourceId,
    method: 'POST',
    token: admin,
    body: { tenantIds: ['acme'] },
  });
  await ok({
    path: '/api/http-resources/{id}/grants/{tenantId}',
    params: { ...resourceId, tenantId: 'acme' },
    method: 'DELETE',
    token: admin,
  });
  const skill = {
    name: 'Contract double',
    description: 'doubles a number',
    inputSchema: { type: 'object', properties: { n: { type: 'integer' } }, required: ['n'] },
    outputSchema: { type: 'object', properties: { value: { type: 'integer' } }, required: ['value'] },
    risk: 'low',
  };
  const template = await ok({
    path: '/api/templates',
    method: 'POST',
    token: admin,
    body: { skill, source: 'def main(inputs, ctx):\n    return {"value": inputs["n"] * 2}\n' },
  });
  const templateId = { id: String(template.body.id) };
  await ok({ path: '/api/templates/{id}', params: templateId, token: admin });
  await ok({
    path: '/api/templates/{id}/versions',
    params: templateId,
    method: 'POST',
    token: admin,
    body: { skill, source: 'def main(inputs, ctx):\n    return {"value": inputs["n"] + inputs["n"]}\n' },
  });
  await ok({
    path: '/api/templates/{id}/distribute',
    params: templateId,
    method: 'POST',
    token: admin,
    body: { tenantIds: ['acme'] },
  });
  await ok({ path: '/api/templates/{id}/tenants', params: templateId, token: admin });
  // A fresh session: the tenant sweep signed alice out (POST /api/auth/logout).
  const alice = await t.login(HOSTS.acme, 'alice');
  await ok(
    {
      path: '/api/templates/{id}/install',
      params: templateId,
      method: 'POST',
      token: alice,
      body: {},
    },
    contracts.tenant,
  );
}

const ORDER: Readonly<Record<string, number>> = { GET: 0, POST: 1, PUT: 2, PATCH: 3, DELETE: 4 };

async function sweep(api: 'tenant' | 'governance'): Promise<TestResponse[]> {
  const tables = await enumerateRoutes(t.core);
  const entries = [...tables[api]].sort(
    (a, b) => (ORDER[a.route.method] ?? 9) - (ORDER[b.route.method] ?? 9),
  );
  const answers: TestResponse[] = [];
  for (const { route } of entries) {
    const params = Object.fromEntries(
      [...route.path.matchAll(/\{([a-zA-Z][a-zA-Z0-9]*)\}/g)].map((match) => {
        const name = match[1] ?? '';
        return [name, ids[api][collectionOf(route.path, name)] ?? 'contract-missing'];
      }),
    );
    const body = sampleBody(route);
    // Unauthenticated: a problem the document declares (or the answer of an anonymous route).
    answers.push(
      await contracts[api].call({
        path: route.path,
        params,
        method: route.method,
        ...(body === undefined ? {} : { body }),
      }),
    );
    if (route.body !== undefined) {
      answers.push(
        await contracts[api].call({
          path: route.path,
          params,
          method: route.method,
          token: sessions[api],
          body: '{"not json',
          headers: { 'content-type': 'application/json' },
        }),
      );
    }
    answers.push(
      await contracts[api].call({
        path: route.path,
        params,
        method: route.method,
        token: sessions[api],
        ...(body === undefined ? {} : { body }),
      }),
    );
    expect(fillPath(route.path, (name) => params[name] ?? '')).not.toContain('{');
  }
  return answers;
}

/**
 * HEAD on every GET route, with real ids, as the signed-in user: the GET's status and media type
 * without a body, and nothing written to the audit. A GET that records what it hands over (an export
 * of leads, a verification that seals the chain) answers HEAD 405, and its Allow names GET alone.
 */
async function headSweep(api: 'tenant' | 'governance'): Promise<number> {
  const host = HOST_OF[api];
  const token = sessions[api];
  const newest = async () =>
    JSON.stringify((await t.send({ host, path: '/api/audit?limit=5', token })).body.items);
  const gets = (await enumerateRoutes(t.core))[api].filter(({ route }) => route.method === 'GET');
  const paths = gets.map(({ route }) =>
    fillPath(route.path, (name) => ids[api][collectionOf(route.path, name)] ?? 'contract-missing'),
  );
  const before = await newest();
  const heads: TestResponse[] = [];
  for (const path of paths) heads.push(await t.send({ host, method: 'HEAD', path, token }));
  expect(await newest(), 'HEAD wrote to the audit').toBe(before);
  let answered = 0;
  for (const [index, { route, name }] of gets.entries()) {
    const head = heads[index] as TestResponse;
    expect(head.text, name).toBe('');
    if (route.head === false) {
      expect(head.status, name).toBe(405);
      expect(head.headers.allow, name).not.toContain('HEAD');
      continue;
    }
    const get = await t.send({ host, path: paths[index] ?? '', token });
    expect(head.status, name).toBe(get.status);
    expect(head.headers['content-type'], name).toBe(get.headers['content-type']);
    if (get.status === 200) answered += 1;
  }
  return answered;
}

describe('every operation answers as its document says', () => {
  it('tenant API on a tenant host', async () => {
    await populateTenant();
    await idsFromListings('tenant');
    await walkTenant();
    expect(await headSweep('tenant')).toBeGreaterThan(20);
    const answers = await sweep('tenant');
    expect(
      answers.every((answer) => answer.status < 500),
      'no 5xx',
    ).toBe(true);
    const answered = contracts.tenant
      .operations()
      .filter((op) => !contracts.tenant.unanswered().includes(op));
    // The figure the report quotes; the walk below adds more.
    process.stdout.write(
      `tenant: ${answered.length}/${contracts.tenant.operations().length} operations answered a success\n`,
    );
    for (const operation of contracts.tenant.operations()) {
      expect(contracts.tenant.answered.has(operation), `${operation} was called`).toBe(true);
    }
  }, 180_000);

  it('governance API on the admin host', async () => {
    await idsFromListings('governance');
    ids.governance.users ??= 'admin';
    await walkGovernance();
    expect(await headSweep('governance')).toBeGreaterThan(15);
    const answers = await sweep('governance');
    expect(
      answers.every((answer) => answer.status < 500),
      'no 5xx',
    ).toBe(true);
    const answered = contracts.governance
      .operations()
      .filter((op) => !contracts.governance.unanswered().includes(op));
    process.stdout.write(
      `governance: ${answered.length}/${contracts.governance.operations().length} operations answered a success\n`,
    );
    for (const operation of contracts.governance.operations()) {
      expect(contracts.governance.answered.has(operation), `${operation} was called`).toBe(true);
    }
  }, 180_000);

  it('free API on the free host', async () => {
    const free = contracts.free;
    for (const path of ['/api/health', OPENAPI_PATH, '/api/free/offers']) {
      expect((await free.call({ path })).status, path).toBe(200);
    }
    const offers = await free.call({ path: '/api/free/offers' });
    const signup = await free.call({
      path: '/api/free/signups',
      method: 'POST',
      localAddress: '127.0.0.77',
      body: {
        handle: 'openapi-walk',
        email: 'walk@example.com',
        password: 'a-long-enough-password',
        templates: offers.body.items.slice(0, 1).map((item: { templateId: string }) => item.templateId),
      },
    });
    expect(signup.status, signup.text).toBe(201);
    const space = await free.call({ path: '/api/free/spaces/{handle}', params: { handle: 'openapi-walk' } });
    expect(space.status, space.text).toBe(200);
    // Refusals are described too: a body that is not a sign-up.
    expect((await free.call({ path: '/api/free/signups', method: 'POST', body: { handle: 1 } })).status).toBe(
      422,
    );
    // A handle nobody has is a field error of the look-up form (422, naming `handle`).
    expect(
      (await free.call({ path: '/api/free/spaces/{handle}', params: { handle: 'nobody' } })).status,
    ).toBe(422);
    expect(free.unanswered()).toEqual([]);
  });
});
