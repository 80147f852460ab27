/**
 * The MCP endpoint as an attacker would try it, over real HTTP against the local platform: bodies
 * at and over the limit, batches, deep nesting, forged and misplaced headers, every kind of
 * credential in the wrong place (sessions and personal access tokens on /mcp, AI client tokens on
 * the user API, another tenant's tokens, spliced tokens), tool names and arguments no client would
 * send, other clients' and tenants' runs, self-approval through an agent, and a fast-check pass over
 * JSON-RPC messages. Every answer is a JSON-RPC answer or a problem+json 4xx; never a 5xx.
 */
import { randomBytes } from 'node:crypto';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ENV, requireEnv } from '../../functions/core/env.ts';
import { HOST_HEADER, ORIGIN_HEADER } from '../../functions/core/headers.ts';
import { MAX_MCP_BODY_BYTES } from '../../functions/http/mcp-message.ts';
import type { TestResponse } from '../support/http.ts';
import { edgeEvent } from '../support/lambda-environment.ts';
import { connectMcp } from '../support/mcp.ts';
import {
  enumerateRoutes,
  expectProblem,
  fillPath,
  HOSTS,
  problemType,
  sampleBody,
  startTestPlatform,
} from '../support/platform.ts';

const PASSWORD = 'mcp-attack-password-1';
const t = await startTestPlatform(PASSWORD);
const port = new URL(t.platform.url).port;
const ACCEPT = 'application/json, text/event-stream';

const sessions: Record<string, string> = {};
const ids: Record<string, string> = {};
const tokens: Record<string, string> = {};

function api(user: string, method: string, path: string, body?: unknown, host: string = HOSTS.acme) {
  return t.send({ host, path, method, token: sessions[user], ...(body === undefined ? {} : { body }) });
}

function mcp(
  token: string | undefined,
  body: unknown,
  options: { host?: string; headers?: Record<string, string>; method?: string } = {},
): Promise<TestResponse> {
  return t.send({
    host: options.host ?? HOSTS.acme,
    path: '/mcp',
    method: options.method ?? 'POST',
    headers: { accept: ACCEPT, ...options.headers },
    ...(token === undefined ? {} : { token }),
    ...(body === undefined ? {} : { body }),
  });
}

let nextId = 1;
function rpc(method: string, params: Record<string, unknown> = {}) {
  return { jsonrpc: '2.0', id: nextId++, method, params };
}

function call(name: string, args: unknown) {
  return rpc('tools/call', { name, arguments: args });
}

/** A JSON-RPC success answer (HTTP 200, application/json). */
function expectRpcResult(response: TestResponse, context = '') {
  expect(response.status, `${context} ${response.text.slice(0, 300)}`).toBe(200);
  expect(response.headers['content-type'], context).toMatch(/^application\/json/);
  expect(response.body.jsonrpc, context).toBe('2.0');
  return response.body;
}

let guardedTool: string;
let transferTool: string;

beforeAll(async () => {
  sessions.alice = await t.login(HOSTS.acme, 'alice');
  sessions.bob = await t.login(HOSTS.acme, 'bob');
  sessions.gina = await t.login(HOSTS.globex, 'gina');
  const script = await api('alice', 'POST', '/api/assets/scripts', {
    name: 'echo.py',
    source: 'def main(inputs, ctx):\n    return {"echo": inputs}\n',
  });
  expect(script.status, script.text).toBe(201);
  const skill = async (body: Record<string, unknown>) => {
    const created = await api('alice', 'POST', '/api/skills', {
      outputSchema: { type: 'object' },
      risk: 'low',
      asset: { kind: 'python-script', id: script.body.id, version: 'active' },
      ...body,
    });
    expect(created.status, created.text).toBe(201);
    return String(created.body.id);
  };
  // Its input admits nothing a fuzzer will guess, so no fuzzed call ever queues a run.
  ids.guarded = await skill({
    name: 'Guarded',
    inputSchema: {
      type: 'object',
      properties: { token: { const: randomBytes(8).toString('hex') } },
      required: ['token'],
      additionalProperties: false,
    },
    tags: ['attack'],
  });
  ids.transfer = await skill({
    name: 'Transfer',
    inputSchema: {
      type: 'object',
      properties: { amount: { type: 'integer' } },
      required: ['amount'],
      additionalProperties: false,
    },
    risk: 'medium',
    tags: ['attack'],
  });
  guardedTool = `guarded_${ids.guarded.slice(4)}`;
  transferTool = `transfer_${ids.transfer.slice(4)}`;
  const globexScript = await api(
    'gina',
    'POST',
    '/api/assets/scripts',
    { name: 'g.py', source: 'def main(inputs, ctx):\n    return {}\n' },
    HOSTS.globex,
  );
  const globexSkill = await api(
    'gina',
    'POST',
    '/api/skills',
    {
      name: 'Globex secret',
      inputSchema: { type: 'object' },
      outputSchema: { type: 'object' },
      risk: 'low',
      tags: ['attack'],
      asset: { kind: 'python-script', id: globexScript.body.id, version: 'active' },
    },
    HOSTS.globex,
  );
  expect(globexSkill.status, globexSkill.text).toBe(201);
  ids.globexSkill = String(globexSkill.body.id);

  const client = async (user: string, body: Record<string, unknown>, host: string = HOSTS.acme) => {
    const created = await api(user, 'POST', '/api/mcp-clients', body, host);
    expect(created.status, created.text).toBe(201);
    return created.body as { id: string; token: string };
  };
  const bob = await client('bob', { name: 'bob agent', tags: ['attack'] });
  ids.bobClient = bob.id;
  tokens.bob = bob.token;
  const alice = await client('alice', { name: 'alice agent', tags: ['attack'] });
  ids.aliceClient = alice.id;
  tokens.alice = alice.token;
  const gina = await client('gina', { name: 'gina agent', tags: ['attack'] }, HOSTS.globex);
  tokens.gina = gina.token;
  ids.ginaClient = gina.id;
  const pat = await api('bob', 'POST', '/api/tokens', { name: 'cli', scopes: ['skill:read', 'skill:run'] });
  tokens.pat = String(pat.body.token);
});

afterAll(async () => {
  await t.stop();
});

describe('bodies', () => {
  const padded = (bytes: number) => {
    const base = JSON.stringify({ ...rpc('tools/list'), params: { _meta: { pad: '' } } });
    return base.replace('"pad":""', `"pad":"${'x'.repeat(bytes - Buffer.byteLength(base))}"`);
  };

  it(`takes a body of exactly ${MAX_MCP_BODY_BYTES} bytes and refuses one byte more with a 413`, async () => {
    const atLimit = padded(MAX_MCP_BODY_BYTES);
    expect(Buffer.byteLength(atLimit)).toBe(MAX_MCP_BODY_BYTES);
    expectRpcResult(await mcp(tokens.bob, atLimit, { headers: { 'content-type': 'application/json' } }));
    const over = await mcp(tokens.bob, padded(MAX_MCP_BODY_BYTES + 1), {
      headers: { 'content-type': 'application/json' },
    });
    expectProblem(over, 413);
    expect(over.body.limitBytes).toBe(MAX_MCP_BODY_BYTES);
  });

  it('refuses an oversized body before it reads the token, and one over the edge limit at the edge', async () => {
    expectProblem(
      await mcp(undefined, padded(MAX_MCP_BODY_BYTES + 1), {
        headers: { 'content-type': 'application/json' },
      }),
      [401, 413],
    );
    const huge = Buffer.alloc(10 * 1024 * 1024 + 1, 0x20);
    expectProblem(await mcp(tokens.bob, huge, { headers: { 'content-type': 'application/json' } }), 413);
  });

  it('refuses batches, small or large, without running any of their calls', async () => {
    for (const size of [1, 2, 1000]) {
      const batch = Array.from({ length: size }, () => call(guardedTool, {}));
      const response = await mcp(tokens.bob, batch);
      expectProblem(response, 422, `batch of ${size}`);
      expect(response.body.errors[0].message).toContain('batches');
    }
    const calls = await api('bob', 'GET', `/api/mcp-clients/${ids.bobClient}/calls`);
    expect(calls.body.items).toEqual([]);
  });

  it('refuses deep nesting, unknown members and a wrong jsonrpc version with a 422', async () => {
    const deep = `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"x","arguments":${'{"a":'.repeat(40)}1${'}'.repeat(40)}}}`;
    expectProblem(await mcp(tokens.bob, deep, { headers: { 'content-type': 'application/json' } }), 422);
    expectProblem(await mcp(tokens.bob, { ...rpc('tools/list'), role: 'admin' }), 422);
    expectProblem(
      await mcp(tokens.bob, '{"jsonrpc":"2.0","id":1,"method":"tools/list","__proto__":{"isAdmin":true}}', {
        headers: { 'content-type': 'application/json' },
      }),
      422,
    );
    expectProblem(await mcp(tokens.bob, { ...rpc('tools/list'), jsonrpc: '1.0' }), 422);
    expectProblem(
      await mcp(tokens.bob, '{"jsonrpc":"2.0",', { headers: { 'content-type': 'application/json' } }),
      400,
    );
    expectProblem(
      await mcp(tokens.bob, rpc('tools/list'), { headers: { 'content-type': 'text/plain' } }),
      415,
    );
  });

  it('answers transport refusals as problem+json that carries the JSON-RPC error', async () => {
    const noAccept = await mcp(tokens.bob, rpc('tools/list'), { headers: { accept: 'application/json' } });
    expectProblem(noAccept, 406);
    expect(noAccept.body.type).toBe(problemType('not-acceptable'));
    expect(noAccept.body.error.code).toBe(-32000);
    expect(noAccept.body.jsonrpc).toBe('2.0');
    const badVersion = await mcp(tokens.bob, rpc('tools/list'), {
      headers: { 'mcp-protocol-version': '1999-01-01' },
    });
    expectProblem(badVersion, 400);
    expect(badVersion.body.error.message).toContain('protocol version');
  });
});

describe('methods and framing', () => {
  it('offers no SSE stream and no session: GET and DELETE are 405, OPTIONS unknown', async () => {
    for (const method of ['GET', 'DELETE', 'PUT', 'PATCH']) {
      const response = await mcp(tokens.bob, undefined, { method });
      expectProblem(response, 405, method);
      expect(response.headers.allow).toBe('POST');
      // The refusal is a JSON-RPC error response too (docs/guide/mcp.md), for a client that reads only that.
      expect(response.body).toMatchObject({
        jsonrpc: '2.0',
        id: null,
        error: { code: -32000, message: response.body.detail },
      });
    }
    expectProblem(await mcp(tokens.bob, undefined, { method: 'OPTIONS' }), 404);
  });

  it('answers HEAD as GET would, without a body: 405 on the endpoint, 200 on its metadata', async () => {
    const head = await mcp(tokens.bob, undefined, { method: 'HEAD' });
    expect(head.status).toBe(405);
    expect(head.headers.allow).toBe('POST');
    expect(head.headers['content-type']).toBe('application/problem+json');
    expect(head.text).toBe('');
    const metadata = await t.send({
      host: HOSTS.acme,
      method: 'HEAD',
      path: '/.well-known/oauth-protected-resource/mcp',
    });
    expect(metadata.status).toBe(200);
    expect(metadata.headers['content-type']).toBe('application/json');
    expect(metadata.text).toBe('');
  });

  it('answers params that do not fit a method as invalid params (-32602), not an internal error', async () => {
    for (const [request, where] of [
      [rpc('tools/call', { name: 123, arguments: {} }), 'params.name'],
      [rpc('tools/call', { name: guardedTool, arguments: 'x' }), 'params.arguments'],
      [rpc('tools/list', { cursor: 7 }), 'params.cursor'],
    ] as const) {
      const answer = expectRpcResult(await mcp(tokens.bob, request), where);
      expect(answer.id, where).toBe(request.id);
      expect(answer.error?.code, JSON.stringify(answer)).toBe(-32602);
      expect(answer.error.message, where).toContain(where);
      // One line naming the field, not the validator's dump of every issue.
      expect(answer.error.message.length, where).toBeLessThan(400);
    }
    // Method names that are an object's own names are methods like any other: unknown ones.
    for (const method of ['constructor', 'toString', '__proto__', 'hasOwnProperty']) {
      const answer = expectRpcResult(await mcp(tokens.bob, rpc(method, {})), method);
      expect(answer.error?.code, JSON.stringify(answer)).toBe(-32601);
    }
  });

  it('ignores a forged session id, answers notifications with 202 and unknown methods in JSON-RPC', async () => {
    const forged = await mcp(tokens.bob, rpc('tools/list'), {
      headers: { 'mcp-session-id': 'stolen-session' },
    });
    expectRpcResult(forged);
    expect(forged.headers['mcp-session-id']).toBeUndefined();
    const notification = await mcp(tokens.bob, { jsonrpc: '2.0', method: 'notifications/initialized' });
    expect(notification.status).toBe(202);
    expect(notification.text).toBe('');
    for (const method of ['resources/list', 'prompts/list', 'sampling/createMessage', 'x'.repeat(128)]) {
      const answer = expectRpcResult(await mcp(tokens.bob, rpc(method)), method);
      expect(answer.error.code, method).toBe(-32601);
    }
    const pinged = expectRpcResult(await mcp(tokens.bob, rpc('ping')));
    expect(pinged.result).toEqual({});
  });
});

describe('credentials', () => {
  it('takes no session and no personal access token on /mcp', async () => {
    for (const token of [sessions.bob, tokens.pat]) {
      const response = await mcp(token, rpc('tools/list'));
      expectProblem(response, 401);
      expect(response.headers['www-authenticate']).toContain('error="invalid_token"');
    }
  });

  it('takes no AI client token on any user route of the tenant API', async () => {
    const routes = (await enumerateRoutes(t.core)).tenant.filter(({ route }) => route.auth === 'caller');
    expect(routes.length).toBeGreaterThan(20);
    const failures: string[] = [];
    for (const { route, name } of routes) {
      const body = sampleBody(route);
      const response = await t.send({
        host: HOSTS.acme,
        path: fillPath(route.path, () => ids.bobClient ?? 'x'),
        method: route.method,
        token: tokens.bob,
        ...(body === undefined ? {} : { body }),
      });
      if (response.status !== 401 || response.headers['content-type'] !== 'application/problem+json') {
        failures.push(`${name}: ${response.status} ${response.text.slice(0, 120)}`);
      }
    }
    expect(failures).toEqual([]);
  });

  it('refuses spliced, malformed and foreign AI client tokens', async () => {
    // efm_<16 hex>_<secret>; the secret is base64url, so it may hold underscores itself.
    const parts = (token = '') => [token.slice(4, 20), token.slice(21)] as const;
    const [bobId, bobSecret] = parts(tokens.bob);
    const [aliceId, aliceSecret] = parts(tokens.alice);
    const [ginaId] = parts(tokens.gina);
    const attempts = [
      `efm_${bobId}_${aliceSecret}`,
      `efm_${aliceId}_${bobSecret}`,
      `efm_${ginaId}_${bobSecret}`,
      `efm_${bobId}_${bobSecret}x`,
      `efm_${bobId}_${bobSecret.slice(0, -1)}`,
      `efm_${bobId.toUpperCase()}_${bobSecret}`,
      `efp_${bobId}_${bobSecret}`,
      `${tokens.bob} ${tokens.bob}`,
      tokens.gina,
    ];
    for (const token of attempts) {
      const response = await mcp(token, rpc('tools/list'));
      expectProblem(response, 401, token);
    }
    for (const authorization of [
      `Basic ${tokens.bob}`,
      `Bearer`,
      `Bearer  ${tokens.bob}x`,
      tokens.bob ?? '',
    ]) {
      expectProblem(
        await mcp(undefined, rpc('tools/list'), { headers: { authorization } }),
        401,
        authorization,
      );
    }
    // Case of the scheme does not matter (RFC 7235), the token itself does.
    expectRpcResult(
      await mcp(undefined, rpc('tools/list'), { headers: { authorization: `bearer ${tokens.bob}` } }),
    );
  });

  it('binds a token to its tenant whatever the client claims in x-execfabric-* headers', async () => {
    const onAcme = await mcp(tokens.gina, rpc('tools/list'), {
      headers: { 'x-execfabric-host': HOSTS.globex, 'X-ExecFabric-Origin': 'guess' },
    });
    expectProblem(onAcme, 401);
    const onGlobex = await mcp(tokens.bob, rpc('tools/list'), {
      host: HOSTS.globex,
      headers: { 'x-execfabric-host': HOSTS.acme },
    });
    expectProblem(onGlobex, 401);
    // The admin host serves no MCP, whatever is claimed.
    const onAdmin = await mcp(tokens.bob, rpc('tools/list'), {
      host: HOSTS.admin,
      headers: { 'x-execfabric-host': HOSTS.acme },
    });
    expectProblem(onAdmin, 404);
    const unbound = await mcp(tokens.bob, rpc('tools/list'), {
      host: 'initech.localhost',
      headers: { 'x-execfabric-host': HOSTS.acme },
    });
    expectProblem(unbound, 404);
  });

  it('writes links from the edge’s own view of the host, not from client headers', async () => {
    const response = await mcp(undefined, rpc('tools/list'), {
      host: `${HOSTS.acme}:${port}`,
      headers: {
        'x-execfabric-port': '6666"; evil="1',
        'x-execfabric-scheme': 'javascript',
        'x-forwarded-proto': 'https',
        'x-forwarded-host': 'evil.example',
      },
    });
    expectProblem(response, 401);
    expect(response.headers['www-authenticate']).toBe(
      `Bearer resource_metadata="http://${HOSTS.acme}:${port}/.well-known/oauth-protected-resource/mcp"`,
    );
    const metadata = await t.send({
      host: `${HOSTS.acme}:${port}`,
      path: '/.well-known/oauth-protected-resource/mcp',
      headers: { 'x-execfabric-scheme': 'https', 'x-forwarded-host': 'evil.example' },
      token: tokens.gina,
    });
    expect(metadata.status).toBe(200);
    expect(metadata.body.resource).toBe(`http://${HOSTS.acme}:${port}/mcp`);
    expect(metadata.text).not.toContain('evil');
  });
});

describe('the origin', () => {
  /** An API Gateway event for POST /mcp as the edge would send it, with the origin proof given. */
  function event(origin: string | undefined) {
    return edgeEvent({
      method: 'POST',
      rawPath: '/tenant/mcp',
      routeKey: 'ANY /tenant/mcp',
      headers: {
        [HOST_HEADER]: HOSTS.acme,
        ...(origin === undefined ? {} : { [ORIGIN_HEADER]: origin }),
        authorization: `Bearer ${tokens.bob}`,
        accept: ACCEPT,
      },
      body: rpc('tools/list'),
      sourceIp: '127.0.0.1',
    });
  }

  it('is proved on /mcp as on /api: a request that skipped the edge is refused, token or not', async () => {
    for (const origin of [undefined, '', 'guess', `${requireEnv(ENV.originSecret, t.platform.env)}x`]) {
      const result = (await t.platform.invoke('tenant-api', event(origin))) as {
        statusCode: number;
        body: string;
      };
      expect(result.statusCode, String(origin)).toBe(403);
      expect(JSON.parse(result.body).type).toBe(problemType('origin-rejected'));
    }
    const through = (await t.platform.invoke(
      'tenant-api',
      event(requireEnv(ENV.originSecret, t.platform.env)),
    )) as {
      statusCode: number;
    };
    expect(through.statusCode).toBe(200);
  });
});

describe('tools', () => {
  it('treats names no client would send as unknown tools, never as a crash', async () => {
    const names = [
      '',
      'x'.repeat(20_000),
      `globex_secret_${ids.globexSkill?.slice(4)}`,
      `guarded_${ids.globexSkill?.slice(4)}`,
      `../guarded_${ids.guarded?.slice(4)}`,
      `Guarded_${ids.guarded?.slice(4)}`,
      `guarded_${ids.guarded?.slice(4).toUpperCase()}`,
      'get_run ',
      '__proto__',
      'constructor',
    ];
    for (const name of names) {
      const answer = expectRpcResult(await mcp(tokens.bob, call(name, {})), name.slice(0, 40));
      expect(answer.error?.code, name.slice(0, 40)).toBe(-32602);
      expect(answer.error.message.length).toBeLessThan(300);
    }
  });

  it('answers arguments of the wrong shape as a protocol or tool error', async () => {
    for (const args of [[], 'text', 42, null]) {
      const answer = expectRpcResult(await mcp(tokens.bob, call(guardedTool, args)), JSON.stringify(args));
      expect(answer.error?.code ?? (answer.result?.isError === true ? 'tool' : 'none')).not.toBe('none');
    }
    for (const args of [
      {},
      { token: 'guess' },
      { token: 'x', __proto__: { admin: true } },
      { constructor: 1 },
    ]) {
      const answer = expectRpcResult(await mcp(tokens.bob, call(guardedTool, args)), JSON.stringify(args));
      expect(answer.result.isError, JSON.stringify(args)).toBe(true);
    }
    const runs = await api('bob', 'GET', '/api/executions?limit=100');
    expect(runs.body.items.filter((run: { skillId: string }) => run.skillId === ids.guarded)).toEqual([]);
  });

  it('lets a client follow only its own runs: not its user’s other clients’, nor another tenant’s', async () => {
    const ticket = expectRpcResult(await mcp(tokens.alice, call(transferTool, { amount: 5 })));
    const runId = ticket.result.structuredContent.runId;
    expect(ticket.result.structuredContent.status).toBe('pending_approval');
    for (const [token, host] of [
      [tokens.bob, HOSTS.acme],
      [tokens.gina, HOSTS.globex],
    ] as const) {
      const answer = expectRpcResult(await mcp(token, call('get_run', { runId }), { host }));
      expect(answer.result.isError).toBe(true);
      expect(JSON.stringify(answer.result)).not.toContain('"amount"');
    }
    const own = expectRpcResult(await mcp(tokens.alice, call('get_run', { runId, waitSeconds: 1e9 })));
    expect(own.result.structuredContent.status).toBe('pending_approval');
    ids.aliceRun = runId;
  });

  it('keeps approvals human: an agent’s user cannot approve the run the agent asked for', async () => {
    const self = await api('alice', 'POST', `/api/executions/${ids.aliceRun}/approve`, {});
    expectProblem(self, 403);
    // The client token cannot reach the approval route at all.
    const viaClient = await t.send({
      host: HOSTS.acme,
      path: `/api/executions/${ids.aliceRun}/approve`,
      method: 'POST',
      token: tokens.alice,
      body: {},
    });
    expectProblem(viaClient, 401);
    const approved = await api('bob', 'POST', `/api/executions/${ids.aliceRun}/approve`, {});
    expect(approved.status, approved.text).toBe(200);
    const run = await api('alice', 'GET', `/api/executions/${ids.aliceRun}`);
    expect(run.body.input).toEqual({ amount: 5 });
  });
});

describe('a fast-check pass over JSON-RPC messages with a valid token', () => {
  it('answers every message with JSON-RPC or a problem+json 4xx, never a 5xx', async () => {
    const method = fc.oneof(
      fc.constantFrom(
        'initialize',
        'tools/list',
        'tools/call',
        'ping',
        'notifications/initialized',
        'logging/setLevel',
      ),
      fc.string({ maxLength: 40 }),
    );
    const params = fc.oneof(
      fc.dictionary(fc.string({ maxLength: 12 }), fc.jsonValue({ maxDepth: 3 }), { maxKeys: 5 }),
      fc.record({
        name: fc.oneof(fc.constantFrom(guardedTool, transferTool, 'get_run'), fc.string({ maxLength: 80 })),
        arguments: fc.oneof(
          fc.dictionary(fc.string({ maxLength: 12 }), fc.jsonValue({ maxDepth: 3 })),
          fc.jsonValue(),
        ),
      }),
      fc.record({
        protocolVersion: fc.oneof(fc.constantFrom('2025-11-25', '2025-06-18', '2024-11-05'), fc.string()),
        capabilities: fc.dictionary(fc.string({ maxLength: 8 }), fc.jsonValue({ maxDepth: 2 })),
        clientInfo: fc.record({ name: fc.string(), version: fc.string() }),
      }),
    );
    const id = fc.oneof(fc.integer(), fc.string({ maxLength: 30 }), fc.constant(null));
    let runs = 0;
    await fc.assert(
      fc.asyncProperty(method, params, fc.option(id, { nil: undefined }), async (name, values, requestId) => {
        runs++;
        const body = {
          jsonrpc: '2.0',
          method: name,
          params: values,
          ...(requestId === undefined ? {} : { id: requestId }),
        };
        // Transfer runs need an approval, so a lucky call only ever leaves a pending run.
        const response = await mcp(tokens.bob, body);
        const where = `${JSON.stringify(body).slice(0, 200)} → ${response.status} ${response.text.slice(0, 200)}`;
        expect(response.status, where).toBeLessThan(500);
        if (response.status >= 400) {
          expect(response.headers['content-type'], where).toBe('application/problem+json');
        } else if (response.status === 200) {
          expect(response.body.jsonrpc, where).toBe('2.0');
        } else {
          expect(response.status, where).toBe(202);
        }
      }),
      { numRuns: 300 },
    );
    expect(runs).toBe(300);
  });

  it('leaves the SDK client working afterwards', async () => {
    const client = await connectMcp(t.platform.url, HOSTS.acme, tokens.bob ?? '');
    expect((await client.listTools()).tools.map((tool) => tool.title).sort()).toEqual([
      'Follow a run',
      'Guarded',
      'Transfer',
    ]);
    await client.close();
  });
});
