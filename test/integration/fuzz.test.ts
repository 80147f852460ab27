/**
 * Property tests (fast-check) over request bodies, against the embedded platform over real HTTP.
 * Every route that takes a body, in both APIs, is taken from the route tables and called by a
 * caller allowed to use it, so hostile bodies reach the parsers and the core: raw bytes, invalid
 * UTF-8 inside JSON, truncated JSON, wrong media types, arbitrary JSON values, samples with wrong
 * types, missing, unknown and prototype-polluting members, huge strings, deep nesting. Only a
 * success or an application/problem+json 4xx may come out; garbage must be a 4xx.
 */
import { randomBytes } from 'node:crypto';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_MAX_BODY_BYTES } from '../../functions/http/pipeline.ts';
import type { Route } from '../../functions/http/router.ts';
import type { TestResponse } from '../support/http.ts';
import {
  bodyMembers,
  collectionOf,
  enumerateRoutes,
  fillPath,
  HOSTS,
  sampleBody,
  startTestPlatform,
  type TestPlatform,
} from '../support/platform.ts';

const PASSWORD = 'fuzz-suite-password-123';
/** Runs per property: enough to find shape bugs, few enough for two cores in well under a minute. */
const RUNS = {
  bytes: 150,
  utf8: 150,
  truncated: 150,
  mediaType: 100,
  values: 250,
  mutations: 300,
  nesting: 100,
};

let t: TestPlatform;
const counts: Record<string, number> = {};
let requests = 0;

interface Target {
  readonly name: string;
  [fc.toStringMethod](): string;
  readonly route: Route;
  readonly host: string;
  readonly token: string;
  readonly path: string;
  readonly sample: Record<string, unknown>;
  readonly limit: number;
}
let targets: Target[] = [];

async function created(response: TestResponse, what: string) {
  expect([200, 201], `${what}: ${response.text.slice(0, 200)}`).toContain(response.status);
  return response.body;
}

beforeAll(async () => {
  t = await startTestPlatform(PASSWORD);
  const alice = await t.login(HOSTS.acme, 'alice');
  const admin = await t.login(HOSTS.admin, 'admin');
  const post = (host: string, token: string, path: string, body: unknown) =>
    t.send({ host, token, path, method: 'POST', body });

  // Objects of the callers' own domains, so that routes with ids reach the core with real ones.
  const acmeIds: Record<string, string> = { versions: '1' };
  acmeIds.tokens = String(
    (
      await created(
        await post(HOSTS.acme, alice, '/api/tokens', { name: 'fuzz', scopes: ['skill:read'] }),
        'token',
      )
    ).id,
  );
  await created(await post(HOSTS.acme, alice, '/api/roles', { name: 'fuzz-role', permissions: [] }), 'role');
  acmeIds.roles = 'fuzz-role';
  await created(
    await post(HOSTS.acme, alice, '/api/parameters', { key: 'fuzzKey', value: 'v' }),
    'parameter',
  );
  acmeIds.parameters = 'fuzzKey';
  await created(
    await post(HOSTS.acme, alice, '/api/users', {
      username: 'fuzzee',
      password: PASSWORD,
      roles: ['viewer'],
    }),
    'user',
  );
  acmeIds.users = 'fuzzee';
  const script = await post(HOSTS.acme, alice, '/api/assets/scripts', {
    name: 'fuzz script',
    source: 'def main(inputs, ctx):\n    return {}\n',
  });
  if (script.status === 201) {
    acmeIds.scripts = String(script.body.id);
    // Its input schema admits nothing a fuzzer will guess, so no fuzzed run is ever queued.
    const skill = await post(HOSTS.acme, alice, '/api/skills', {
      name: 'fuzz skill',
      inputSchema: {
        type: 'object',
        required: ['token'],
        properties: { token: { const: randomBytes(8).toString('hex') } },
      },
      outputSchema: { type: 'object' },
      risk: 'low',
      asset: { kind: 'python-script', id: acmeIds.scripts, version: 'active' },
      limits: { timeoutSeconds: 5 },
    });
    if (skill.status === 201) acmeIds.skills = String(skill.body.id);
  }
  // The MCP endpoint takes an AI client's token, not a session: one for that fuzz skill.
  const mcpClient = await post(HOSTS.acme, alice, '/api/mcp-clients', {
    name: 'fuzz agent',
    skills: acmeIds.skills === undefined ? [] : [acmeIds.skills],
    tags: ['fuzz'],
  });
  const mcpToken = String((await created(mcpClient, 'AI client')).token);
  acmeIds['mcp-clients'] = String(mcpClient.body.id);
  // The agent channel takes an agent's token, checked before the body is read: one agent's. (The
  // samples' names are not its own, so no poll of theirs waits for a job.)
  const agent = await post(HOSTS.acme, alice, '/api/agents', { name: 'fuzz-box' });
  const agentToken = String((await created(agent, 'agent')).token);
  const publicIds: Record<string, string> = {};
  await t.core.tenants.create({
    id: 'fuzz-target',
    name: 'Fuzz Target',
    plan: 'standard',
    hosts: ['fuzz-target.localhost'],
    expiresAt: new Date(Date.now() + 90 * 86_400_000).toISOString(),
  });
  publicIds.tenants = 'fuzz-target';
  await created(
    await post(HOSTS.admin, admin, '/api/users', {
      username: 'fuzz-op',
      password: PASSWORD,
      roles: ['auditor'],
    }),
    'public user',
  );
  publicIds.users = 'fuzz-op';

  const { tenant, governance } = await enumerateRoutes(t.core);
  const permissionsOf = async (host: string, token: string) =>
    new Set<string>((await t.send({ host, path: '/api/me', token })).body.permissions);
  const allowed: Record<string, Set<string>> = {
    [HOSTS.acme]: await permissionsOf(HOSTS.acme, alice),
    [HOSTS.admin]: await permissionsOf(HOSTS.admin, admin),
  };
  const target =
    (host: string, token: string, ids: Record<string, string>) =>
    (route: Route): Target => ({
      name: `${route.method} ${route.path} @${host}`,
      [fc.toStringMethod]() {
        return this.name;
      },
      route,
      host,
      token: route.auth === 'mcp-client' ? mcpToken : route.auth === 'agent' ? agentToken : token,
      path: fillPath(
        route.path,
        (param) => ids[collectionOf(route.path, param)] ?? randomBytes(8).toString('hex'),
      ),
      sample: sampleBody(route) as Record<string, unknown>,
      limit: route.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES,
    });
  // Routes that take a body, each called by a caller allowed to use it (a route nobody in that
  // domain may call is refused before its body is read, so there is nothing to fuzz there).
  const usable = (host: string) => (route: Route) =>
    route.body !== undefined &&
    (route.permission === undefined || allowed[host]?.has(route.permission) === true);
  targets = [
    ...tenant
      .map(({ route }) => route)
      .filter(usable(HOSTS.acme))
      .map(target(HOSTS.acme, alice, acmeIds)),
    ...governance
      .map(({ route }) => route)
      .filter(usable(HOSTS.admin))
      .map(target(HOSTS.admin, admin, publicIds)),
  ];
});

afterAll(async () => {
  console.log(
    `fuzz: ${targets.length} body routes, ${requests} requests; runs per property: ${JSON.stringify(counts)}`,
  );
  await t?.stop();
});

async function send(target: Target, body: string | Buffer, contentType = 'application/json') {
  requests++;
  return t.send({
    host: target.host,
    path: target.path,
    method: target.route.method,
    token: target.token,
    headers: contentType === '' ? {} : { 'content-type': contentType },
    body,
  });
}

/** The answer is a success or a well-formed problem+json 4xx; never a 5xx or a bare error. */
function wellFormed(response: TestResponse, context: string): void {
  const where = `${context} → ${response.status} ${response.text.slice(0, 300)}`;
  expect(response.status, where).toBeLessThan(500);
  if (response.status >= 400) {
    expect(response.headers['content-type'], where).toBe('application/problem+json');
    expect(String(response.body?.type), where).toMatch(/^urn:execfabric:problem:[a-z0-9-]+$/);
    expect(response.body.status, where).toBe(response.status);
  }
}

/** A refusal: problem+json with one of the given statuses. */
function refused(response: TestResponse, statuses: readonly number[], context: string): void {
  wellFormed(response, context);
  expect(statuses, `${context} → ${response.status} ${response.text.slice(0, 300)}`).toContain(
    response.status,
  );
}

async function property<T>(
  name: keyof typeof RUNS,
  arbitrary: fc.Arbitrary<T>,
  check: (value: T) => Promise<void>,
) {
  counts[name] = 0;
  await fc.assert(
    fc.asyncProperty(arbitrary, async (value) => {
      counts[name] = (counts[name] ?? 0) + 1;
      await check(value);
    }),
    { numRuns: RUNS[name] },
  );
}

const targetArb = () => fc.constantFrom(...targets);

/** Byte sequences that are never valid UTF-8. */
const invalidUtf8 = fc.constantFrom(
  [0xff],
  [0xfe, 0xff],
  [0x80],
  [0xc0, 0xaf],
  [0xe2, 0x82],
  [0xed, 0xa0, 0x80],
  [0xf4, 0x90, 0x80, 0x80],
  [0xf8, 0x88, 0x80, 0x80, 0x80],
);

const jsonText = (value: unknown) => JSON.stringify(value);

describe('request bodies', () => {
  it('has routes that take a body', () => {
    expect(targets.length).toBeGreaterThan(5);
  });

  it('raw bytes declared as JSON are refused with a 4xx', async () => {
    await property(
      'bytes',
      fc.tuple(targetArb(), fc.uint8Array({ minLength: 1, maxLength: 4096 })),
      async ([target, bytes]) => {
        const buffer = Buffer.from(bytes);
        const response = await send(target, buffer);
        let parses = true;
        try {
          JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(buffer));
        } catch {
          parses = false;
        }
        if (parses) wellFormed(response, target.name);
        else refused(response, [400, 413], `${target.name} ${buffer.toString('hex').slice(0, 40)}`);
      },
    );
  });

  it('invalid UTF-8 inside otherwise valid JSON is a 400, never decoded lossily', async () => {
    await property('utf8', fc.tuple(targetArb(), invalidUtf8, fc.nat()), async ([target, bad, seed]) => {
      const text = jsonText(target.sample);
      const strings = [...text.matchAll(/:"/g)].map((match) => (match.index ?? 0) + 2);
      const at = strings.length === 0 ? 0 : (strings[seed % strings.length] ?? 0);
      const body = Buffer.concat([
        Buffer.from(text.slice(0, at)),
        Buffer.from(bad),
        Buffer.from(text.slice(at)),
      ]);
      refused(await send(target, body), [400], `${target.name} ${Buffer.from(bad).toString('hex')} at ${at}`);
    });
  });

  it('truncated JSON is a 400', async () => {
    await property(
      'truncated',
      fc.tuple(targetArb(), fc.double({ min: 0, max: 1, noNaN: true })),
      async ([target, fraction]) => {
        const text = jsonText(target.sample);
        const cut = Math.min(text.length - 1, Math.floor(fraction * text.length));
        refused(await send(target, text.slice(0, cut)), [400], `${target.name} cut at ${cut}`);
      },
    );
  });

  it('a body that is not declared as JSON is a 415', async () => {
    const types = fc.constantFrom(
      'text/plain',
      'text/json',
      'application/x-www-form-urlencoded',
      'multipart/form-data; boundary=x',
      'application/xml',
      'application/json-patch+json',
      'application/jsonp',
      'application/octet-stream',
      'application/json5',
    );
    await property('mediaType', fc.tuple(targetArb(), types), async ([target, type]) => {
      refused(await send(target, jsonText(target.sample), type), [415], `${target.name} as ${type}`);
    });
  });

  it('any JSON value is answered, and a non-object is refused', async () => {
    const values = fc.jsonValue({ maxDepth: 4 });
    await property('values', fc.tuple(targetArb(), values), async ([target, value]) => {
      const response = await send(target, jsonText(value));
      const isObject = value !== null && typeof value === 'object' && !Array.isArray(value);
      if (isObject) wellFormed(response, `${target.name} ${jsonText(value).slice(0, 120)}`);
      else refused(response, [422], `${target.name} ${jsonText(value).slice(0, 120)}`);
    });
  });

  it('samples with wrong types, missing or unknown members and huge strings are answered, never a 5xx', async () => {
    type Mutation =
      | { readonly kind: 'replace'; readonly pick: number; readonly value: unknown }
      | { readonly kind: 'remove'; readonly pick: number }
      | { readonly kind: 'unknown'; readonly key: string; readonly value: unknown }
      | { readonly kind: 'huge'; readonly pick: number; readonly size: number };
    const mutation: fc.Arbitrary<Mutation> = fc.oneof(
      fc.record({
        kind: fc.constant('replace' as const),
        pick: fc.nat(),
        value: fc.oneof(
          fc.jsonValue({ maxDepth: 3 }),
          fc.integer(),
          fc.double(),
          fc.constantFrom(true, false, null, '', ' ', '0', -1, 1e308, [], {}),
        ),
      }),
      fc.record({ kind: fc.constant('remove' as const), pick: fc.nat() }),
      fc.record({
        kind: fc.constant('unknown' as const),
        key: fc.oneof(
          fc.constantFrom(
            '__proto__',
            'constructor',
            'prototype',
            'superAdmin',
            'tenantId',
            'role',
            'id',
            'PK',
          ),
          fc.string({ minLength: 1, maxLength: 12 }),
        ),
        value: fc.jsonValue({ maxDepth: 2 }),
      }),
      fc.record({
        kind: fc.constant('huge' as const),
        pick: fc.nat(),
        size: fc.integer({ min: 1000, max: 80_000 }),
      }),
    );
    await property(
      'mutations',
      fc.tuple(targetArb(), fc.array(mutation, { minLength: 1, maxLength: 3 })),
      async ([target, changes]) => {
        // Built as text, so that keys like __proto__ arrive as the client would send them.
        const members = new Map<string, string>(
          Object.entries(target.sample).map(([key, value]) => [key, jsonText(value)]),
        );
        const known = new Set(Object.keys(target.sample));
        const schemaKeys = new Set(bodyMembers(target.route));
        for (const change of changes) {
          const keys = [...members.keys()];
          const key =
            keys.length === 0 ? undefined : keys[('pick' in change ? change.pick : 0) % keys.length];
          if (change.kind === 'replace' && key !== undefined) members.set(key, jsonText(change.value));
          if (change.kind === 'remove' && key !== undefined) members.delete(key);
          if (change.kind === 'huge' && key !== undefined)
            members.set(key, jsonText('x'.repeat(change.size)));
          if (change.kind === 'unknown') members.set(change.key, jsonText(change.value));
        }
        const unknownAdded = [...members.keys()].some((key) => !schemaKeys.has(key) && !known.has(key));
        const text = `{${[...members].map(([key, value]) => `${jsonText(key)}:${value}`).join(',')}}`;
        const response = await send(target, text);
        const context = `${target.name} ${text.slice(0, 160)}`;
        if (Buffer.byteLength(text) > target.limit) refused(response, [413], context);
        else if (unknownAdded) refused(response, [422], context);
        else wellFormed(response, context);
      },
    );
  });

  it('deep nesting, at the top or inside a member, is answered, never a 5xx or a crash', async () => {
    const shape = fc.constantFrom('array', 'object');
    await property(
      'nesting',
      fc.tuple(
        targetArb(),
        shape,
        fc.oneof(fc.integer({ min: 2, max: 40 }), fc.integer({ min: 41, max: 20_000 })),
        fc.boolean(),
        fc.nat(),
      ),
      async ([target, kind, depth, inside, pick]) => {
        const nested =
          kind === 'array'
            ? `${'['.repeat(depth)}${']'.repeat(depth)}`
            : `${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}`;
        const keys = Object.keys(target.sample);
        const key = keys[pick % Math.max(1, keys.length)];
        let text = nested;
        if (inside && key !== undefined) {
          const rest = keys
            .filter((other) => other !== key)
            .map((other) => `${jsonText(other)}:${jsonText(target.sample[other])}`);
          text = `{${[`${jsonText(key)}:${nested}`, ...rest].join(',')}}`;
        }
        const response = await send(target, text);
        const context = `${target.name} ${kind} depth ${depth} ${inside ? `in ${key}` : 'at the top'}`;
        if (Buffer.byteLength(text) > target.limit) refused(response, [413], context);
        else if (!inside) refused(response, [422], context);
        else wellFormed(response, context);
      },
    );
  });
});

describe('classic garbage on every body route', () => {
  it('is refused with the right 4xx', async () => {
    const failures: string[] = [];
    const cases: readonly {
      name: string;
      body: string | Buffer;
      type?: string;
      expect: readonly number[];
    }[] = [
      { name: 'empty JSON', body: '', expect: [400] },
      { name: 'null', body: 'null', expect: [422] },
      { name: 'array', body: '[]', expect: [422] },
      { name: 'string', body: '"admin"', expect: [422] },
      { name: 'number', body: '1e999', expect: [422] },
      { name: 'open brace', body: '{', expect: [400] },
      { name: 'NaN', body: '{"a":NaN}', expect: [400] },
      { name: 'single quotes', body: "{'a':1}", expect: [400] },
      { name: 'trailing comma', body: '{"a":1,}', expect: [400] },
      {
        name: 'byte order mark before null',
        body: Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from('null')]),
        expect: [400, 422],
      },
      { name: 'UTF-16', body: Buffer.from('{"a":"b"}', 'utf16le'), expect: [400] },
      { name: 'lone surrogate escape', body: '{"zz":"\\ud800"}', expect: [422] },
      {
        name: '__proto__ pollution',
        body: '{"__proto__":{"superAdmin":true,"isAdmin":true}}',
        expect: [422],
      },
      {
        name: 'constructor pollution',
        body: '{"constructor":{"prototype":{"superAdmin":true}}}',
        expect: [422],
      },
      {
        name: 'form encoded',
        body: 'username=admin&password=x',
        type: 'application/x-www-form-urlencoded',
        expect: [415],
      },
      { name: 'no media type', body: '{}', type: '', expect: [415] },
      {
        name: 'media type with parameters',
        body: 'x',
        type: 'application/json; charset=utf-8',
        expect: [400],
      },
    ];
    for (const target of targets) {
      for (const item of cases) {
        const response = await send(target, item.body, item.type ?? 'application/json');
        const status = response.status;
        const ok =
          item.expect.includes(status) &&
          response.headers['content-type'] === 'application/problem+json' &&
          response.body?.status === status;
        if (!ok) failures.push(`${target.name} ${item.name}: ${status} ${response.text.slice(0, 160)}`);
      }
      const oversized = `{"a":"${'x'.repeat(target.limit)}"}`;
      const response = await send(target, oversized);
      if (response.status !== 413 || response.headers['content-type'] !== 'application/problem+json') {
        failures.push(`${target.name} oversized: ${response.status}`);
      }
    }
    counts.classicRequests = targets.length * (cases.length + 1);
    expect(failures).toEqual([]);
  });
});

// Open bug in functions/core/pagination.ts (not fixed here, see the report): decodeCursor checks
// the partition but not the key's shape or range, so DynamoDB refuses the query and the API
// answers 500. This block is deliberately left uncommitted until pagination.ts is fixed.
describe('crafted cursors in the caller’s own partition', () => {
  it('are refused with a 4xx on every listing, never a 5xx', async () => {
    const lists = targets.length === 0 ? [] : await listRoutes();
    const encode = (value: unknown) => Buffer.from(JSON.stringify(value), 'utf8').toString('base64url');
    const keyNames = fc.constantFrom('PK', 'SK', 'GSI1PK', 'GSI1SK', 'GSI2PK', 'GSI2SK', 'x');
    const cursor = fc.oneof(
      fc.constantFrom(
        { PK: 'T#acme', SK: 'USER#a', x: 'y' },
        { PK: 'T#acme' },
        { PK: 'T#acme', SK: 5 },
        { PK: 'T#acme', SK: 'ZZZ' },
        { PK: 'PUBLIC', SK: 'AUDIT#0', extra: 1 },
        { GSI1PK: 'TENANTS', GSI1SK: 'a', PK: 'x' },
      ),
      fc.dictionary(
        keyNames,
        fc.oneof(fc.constantFrom('T#acme', 'PUBLIC', 'TENANTS'), fc.string(), fc.integer()),
      ),
    );
    counts.cursors = 0;
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...lists), cursor, async (list, value) => {
        counts.cursors = (counts.cursors ?? 0) + 1;
        requests++;
        const path = `${list.path}?cursor=${encode(value)}`;
        const response = await t.send({ host: list.host, path, token: list.token });
        wellFormed(response, `${list.path}@${list.host} cursor ${JSON.stringify(value)}`);
      }),
      { numRuns: 150 },
    );
  });
});

async function listRoutes() {
  const alice = await t.login(HOSTS.acme, 'alice');
  const admin = await t.login(HOSTS.admin, 'admin');
  const { tenant, governance } = await enumerateRoutes(t.core);
  const gets = (routes: typeof tenant, host: string, token: string) =>
    routes
      .filter(({ route }) => route.method === 'GET' && !route.path.includes('{'))
      .map(({ route }) => ({
        host,
        token,
        path: route.path,
        [fc.toStringMethod]: () => `${route.path}@${host}`,
      }));
  return [...gets(tenant, HOSTS.acme, alice), ...gets(governance, HOSTS.admin, admin)];
}
