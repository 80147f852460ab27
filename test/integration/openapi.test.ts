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
    const tables = enumerateRoutes(t.core);
    const expected = {
      tenant: tables.tenant.map((entry) => entry.name),
      governance: tables.governance.map((entry) => entry.name),
      free: freeRoutes().map(operationOf),
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

const ORDER: Readonly<Record<string, number>> = { GET: 0, POST: 1, PUT: 2, PATCH: 3, DELETE: 4 };

async function sweep(api: 'tenant' | 'governance'): Promise<TestResponse[]> {
  const tables = enumerateRoutes(t.core);
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

describe('every operation answers as its document says', () => {
  it('tenant API on a tenant host', async () => {
    await populateTenant();
    await idsFromListings('tenant');
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
    for (const route of freeRoutes()) {
      const response = await contracts.free.call({ path: route.path, method: route.method });
      expect(response.status).toBe(200);
    }
    expect(contracts.free.unanswered()).toEqual([]);
  });
});
