import { Logger } from '@aws-lambda-powertools/logger';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2, Context } from 'aws-lambda';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import type { Agent } from '../../../../functions/core/agents/agents.ts';
import { AuthenticationError, UnknownHostError } from '../../../../functions/core/errors.ts';
import type { Caller } from '../../../../functions/core/identity/caller.ts';
import type { DomainContext } from '../../../../functions/core/tenancy/domain.ts';
import type { HostDirectory } from '../../../../functions/core/tenancy/hosts.ts';
import { createApiHandler, MAX_BODY_DEPTH } from '../../../../functions/http/pipeline.ts';
import { route } from '../../../../functions/http/router.ts';

const ORIGIN = 'origin-proof-for-tests';
let governanceReached = 0;
const acme: DomainContext = {
  kind: 'tenant',
  host: 'acme.localhost',
  tenant: { id: 'acme', name: 'Acme', status: 'active', plan: 'standard', expiresAt: '2030-01-01T00:00:00Z' },
};

/** Only what the pipeline uses of the host directory. */
const hosts = {
  resolve: async (host: string) => {
    if (host === acme.host) return acme;
    throw new UnknownHostError();
  },
} as unknown as HostDirectory;

function caller(permissions: string[]): Caller {
  return {
    username: 'alice',
    roles: [],
    permissions: new Set(permissions),
    superAdmin: false,
    via: 'session',
    credentialId: 'c',
  };
}

const seen: string[] = [];
const handler = createApiHandler({
  surfaces: ['tenant'],
  accepts: (domain) => domain.kind === 'tenant',
  hosts,
  originSecret: ORIGIN,
  logger: new Logger({ logLevel: 'SILENT' }),
  defaultMaxBodyBytes: 1024,
  authenticate: async (_, credential) => {
    const given = credential.kind === 'bearer' ? credential.header : `cookie ${credential.token}`;
    if (given === 'Bearer writer' || given === 'cookie writer') return caller(['skill:manage']);
    if (given === 'Bearer reader') return caller(['skill:read']);
    throw new AuthenticationError('Invalid or expired credentials');
  },
  csrfToken: () => 'csrf-of-c',
  routes: [
    route({
      method: 'POST',
      path: '/api/things',
      serves: 'tenant',
      auth: 'caller',
      permission: 'skill:manage',
      body: z.strictObject({ name: z.string().min(1) }),
      responses: { 201: z.object({ name: z.string() }) },
      handle: async ({ request }) => {
        seen.push(request.body.name);
        return { status: 201, body: { name: request.body.name } };
      },
    }),
    route({
      method: 'GET',
      path: '/api/open',
      serves: 'tenant',
      auth: 'anonymous',
      responses: { 200: z.object({ caller: z.string().nullable(), remainingMs: z.number().nullable() }) },
      handle: async ({ caller: who, request }) => ({
        status: 200,
        body: {
          // Typed `undefined` on an anonymous route; checked at run time all the same.
          caller: (who as Caller | undefined)?.username ?? null,
          remainingMs: request.remainingMs?.() ?? null,
        },
      }),
    }),
    route({
      method: 'GET',
      path: '/api/boom',
      serves: 'tenant',
      auth: 'anonymous',
      responses: { 200: null },
      handle: async () => {
        throw new Error('database password is hunter2');
      },
    }),
    // Fields of every kind a body may leave out: an enum, a custom check with its own message, a number.
    route({
      method: 'POST',
      path: '/api/shapes',
      serves: 'tenant',
      auth: 'anonymous',
      body: z.strictObject({
        kind: z.enum(['circle', 'square']),
        schema: z.custom<object>((value) => typeof value === 'object' && value !== null, {
          message: 'must be an object',
        }),
        sides: z.number().int(),
        note: z.string().optional(),
      }),
      responses: { 204: null },
      handle: async () => ({ status: 204 }),
    }),
    // A console route in the same table: its guard keeps it off every tenant host.
    route({
      method: 'POST',
      path: '/api/tenants',
      serves: 'governance',
      auth: 'caller',
      permission: 'skill:manage',
      body: z.strictObject({ name: z.string() }),
      responses: { 201: null },
      handle: async () => {
        governanceReached += 1;
        return { status: 201 };
      },
    }),
  ],
});

interface Sent {
  readonly cookies?: string[];
  readonly method?: string;
  readonly path?: string;
  readonly host?: string;
  readonly headers?: Record<string, string>;
  readonly body?: string;
  readonly origin?: string | null;
  /** The Lambda context's time left, when the invocation has one. */
  readonly remainingMs?: number;
}

async function send(request: Sent) {
  const headers: Record<string, string> = {
    'x-execfabric-host': request.host ?? acme.host,
    ...request.headers,
  };
  const origin = request.origin === undefined ? ORIGIN : request.origin;
  if (origin !== null) headers['x-execfabric-origin'] = origin;
  const event = {
    version: '2.0',
    rawPath: request.path ?? '/tenant/api/things',
    rawQueryString: '',
    headers,
    ...(request.cookies === undefined ? {} : { cookies: request.cookies }),
    body: request.body,
    isBase64Encoded: false,
    requestContext: {
      requestId: 'req-1',
      http: { method: request.method ?? 'POST', sourceIp: '127.0.0.1' },
    },
  } as unknown as APIGatewayProxyEventV2;
  const context = (
    request.remainingMs === undefined ? {} : { getRemainingTimeInMillis: () => request.remainingMs }
  ) as Context;
  const result = (await handler(event, context)) as APIGatewayProxyStructuredResultV2;
  const body = JSON.parse(String(result.body || '{}'));
  return { status: result.statusCode, headers: result.headers ?? {}, body, raw: result.body };
}

const JSON_TYPE = { 'content-type': 'application/json' };
const AGENT: Agent = {
  name: 'agent',
  description: '',
  createdAt: '2026-12-05T00:00:00.000Z',
  createdBy: 'admin',
  tokenId: 'token',
  tokenCreatedAt: '2026-12-05T00:00:00.000Z',
  lastSeenAt: null,
  stoppedAt: null,
  version: null,
  platform: null,
};

describe('the API pipeline', () => {
  describe('HEAD', () => {
    it('answers as GET would, with its status and headers and no body', async () => {
      const get = await send({
        method: 'GET',
        path: '/tenant/api/open',
        headers: { authorization: 'Bearer reader' },
      });
      const head = await send({
        method: 'HEAD',
        path: '/tenant/api/open',
        headers: { authorization: 'Bearer reader' },
      });
      expect(get.status).toBe(200);
      // An anonymous route knows no caller, whatever credential comes.
      expect(get.body.caller).toBeNull();
      expect(head.status).toBe(200);
      expect(head.raw).toBe('');
      expect(head.headers['content-type']).toBe('application/json');
      expect(head.headers).toEqual(get.headers);
      // A bad token is ignored on HEAD as on GET (the route is anonymous: it reads no credential).
      const bad = await send({
        method: 'HEAD',
        path: '/tenant/api/open',
        headers: { authorization: 'Bearer nope' },
      });
      expect([bad.status, bad.raw]).toEqual([200, '']);
    });

    it('refuses where GET is not served, with the problem’s status and headers and no body', async () => {
      const onPost = await send({ method: 'HEAD', path: '/tenant/api/things' });
      expect(onPost.status).toBe(405);
      expect(onPost.headers.allow).toBe('POST');
      expect(onPost.headers['content-type']).toBe('application/problem+json');
      expect(onPost.raw).toBe('');
      const nowhere = await send({ method: 'HEAD', path: '/tenant/api/nothing' });
      expect([nowhere.status, nowhere.raw]).toEqual([404, '']);
      // A route that fails answers its 500 without a body either.
      const boom = await send({ method: 'HEAD', path: '/tenant/api/boom' });
      expect([boom.status, boom.raw]).toEqual([500, '']);
    });

    it('lists HEAD beside GET in a 405’s Allow', async () => {
      const answer = await send({ method: 'DELETE', path: '/tenant/api/open' });
      expect(answer.status).toBe(405);
      expect(answer.headers.allow).toBe('GET, HEAD');
    });
  });

  describe('sessions in a cookie', () => {
    const plain = { ...JSON_TYPE, 'x-execfabric-scheme': 'http' };
    const write = (headers: Record<string, string>, cookies = ['efs=writer']) =>
      send({ body: '{"name":"cookie"}', headers: { ...plain, ...headers }, cookies });

    it('accepts a cookie write that carries the CSRF token from this origin', async () => {
      const answer = await write({ 'x-csrf-token': 'csrf-of-c', origin: 'http://acme.localhost:8080' });
      expect(answer.status).toBe(201);
      expect(seen).toContain('cookie');
    });

    it('refuses a cookie write without the token, with a wrong one, or from another origin or site', async () => {
      const refused: Record<string, string>[] = [
        {},
        { 'x-csrf-token': 'guess' },
        { 'x-csrf-token': 'csrf-of-c', origin: 'http://evil.localhost:8080' },
        { 'x-csrf-token': 'csrf-of-c', origin: 'https://acme.localhost' },
        { 'x-csrf-token': 'csrf-of-c', origin: 'null' },
        { 'x-csrf-token': 'csrf-of-c', 'sec-fetch-site': 'same-site' },
        { 'x-csrf-token': 'csrf-of-c', 'sec-fetch-site': 'cross-site' },
      ];
      for (const headers of refused) {
        const answer = await write(headers);
        expect(answer.status, JSON.stringify(headers)).toBe(403);
        expect(answer.body.type).toBe('urn:execfabric:problem:csrf-rejected');
      }
    });

    it('reads only the cookie name of the protocol: a plain cookie never counts over https', async () => {
      const answer = await send({
        body: '{"name":"x"}',
        headers: { ...JSON_TYPE, 'x-csrf-token': 'csrf-of-c' },
        cookies: ['efs=writer'],
      });
      expect(answer.status).toBe(401);
      const secure = await send({
        body: '{"name":"secure"}',
        headers: { ...JSON_TYPE, 'x-csrf-token': 'csrf-of-c' },
        cookies: ['__Host-efs=writer'],
      });
      expect(secure.status).toBe(201);
    });

    it('a bearer header wins over a cookie and needs no CSRF token', async () => {
      const answer = await write({ authorization: 'Bearer writer' }, ['efs=nobody']);
      expect(answer.status).toBe(201);
    });

    it('an anonymous route ignores the cookie', async () => {
      const answer = await send({ method: 'GET', path: '/tenant/api/open', cookies: ['efs=writer'] });
      expect(answer.status).toBe(200);
      expect(answer.body.caller).toBeNull();
    });
  });

  it('asks for credentials before it reads a body', async () => {
    for (const body of ['{"nope":1}', 'not json', '']) {
      const answer = await send({ body, headers: JSON_TYPE });
      expect(answer.status).toBe(401);
      expect(answer.body.type).toBe('urn:execfabric:problem:unauthenticated');
      expect(answer.body).not.toHaveProperty('errors');
    }
    expect((await send({ body: 'x', headers: { 'content-type': 'text/plain' } })).status).toBe(401);
  });

  it('serves a route only in the domains its guard names: 404 before any credential or body is looked at', async () => {
    const credentials: Record<string, string>[] = [
      {},
      { authorization: 'Bearer writer' },
      { authorization: 'Bearer forged' },
      { authorization: 'Bearer reader' },
    ];
    for (const headers of credentials) {
      const answer = await send({
        path: '/tenant/api/tenants',
        body: '{"nope":',
        headers: { ...JSON_TYPE, ...headers },
      });
      expect(answer.status).toBe(404);
      expect(answer.body).toMatchObject({ type: 'urn:execfabric:problem:route-not-found' });
    }
    expect(governanceReached).toBe(0);
  });

  it('checks the permission before it reads a body', async () => {
    const answer = await send({
      body: '{"nope":1}',
      headers: { ...JSON_TYPE, authorization: 'Bearer reader' },
    });
    expect(answer.status).toBe(403);
    expect(answer.body).toMatchObject({
      type: 'urn:execfabric:problem:forbidden',
      permission: 'skill:manage',
    });
  });

  it('tells a route how long its invocation has left, where the invocation says', async () => {
    const timed = await send({ method: 'GET', path: '/tenant/api/open', remainingMs: 12_345 });
    expect(timed.body).toEqual({ caller: null, remainingMs: 12_345 });
    const untimed = await send({ method: 'GET', path: '/tenant/api/open' });
    expect(untimed.body).toEqual({ caller: null, remainingMs: null });
  });

  it('validates the body of an allowed caller: 400, 415, 422', async () => {
    const writer = { authorization: 'Bearer writer' };
    expect((await send({ body: '{"name":', headers: { ...JSON_TYPE, ...writer } })).status).toBe(400);
    expect(
      (await send({ body: '{"name":"a"}', headers: { 'content-type': 'text/plain', ...writer } })).status,
    ).toBe(415);
    const invalid = await send({ body: '{"name":"a","extra":1}', headers: { ...JSON_TYPE, ...writer } });
    expect(invalid.status).toBe(422);
    expect(invalid.body.errors).toEqual([expect.objectContaining({ path: '' })]);
    // A field left out reads "required"; a field of the wrong type says what was expected.
    const missing = await send({ body: '{}', headers: { ...JSON_TYPE, ...writer } });
    expect(missing.body.errors).toEqual([{ path: 'name', message: 'required' }]);
    const mistyped = await send({ body: '{"name":7}', headers: { ...JSON_TYPE, ...writer } });
    expect(mistyped.body.errors).toEqual([
      { path: 'name', message: 'Invalid input: expected string, received number' },
    ]);
    // Whatever a field's schema would say of a wrong value, a field left out reads "required".
    const shapes = (body: string) => send({ path: '/tenant/api/shapes', body, headers: JSON_TYPE });
    expect((await shapes('{}')).body.errors).toEqual([
      { path: 'kind', message: 'required' },
      { path: 'schema', message: 'required' },
      { path: 'sides', message: 'required' },
    ]);
    expect((await shapes('{"kind":"oval","schema":1,"sides":2.5}')).body.errors).toEqual([
      { path: 'kind', message: 'Invalid option: expected one of "circle"|"square"' },
      { path: 'schema', message: 'must be an object' },
      { path: 'sides', message: 'Invalid input: expected int, received number' },
    ]);
    const ok = await send({ body: '{"name":"a"}', headers: { ...JSON_TYPE, ...writer } });
    expect(ok).toMatchObject({ status: 201, body: { name: 'a' } });
    expect(ok.headers).toMatchObject({ 'x-content-type-options': 'nosniff', 'cache-control': 'no-store' });
  });

  it('refuses a body nested deeper than the limit with 422, at any depth', async () => {
    const writer = { ...JSON_TYPE, authorization: 'Bearer writer' };
    for (const depth of [MAX_BODY_DEPTH, 200]) {
      const body = `{"name":${'['.repeat(depth)}${']'.repeat(depth)}}`;
      const answer = await send({ body, headers: writer });
      expect(answer.status).toBe(422);
      expect(answer.body.detail).toBe('Request body is nested too deeply');
    }
    const deepest = `{"name":${'['.repeat(MAX_BODY_DEPTH - 1)}${']'.repeat(MAX_BODY_DEPTH - 1)}}`;
    const allowed = await send({ body: deepest, headers: writer });
    expect(allowed.status).toBe(422);
    expect(allowed.body.detail).toBe('Request body is invalid');
  });

  it('refuses an oversized body before anything else is done with it', async () => {
    const before = seen.length;
    const answer = await send({ body: `{"name":"${'a'.repeat(2048)}"}`, headers: JSON_TYPE });
    expect(answer.status).toBe(413);
    expect(answer.body).toMatchObject({ type: 'urn:execfabric:problem:payload-too-large', limitBytes: 1024 });
    expect(seen.length).toBe(before);
  });

  it('refuses requests that did not come through the edge', async () => {
    for (const origin of [null, '', 'guess', `${ORIGIN}x`]) {
      const answer = await send({ origin, headers: { authorization: 'Bearer writer' } });
      expect(answer.status).toBe(403);
      expect(answer.body.type).toBe('urn:execfabric:problem:origin-rejected');
    }
  });

  it('answers 404 for unbound hosts, foreign surfaces and unknown routes, 405 for a wrong method', async () => {
    expect((await send({ host: 'initech.localhost' })).body.type).toBe('urn:execfabric:problem:unknown-host');
    expect((await send({ host: '' })).status).toBe(404);
    expect((await send({ path: '/governance/api/things' })).status).toBe(404);
    expect((await send({ path: '/tenant/nope/things' })).status).toBe(404);
    expect((await send({ path: '/tenant/api/nothing' })).status).toBe(404);
    expect((await send({ method: 'TRACE' })).status).toBe(404);
    const wrong = await send({ method: 'DELETE' });
    expect(wrong.status).toBe(405);
    expect(wrong.headers.allow).toBe('POST');
  });

  it('lets an anonymous route ignore a token, bad or good', async () => {
    const answer = await send({
      method: 'GET',
      path: '/tenant/api/open',
      headers: { authorization: 'Bearer forged' },
    });
    expect(answer).toMatchObject({ status: 200, body: { caller: null } });
    const good = await send({
      method: 'GET',
      path: '/tenant/api/open',
      headers: { authorization: 'Bearer writer' },
    });
    expect(good).toMatchObject({ status: 200, body: { caller: null } });
  });

  it('turns an error outside the taxonomy into a 500 that says nothing of it', async () => {
    const answer = await send({ method: 'GET', path: '/tenant/api/boom' });
    expect(answer.status).toBe(500);
    expect(answer.headers['content-type']).toBe('application/problem+json');
    expect(JSON.stringify(answer.body)).not.toContain('hunter2');
    expect(answer.body).toMatchObject({ type: 'urn:execfabric:problem:internal', instance: 'req-1' });
  });

  it('refuses, at construction, a table with an MCP route and no one to authenticate its clients', () => {
    const options = {
      surfaces: ['tenant'],
      accepts: () => true,
      hosts,
      originSecret: ORIGIN,
      logger: new Logger({ logLevel: 'SILENT' }),
      authenticate: async () => caller([]),
      csrfToken: () => 'csrf',
      routes: [
        route({
          method: 'POST',
          path: '/mcp',
          serves: 'tenant',
          auth: 'mcp-client',
          responses: { 204: null },
          handle: async () => ({ status: 204 }),
        }),
      ],
    } as const;
    expect(() => createApiHandler(options)).toThrow(
      /POST \/mcp takes MCP clients, and this API authenticates none/,
    );
    expect(() =>
      createApiHandler({ ...options, authenticateMcpClient: async () => caller([]) }),
    ).not.toThrow();
  });

  describe('credentials read by their own authenticator before the body, or by nobody', () => {
    const tried: string[] = [];
    const recorded: { kind: string; route: unknown }[] = [];
    const bodiesRead: unknown[] = [];
    const options = {
      surfaces: ['tenant'],
      accepts: () => true,
      hosts,
      originSecret: ORIGIN,
      logger: new Logger({ logLevel: 'SILENT' }),
      authenticate: async (_: DomainContext, credential: { kind: string }) => {
        tried.push(credential.kind);
        throw new AuthenticationError('Invalid or expired credentials');
      },
      securityEvents: {
        record: async (
          _: DomainContext | 'public',
          event: { kind: string; detail?: Record<string, unknown> },
        ) => {
          recorded.push({ kind: event.kind, route: event.detail?.route });
          return 'recorded' as const;
        },
      },
      csrfToken: () => 'csrf',
      authenticateAgent: async (_: DomainContext, request: { headers: Record<string, string> }) => {
        if (request.headers.authorization !== 'Bearer efa_good') {
          throw new AuthenticationError('Invalid agent token');
        }
        return { ...AGENT, name: 'box' };
      },
      routes: [
        route({
          method: 'GET',
          path: '/api/metadata',
          serves: 'tenant',
          auth: 'anonymous',
          responses: { 200: z.object({ caller: z.string().nullable() }) },
          handle: async ({ caller: who }) => ({
            status: 200,
            body: {
              // Typed `undefined` on an anonymous route; checked at run time all the same.
              caller: (who as Caller | undefined)?.username ?? null,
            },
          }),
        }),
        // As the agent channel: the pipeline checks the agent's token, then reads the body.
        route({
          method: 'POST',
          path: '/api/agent/hello',
          serves: 'tenant',
          auth: 'agent',
          body: z.strictObject({ name: z.string() }),
          responses: { 200: z.object({ name: z.string(), agent: z.string() }) },
          handle: async ({ request, agent }) => {
            bodiesRead.push(request.body);
            return { status: 200, body: { name: request.body.name, agent: agent.name } };
          },
        }),
      ],
    } as const;
    const guarded = createApiHandler(options);
    const call = async (method: string, path: string, headers: Record<string, string>, body?: string) => {
      const result = (await guarded(
        {
          version: '2.0',
          rawPath: `/tenant${path}`,
          rawQueryString: '',
          headers: { 'x-execfabric-host': acme.host, 'x-execfabric-origin': ORIGIN, ...headers },
          body,
          isBase64Encoded: false,
          requestContext: { requestId: 'req-2', http: { method, sourceIp: '127.0.0.1' } },
        } as unknown as APIGatewayProxyEventV2,
        {} as Context,
      )) as APIGatewayProxyStructuredResultV2;
      return { status: result.statusCode, body: JSON.parse(String(result.body || '{}')) };
    };

    it('tries no credential on an anonymous route, and records none as refused', async () => {
      tried.length = 0;
      recorded.length = 0;
      for (const authorization of ['Bearer efm_client', 'Bearer forged', 'nonsense']) {
        const answer = await call('GET', '/api/metadata', { authorization, cookie: 'efs=someone' });
        expect(answer).toEqual({ status: 200, body: { caller: null } });
      }
      expect(tried).toEqual([]);
      expect(recorded).toEqual([]);
    });

    it("refuses a bad agent token with one 401 whatever the body, recorded; reads a good token's body", async () => {
      recorded.length = 0;
      bodiesRead.length = 0;
      const problems = [];
      for (const body of ['{}', '{"nope":1}', 'not json', '{"name":"box"}']) {
        for (const headers of [{}, { authorization: 'Bearer efa_forged' }] as Record<string, string>[]) {
          const answer = await call('POST', '/api/agent/hello', { ...JSON_TYPE, ...headers }, body);
          expect(answer.status).toBe(401);
          problems.push(answer.body);
        }
      }
      for (const problem of problems) expect(problem).toEqual(problems[0]);
      expect(bodiesRead).toEqual([]);
      expect(tried).toEqual([]);
      // Each refused token sent, recorded as ever; a request without one records nothing.
      expect(recorded).toEqual(Array(4).fill({ kind: 'token-refused', route: '/api/agent/hello' }));

      const good = { ...JSON_TYPE, authorization: 'Bearer efa_good' };
      const invalid = await call('POST', '/api/agent/hello', good, '{"nope":1}');
      expect(invalid.status).toBe(422);
      expect(invalid.body.errors).toContainEqual({ path: 'name', message: 'required' });
      expect((await call('POST', '/api/agent/hello', good, 'not json')).status).toBe(400);
      expect(await call('POST', '/api/agent/hello', good, '{"name":"box"}')).toEqual({
        status: 200,
        body: { name: 'box', agent: 'box' },
      });
      expect(bodiesRead).toEqual([{ name: 'box' }]);
    });

    it('refuses, at construction, an agent route where the API authenticates no agent', () => {
      const { authenticateAgent: _, ...without } = options;
      expect(() => createApiHandler(without)).toThrow(
        /POST \/api\/agent\/hello takes local agents, and this API authenticates none/,
      );
    });

    it('refuses, at construction, an anonymous route that needs a permission', () => {
      const needing = route({
        method: 'GET',
        path: '/api/open-but-not',
        serves: 'tenant',
        auth: 'anonymous',
        permission: 'skill:read',
        responses: { 204: null },
        handle: async () => ({ status: 204 }),
      });
      expect(() => createApiHandler({ ...options, routes: [needing] })).toThrow(
        /GET \/api\/open-but-not is anonymous and needs skill:read/,
      );
    });
  });
});
