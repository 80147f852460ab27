/**
 * Issue 6 end to end through the local platform: HTTP resources governed from the public domain
 * (configuration, credential, grants, trial runs), bound by tenant Skills and run by the
 * http-executor against a real HTTP server this file starts on loopback — the credential arriving
 * there, every refusal (ungranted tenant, path outside the allowance, write on a read-only
 * resource, redirect to another host, private and loopback addresses), rotation with the previous
 * version kept until the new one works, audit, and that no secret ever shows up anywhere: not in an
 * API answer, a log line of the platform, this process's stdout/stderr, the table or the disk.
 */
import { once } from 'node:events';
import { readdirSync, readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { ScanCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { documentClient } from '../../functions/clients/dynamodb.ts';
import { ENV } from '../../functions/core/env.ts';
import { type LocalPlatform, startLocalPlatform } from '../../lib/local/platform.ts';
import { call, type TestResponse } from '../support/http.ts';
import { expectProblem, HOSTS, problemType } from '../support/platform.ts';
import { settled, signIn, waitForRun } from '../support/session.ts';

const PASSWORD = 'http-assets-test-password';
const SECRET_ONE = 'sk-live-ONE-4f1c9a7d2e6b8035';
const SECRET_TWO = 'sk-live-TWO-b7e2d40c19f5a863';
const SECRET_THREE = 'sk-live-THREE-0a9d8c7b6e5f4321';
const SECRET_FOUR = 'sk-live-FOUR-5e4d3c2b1a0f9876';
const SECRETS = [SECRET_ONE, SECRET_TWO, SECRET_THREE, SECRET_FOUR];

// ── what leaves this process: every API answer, every platform log line, stdout and stderr ──────
const answers: string[] = [];
const captured: string[] = [];
const restoreStreams: (() => void)[] = [];

function captureStreams(): void {
  for (const stream of [process.stdout, process.stderr]) {
    const write = stream.write.bind(stream);
    stream.write = ((chunk: string | Uint8Array, ...rest: never[]) => {
      captured.push(typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8'));
      return write(chunk, ...rest);
    }) as typeof stream.write;
    restoreStreams.push(() => {
      stream.write = write;
    });
  }
}

// ── the upstream API, on loopback ───────────────────────────────────────────────────────────────
let upstream: Server;
let upstreamPort: number;
let connections = 0;
const accepted = new Set<string>([SECRET_ONE]);
const received: { method: string; url: string; authorization: string | undefined }[] = [];

function respond(request: IncomingMessage, response: ServerResponse): void {
  const url = new URL(request.url ?? '/', 'http://upstream');
  received.push({
    method: request.method ?? '',
    url: url.pathname + url.search,
    authorization: request.headers.authorization,
  });
  const json = (status: number, value: unknown) => {
    response.writeHead(status, { 'content-type': 'application/json' });
    response.end(JSON.stringify(value));
  };
  const redirect = (location: string) => {
    response.writeHead(302, { location });
    response.end();
  };
  const token = (request.headers.authorization ?? '').replace(/^Bearer /, '');
  if (!accepted.has(token)) {
    json(401, { error: 'invalid token' });
    return;
  }
  const customer = /^\/v1\/customers\/([^/]+)$/.exec(url.pathname);
  if (customer !== null) {
    json(200, {
      id: decodeURIComponent(customer[1] ?? ''),
      name: 'Ada Lovelace',
      fields: url.searchParams.get('fields'),
    });
    return;
  }
  const routes: Record<string, () => void> = {
    '/v1/echo': () => json(200, { youSent: request.headers.authorization, note: `token was ${token}` }),
    '/v1/moved/7': () => redirect('/v1/customers/7'),
    '/v1/elsewhere': () => redirect(`http://localhost:${upstreamPort}/v1/customers/1`),
    '/v1/missing': () => json(404, { error: 'no such thing' }),
    '/v1/html': () => {
      response.writeHead(200, { 'content-type': 'text/html' });
      response.end('<html>not json</html>');
    },
  };
  (routes[url.pathname] ?? (() => json(404, { error: 'unknown route' })))();
}

// ── the platform ────────────────────────────────────────────────────────────────────────────────
let platform: LocalPlatform;
let admin: string;
let alice: string;
let bob: string;
let gina: string;

function login(host: string, username: string): Promise<string> {
  return signIn(platform.url, host, username, PASSWORD);
}

async function api(
  host: string,
  token: string,
  method: string,
  path: string,
  body?: unknown,
): Promise<TestResponse> {
  const response = await call(platform.url, {
    host,
    token,
    method,
    path,
    ...(body === undefined ? {} : { body }),
  });
  answers.push(`${response.status} ${JSON.stringify(response.headers)} ${response.text}`);
  return response;
}

const governance = (method: string, path: string, body?: unknown) =>
  api(HOSTS.admin, admin, method, path, body);

interface ResourceOptions {
  readonly baseUrl?: string;
  readonly methods?: string[];
  readonly paths?: string[];
  readonly writeAllowed?: boolean;
  readonly localDevelopment?: boolean;
  readonly name?: string;
}

async function createResource(options: ResourceOptions = {}): Promise<string> {
  const response = await governance('POST', '/api/http-resources', {
    name: options.name ?? 'Customer API',
    description: 'Read customers from the CRM',
    baseUrl: options.baseUrl ?? `http://127.0.0.1:${upstreamPort}/v1`,
    methods: options.methods ?? ['GET'],
    paths: options.paths ?? ['/customers/*', '/echo', '/moved/*', '/elsewhere', '/missing', '/html'],
    writeAllowed: options.writeAllowed ?? false,
    auth: { scheme: 'bearer' },
    timeoutSeconds: 5,
    localDevelopment: options.localDevelopment ?? true,
  });
  expect(response.status, response.text).toBe(201);
  expect(response.body.id).toMatch(/^hr-[a-z0-9]{12}$/);
  return response.body.id;
}

async function putCredential(id: string, value: string): Promise<TestResponse> {
  const response = await governance('PUT', `/api/http-resources/${id}/credential`, { value });
  expect(response.status, response.text).toBe(204);
  expect(response.text).toBe('');
  return response;
}

async function grant(id: string, tenantIds: string[]): Promise<void> {
  const response = await governance('POST', `/api/http-resources/${id}/grants`, { tenantIds });
  expect(response.status, response.text).toBe(200);
}

const customerSchemas = {
  inputSchema: {
    type: 'object',
    properties: { id: { type: 'string' }, fields: { type: 'string' } },
    required: ['id'],
  },
  outputSchema: {
    type: 'object',
    properties: { id: { type: 'string' }, name: { type: 'string' } },
    required: ['id', 'name'],
  },
};

async function saveSkill(
  host: string,
  token: string,
  asset: Record<string, unknown>,
  extra: Record<string, unknown> = {},
): Promise<TestResponse> {
  return api(host, token, 'POST', '/api/skills', {
    name: 'Look up a customer',
    description: 'From the CRM',
    ...customerSchemas,
    risk: 'low',
    asset: { kind: 'http', ...asset },
    limits: { timeoutSeconds: 10 },
    ...extra,
  });
}

async function createSkill(
  resourceId: string,
  request: Record<string, unknown>,
  extra: Record<string, unknown> = {},
) {
  const response = await saveSkill(HOSTS.acme, alice, { id: resourceId, request }, extra);
  expect(response.status, response.text).toBe(201);
  return String(response.body.id);
}

async function run(skillId: string, input: unknown): Promise<string> {
  const response = await api(HOSTS.acme, bob, 'POST', `/api/skills/${skillId}/executions`, { input });
  expect(response.status, response.text).toBe(202);
  return String(response.body.id);
}

function waitFor(id: string, done = settled) {
  return waitForRun({ url: platform.url, host: HOSTS.acme, token: alice }, id, {
    until: done,
    timeoutMs: 30_000,
  });
}

async function runToEnd(skillId: string, input: unknown) {
  return waitFor(await run(skillId, input));
}

beforeAll(async () => {
  captureStreams();
  upstream = createServer(respond);
  upstream.on('connection', () => {
    connections++;
  });
  upstream.listen(0, '127.0.0.1');
  await once(upstream, 'listening');
  upstreamPort = (upstream.address() as AddressInfo).port;
  platform = await startLocalPlatform({
    port: 0,
    dataDir: null,
    schedules: false,
    demoPassword: PASSWORD,
    logLevel: 'DEBUG', // every log line the functions can write is captured
    log: (line) => captured.push(line),
  });
  [admin, alice, bob, gina] = await Promise.all([
    login(HOSTS.admin, 'admin'),
    login(HOSTS.acme, 'alice'),
    login(HOSTS.acme, 'bob'),
    login(HOSTS.globex, 'gina'),
  ]);
});

afterAll(async () => {
  await platform?.stop();
  upstream?.closeAllConnections();
  await new Promise((resolve) => upstream?.close(resolve));
  for (const restore of restoreStreams.splice(0)) restore();
});

describe('governance of HTTP resources', () => {
  it('creates, lists, reads and changes a resource; every change bumps its version', async () => {
    const id = await createResource({ name: 'Governed API' });
    const listed = await governance('GET', '/api/http-resources');
    expect(listed.status).toBe(200);
    expect(listed.body.items.map((item: { id: string }) => item.id)).toContain(id);
    const one = await governance('GET', `/api/http-resources/${id}`);
    expect(one.body).toMatchObject({
      id,
      version: 1,
      baseUrl: `http://127.0.0.1:${upstreamPort}/v1`,
      methods: ['GET'],
      writeAllowed: false,
      localDevelopment: true,
      credential: { configured: false },
      grants: [],
    });
    const changed = await governance('PATCH', `/api/http-resources/${id}`, { description: 'Now with more' });
    expect(changed.status, changed.text).toBe(200);
    expect(changed.body).toMatchObject({ version: 2, description: 'Now with more' });
    const stale = await governance('PATCH', `/api/http-resources/${id}`, { description: 'x', version: 1 });
    expectProblem(stale, 409, 'stale version');
    expectProblem(await governance('GET', '/api/http-resources/hr-000000000000'), 404);
  });

  it('refuses configurations outside the rules, saying which field', async () => {
    const base = {
      name: 'Bad',
      baseUrl: `http://127.0.0.1:${upstreamPort}/v1`,
      methods: ['GET'],
      paths: ['/x/*'],
      writeAllowed: false,
      auth: { scheme: 'bearer' },
      localDevelopment: true,
    };
    const cases: [Record<string, unknown>, string][] = [
      [{ methods: ['GET', 'POST'] }, 'methods'],
      [{ localDevelopment: false }, 'baseUrl'],
      [{ baseUrl: 'https://user:pw@api.example.com/' }, 'baseUrl'],
      [{ baseUrl: 'https://api.example.com/?token=1' }, 'baseUrl'],
      [{ baseUrl: 'ftp://api.example.com/' }, 'baseUrl'],
      [{ paths: ['/a/../b'] }, 'paths.0'],
      [{ paths: ['/a/**/b'] }, 'paths.0'],
      [{ auth: { scheme: 'header' } }, 'auth.header'],
      [{ auth: { scheme: 'header', header: 'Host' } }, 'auth.header'],
      [{ timeoutSeconds: 3600 }, 'timeoutSeconds'],
    ];
    for (const [change, field] of cases) {
      const response = await governance('POST', '/api/http-resources', { ...base, ...change });
      expectProblem(response, 422, JSON.stringify(change));
      expect(
        response.body.errors.map((error: { path: string }) => error.path),
        JSON.stringify(change),
      ).toContain(field);
    }
  });

  it('is public-domain only: tenants have read-only summaries, and nothing of governance', async () => {
    expectProblem(await api(HOSTS.acme, alice, 'POST', '/api/http-resources', {}), 405, 'tenant POST');
    expectProblem(
      await api(HOSTS.acme, alice, 'PUT', '/api/http-resources/hr-000000000000/credential', {}),
      404,
    );
    expectProblem(
      await api(HOSTS.acme, bob, 'GET', '/api/http-resources'),
      403,
      'operator without skill:manage',
    );
    expectProblem(await api(HOSTS.free, admin, 'GET', '/api/http-resources'), [401, 404], 'free entry');
  });
});

describe('credential, grants and a granted Skill end to end', () => {
  let resourceId: string;
  let skillId: string;

  beforeAll(async () => {
    resourceId = await createResource();
    await putCredential(resourceId, SECRET_ONE);
    await grant(resourceId, ['acme']);
  });

  it('never answers with the credential, only with its state', async () => {
    const shown = await governance('GET', `/api/http-resources/${resourceId}`);
    expect(shown.body.credential).toMatchObject({ configured: true, confirmed: false, previousKept: false });
    expect(shown.body.credential.version).toEqual(expect.any(String));
    expect(shown.text).not.toContain(SECRET_ONE);
    const tooShort = await governance('PUT', `/api/http-resources/${resourceId}/credential`, {
      value: 'short',
    });
    expectProblem(tooShort, 422);
    expect(tooShort.text).not.toContain('short"');
  });

  it('shows the tenant a summary of what it was granted, and nothing else', async () => {
    const summaries = await api(HOSTS.acme, alice, 'GET', '/api/http-resources');
    expect(summaries.status).toBe(200);
    const mine = summaries.body.items.find((item: { id: string }) => item.id === resourceId);
    expect(mine).toEqual({
      id: resourceId,
      name: 'Customer API',
      description: 'Read customers from the CRM',
      methods: ['GET'],
      // The patterns a Skill's path must match: without them an author only learns them from refusals.
      paths: ['/customers/*', '/echo', '/moved/*', '/elsewhere', '/missing', '/html'],
      state: 'active',
    });
    expect(summaries.text).not.toContain('127.0.0.1');
    expect(summaries.text).not.toMatch(/authorization|bearer/i);
    const globex = await api(HOSTS.globex, gina, 'GET', '/api/http-resources');
    expect(globex.body.items).toEqual([]);
    expectProblem(
      await governance('POST', `/api/http-resources/${resourceId}/grants`, { tenantIds: ['nope-nope'] }),
      422,
    );
  });

  it('runs a granted Skill: the credential arrives upstream, the JSON answer is the output', async () => {
    skillId = await createSkill(resourceId, {
      method: 'GET',
      path: '/customers/{input.id}',
      query: { fields: '{input.fields}' },
    });
    received.length = 0;
    const execution = await runToEnd(skillId, { id: 'c 42&x', fields: 'name,tier' });
    expect(execution.status, JSON.stringify(execution)).toBe('succeeded');
    expect(execution.output).toEqual({ id: 'c 42&x', name: 'Ada Lovelace', fields: 'name,tier' });
    expect(execution.asset).toMatchObject({ kind: 'http', id: resourceId, version: 1 });
    expect(received).toEqual([
      {
        method: 'GET',
        url: '/v1/customers/c%2042%26x?fields=name%2Ctier',
        authorization: `Bearer ${SECRET_ONE}`,
      },
    ]);
    expect(execution.logs.stdout).toMatch(/GET \/customers\/c%2042%26x → 200/);
    // An optional query parameter the input does not have is left out.
    received.length = 0;
    expect(await runToEnd(skillId, { id: '43' })).toMatchObject({
      status: 'succeeded',
      output: { fields: null },
    });
    expect(received.map((request) => request.url)).toEqual(['/v1/customers/43']);
  });

  it('keeps a request template whose parameters are named like object properties, and sends them', async () => {
    // A marshaller took a map with a `constructor` key for a class instance: the Skill was a 500.
    const named = await createSkill(resourceId, {
      method: 'GET',
      path: '/customers/{input.id}',
      query: { constructor: '{input.fields}', toString: 'x' },
    });
    const read = await api(HOSTS.acme, alice, 'GET', `/api/skills/${named}`);
    expect(read.status, read.text).toBe(200);
    expect(Object.keys(read.body.asset.request.query)).toEqual(['constructor', 'toString']);
    received.length = 0;
    const execution = await runToEnd(named, { id: '7', fields: 'name' });
    expect(execution.status, JSON.stringify(execution)).toBe('succeeded');
    expect(received.map((item) => item.url)).toEqual(['/v1/customers/7?constructor=name&toString=x']);
  });

  it('redacts a credential the upstream echoes back from the run output', async () => {
    const echo = await createSkill(
      resourceId,
      { method: 'GET', path: '/echo' },
      { outputSchema: { type: 'object' } },
    );
    const execution = await runToEnd(echo, { id: 'x' });
    expect(execution.status).toBe('succeeded');
    expect(execution.output).toEqual({ youSent: 'Bearer [redacted]', note: 'token was [redacted]' });
  });

  it('fails runs on non-2xx answers and non-JSON bodies, with the reason', async () => {
    const missing = await runToEnd(
      await createSkill(resourceId, { method: 'GET', path: '/missing' }, { outputSchema: {} }),
      { id: 'x' },
    );
    expect(missing).toMatchObject({
      status: 'failed',
      error: { type: 'HttpStatus', message: 'The upstream answered 404 Not Found' },
    });
    const html = await runToEnd(
      await createSkill(resourceId, { method: 'GET', path: '/html' }, { outputSchema: {} }),
      {
        id: 'x',
      },
    );
    expect(html).toMatchObject({ status: 'failed', error: { type: 'ResponseNotJson' } });
  });

  it('follows a redirect on the resource itself', async () => {
    const moved = await createSkill(resourceId, { method: 'GET', path: '/moved/{input.id}' });
    const execution = await runToEnd(moved, { id: '7' });
    expect(execution).toMatchObject({ status: 'succeeded', output: { id: '7' } });
  });

  it('refuses a redirect to another host without following it', async () => {
    const away = await createSkill(resourceId, { method: 'GET', path: '/elsewhere' }, { outputSchema: {} });
    received.length = 0;
    const execution = await runToEnd(away, { id: 'x' });
    expect(execution).toMatchObject({ status: 'failed', error: { type: 'RedirectRefused' } });
    expect(received.map((request) => request.url)).toEqual(['/v1/elsewhere']);
  });

  it('refuses at run time an input that would climb out of the path, before any request', async () => {
    received.length = 0;
    const execution = await runToEnd(skillId, { id: '..' });
    expect(execution).toMatchObject({ status: 'failed', error: { type: 'HttpRequestRefused' } });
    expect(execution.error.message).toMatch(/\. or \.\./);
    // `..;` is `..` to Tomcat, Spring and Jetty; an encoded `/` or `?` is a separator to a server that decodes.
    const parameter = await runToEnd(skillId, { id: '..;' });
    expect(parameter).toMatchObject({ status: 'failed', error: { type: 'HttpRequestRefused' } });
    expect(parameter.error.message).toMatch(/request path may not contain \. or \.\./);
    const separator = await runToEnd(skillId, { id: 'x/admin?' });
    expect(separator).toMatchObject({ status: 'failed', error: { type: 'HttpRequestRefused' } });
    expect(separator.error.message).toMatch(/request path may not hold an encoded/);
    // A trailing NUL or space (trimmed by IIS and Windows), fullwidth dots (`..` after NFKC), only
    // dots, a double encoding.
    for (const [id, message] of [
      ['..\u0000', /control character/],
      ['.. ', /\. or \.\./],
      ['．．', /\. or \.\./],
      ['...', /\. or \.\./],
      ['%2e%2e', /double-encoded/],
    ] as const) {
      const execution = await runToEnd(skillId, { id });
      expect(execution, JSON.stringify(id)).toMatchObject({
        status: 'failed',
        error: { type: 'HttpRequestRefused' },
      });
      expect(execution.error.message, JSON.stringify(id)).toMatch(message);
    }
    expect(received).toEqual([]);
  });

  it('refuses a Skill of an ungranted tenant, outside the allowance, or writing to a read-only resource', async () => {
    const ungranted = await saveSkill(HOSTS.globex, gina, {
      id: resourceId,
      request: { method: 'GET', path: '/customers/{input.id}' },
    });
    expectProblem(ungranted, 422, 'ungranted tenant');
    expect(ungranted.body.detail).toMatch(/not available to this tenant/);
    expect(ungranted.text).not.toContain('127.0.0.1');

    const outside = await saveSkill(HOSTS.acme, alice, {
      id: resourceId,
      request: { method: 'GET', path: '/admin/{input.id}' },
    });
    expectProblem(outside, 422, 'path outside');
    expect(outside.body.errors).toEqual([
      {
        path: 'asset.request.path',
        message: 'outside the paths this resource allows (a placeholder must fill a whole * segment)',
      },
    ]);

    const write = await saveSkill(HOSTS.acme, alice, {
      id: resourceId,
      request: { method: 'POST', path: '/customers/{input.id}', body: { note: '{input.fields}' } },
    });
    expectProblem(write, 422, 'write on read-only');
    expect(write.body.errors[0].message).toMatch(/not among the methods|read-only/);

    const traversal = await saveSkill(HOSTS.acme, alice, {
      id: resourceId,
      request: { method: 'GET', path: '/customers/../admin' },
    });
    expectProblem(traversal, 422, 'dot segments in the template');

    // A `_method` parameter or body field: Rails, Laravel and Symfony would read another method.
    const overrideQuery = await saveSkill(HOSTS.acme, alice, {
      id: resourceId,
      request: { method: 'GET', path: '/customers/{input.id}', query: { _method: 'DELETE' } },
    });
    expectProblem(overrideQuery, 422, 'a _method query parameter');
    expect(overrideQuery.body.errors).toEqual([
      { path: 'asset.request.query', message: expect.stringMatching(/"_method".*another method/) },
    ]);
    const overrideBody = await saveSkill(HOSTS.acme, alice, {
      id: resourceId,
      request: { method: 'POST', path: '/customers/{input.id}', body: { _method: '{input.verb}' } },
    });
    expectProblem(overrideBody, 422, 'a _method body field');
    expect(overrideBody.body.errors).toEqual([
      { path: 'asset.request.body', message: expect.stringMatching(/"_method".*another method/) },
    ]);
  });

  it('lets a super-admin try the resource from the public domain only', async () => {
    received.length = 0;
    const trial = await governance('POST', `/api/http-resources/${resourceId}/trial`, {
      method: 'GET',
      path: '/customers/9',
      query: { fields: 'name' },
    });
    expect(trial.status, trial.text).toBe(200);
    expect(trial.body).toMatchObject({
      status: 200,
      headers: { 'content-type': 'application/json' },
      body: { id: '9', name: 'Ada Lovelace', fields: 'name' },
      truncated: false,
      credential: { confirmed: true },
    });
    expect(received[0]?.authorization).toBe(`Bearer ${SECRET_ONE}`);
    // The console reads the list: it shows the confirmation the trial made, as the resource does.
    const listed = await governance('GET', '/api/http-resources');
    const shown = listed.body.items.find((item: { id: string }) => item.id === resourceId);
    expect(shown.credential).toMatchObject({ configured: true, confirmed: true, previousKept: false });
    expect((await governance('GET', `/api/http-resources/${resourceId}`)).body.credential).toMatchObject({
      confirmed: true,
    });
    const echoed = await governance('POST', `/api/http-resources/${resourceId}/trial`, {
      method: 'GET',
      path: '/echo',
    });
    expect(echoed.body.body).toEqual({ youSent: 'Bearer [redacted]', note: 'token was [redacted]' });

    const outside = await governance('POST', `/api/http-resources/${resourceId}/trial`, {
      method: 'GET',
      path: '/admin',
    });
    expectProblem(outside, 422, 'trial outside the allowance');
    const write = await governance('POST', `/api/http-resources/${resourceId}/trial`, {
      method: 'DELETE',
      path: '/customers/9',
    });
    expectProblem(write, 422, 'trial write on a read-only resource');
    received.length = 0;
    for (const [label, request] of Object.entries({
      'a trailing space': { method: 'GET', path: '/customers/..%20' },
      'fullwidth dots': { method: 'GET', path: '/customers/%EF%BC%8E%EF%BC%8E' },
      'a NUL': { method: 'GET', path: '/customers/..%00' },
      'a double encoding': { method: 'GET', path: '/customers/..%2500' },
      'a _method parameter': { method: 'GET', path: '/customers/9', query: { _method: 'DELETE' } },
    })) {
      const refused = await governance('POST', `/api/http-resources/${resourceId}/trial`, request);
      expectProblem(refused, 422, `trial with ${label}`);
    }
    expect(received).toEqual([]);
    expectProblem(
      await api(HOSTS.acme, alice, 'POST', `/api/http-resources/${resourceId}/trial`, {
        method: 'GET',
        path: '/echo',
      }),
      [404, 405],
      'trial from a tenant host',
    );
  });

  it('invalidates a pending approval when the resource changes, and stops runs when the grant is revoked', async () => {
    const guarded = await createSkill(
      resourceId,
      { method: 'GET', path: '/customers/{input.id}' },
      { risk: 'medium' },
    );
    const pendingId = await run(guarded, { id: '1' });
    await waitFor(pendingId, (status) => status === 'pending_approval');
    const changed = await governance('PATCH', `/api/http-resources/${resourceId}`, { timeoutSeconds: 6 });
    expect(changed.status).toBe(200);
    const cancelled = await waitFor(pendingId);
    expect(cancelled).toMatchObject({ status: 'cancelled', error: { type: 'ApprovalInvalidated' } });

    const revoked = await governance('DELETE', `/api/http-resources/${resourceId}/grants/acme`);
    expect(revoked.status).toBe(204);
    expect((await api(HOSTS.acme, alice, 'GET', '/api/http-resources')).body.items).toEqual([]);
    const refused = await api(HOSTS.acme, bob, 'POST', `/api/skills/${skillId}/executions`, {
      input: { id: '1' },
    });
    expectProblem(refused, 404, 'run after revocation');
    await grant(resourceId, ['acme']);
    const again = await runToEnd(skillId, { id: '2' });
    expect(again.status, JSON.stringify(again)).toBe('succeeded');
  });
});

describe('rotation keeps the previous version until the new one works', () => {
  let resourceId: string;
  let skillId: string;

  const credentialState = async () =>
    (await governance('GET', `/api/http-resources/${resourceId}`)).body.credential;

  beforeAll(async () => {
    accepted.clear();
    accepted.add(SECRET_ONE);
    resourceId = await createResource({ name: 'Rotating API' });
    await putCredential(resourceId, SECRET_ONE);
    await grant(resourceId, ['acme']);
    skillId = await createSkill(resourceId, { method: 'GET', path: '/customers/{input.id}' });
  });

  it('falls back to the previous version while the upstream does not accept the new one yet', async () => {
    const first = await credentialState();
    await putCredential(resourceId, SECRET_TWO);
    const second = await credentialState();
    expect(second).toMatchObject({ previousKept: true, previousVersion: first.version, confirmed: false });
    received.length = 0;
    const execution = await runToEnd(skillId, { id: '5' });
    expect(execution.status, JSON.stringify(execution)).toBe('succeeded');
    expect(execution.metrics.credential).toMatchObject({ stage: 'previous', version: first.version });
    expect(execution.logs.stdout).toMatch(
      /current credential was refused \(401\); retried with the previous version/,
    );
    expect(received.map((request) => request.authorization)).toEqual([
      `Bearer ${SECRET_TWO}`,
      `Bearer ${SECRET_ONE}`,
    ]);
  });

  it('drops the previous version once the new one has worked', async () => {
    accepted.clear();
    accepted.add(SECRET_TWO);
    const trial = await governance('POST', `/api/http-resources/${resourceId}/trial`, {
      method: 'GET',
      path: '/customers/1',
    });
    expect(trial.body).toMatchObject({ status: 200, credential: { confirmed: true } });
    expect(await credentialState()).toMatchObject({ confirmed: true, previousKept: false });
    const execution = await runToEnd(skillId, { id: '6' });
    expect(execution.metrics.credential.stage).toBe('current');
  });

  it('keeps the last version that worked when a rotation never worked and another follows', async () => {
    const proven = (await credentialState()).version;
    await putCredential(resourceId, SECRET_THREE); // never accepted upstream
    await putCredential(resourceId, SECRET_FOUR);
    expect(await credentialState()).toMatchObject({ previousVersion: proven, confirmed: false });
    received.length = 0;
    const execution = await runToEnd(skillId, { id: '8' });
    expect(execution).toMatchObject({
      status: 'succeeded',
      metrics: { credential: { stage: 'previous', version: proven } },
    });
    expect(received.map((request) => request.authorization)).toEqual([
      `Bearer ${SECRET_FOUR}`,
      `Bearer ${SECRET_TWO}`,
    ]);
  });

  it('can drop the previous version on demand; a refused credential then fails the run', async () => {
    expect((await governance('DELETE', `/api/http-resources/${resourceId}/credential/previous`)).status).toBe(
      204,
    );
    expect(await credentialState()).toMatchObject({ previousKept: false });
    const execution = await runToEnd(skillId, { id: '9' });
    expect(execution).toMatchObject({
      status: 'failed',
      error: { type: 'HttpStatus', message: 'The upstream answered 401 Unauthorized' },
    });
    expectProblem(await governance('DELETE', `/api/http-resources/${resourceId}/credential/previous`), 404);
  });
});

describe('outbound safety: private, loopback and metadata addresses are refused before connecting', () => {
  const targets = () => [
    `https://127.0.0.1:${upstreamPort}/v1`,
    'https://10.0.0.1/v1',
    'https://169.254.169.254/latest',
    `https://[::1]:${upstreamPort}/v1`,
    `https://[::ffff:127.0.0.1]:${upstreamPort}/v1`,
    `https://localhost:${upstreamPort}/v1`,
  ];

  it('refuses every trial to them with a clear error, and nothing reaches the loopback server', async () => {
    const before = connections;
    for (const baseUrl of targets()) {
      const id = await createResource({ baseUrl, localDevelopment: false, name: `Internal ${baseUrl}` });
      await putCredential(id, SECRET_ONE);
      const trial = await governance('POST', `/api/http-resources/${id}/trial`, {
        method: 'GET',
        path: '/customers/1',
      });
      expectProblem(trial, 403, baseUrl);
      expect(trial.body.type, baseUrl).toBe(problemType('outbound-address-refused'));
      expect(trial.body.detail, baseUrl).toMatch(
        /^The resource's host (is|resolves to) a (loopback|private|metadata) address( \([^)]*\))?; requests to it are refused$/,
      );
    }
    expect(connections).toBe(before);
  });

  it('fails a tenant run against one, and nothing reaches the loopback server', async () => {
    const id = await createResource({
      baseUrl: `https://127.0.0.1:${upstreamPort}/v1`,
      localDevelopment: false,
    });
    await putCredential(id, SECRET_ONE);
    await grant(id, ['acme']);
    const skill = await createSkill(id, { method: 'GET', path: '/customers/{input.id}' });
    const before = connections;
    const execution = await runToEnd(skill, { id: '1' });
    expect(execution).toMatchObject({ status: 'failed', error: { type: 'OutboundAddressRefused' } });
    expect(execution.error.message).toBe(
      "The resource's host is a loopback address; requests to it are refused",
    );
    expect(connections).toBe(before);
  });
});

describe('audit', () => {
  async function chain(host: string, token: string) {
    const entries: { action: string; target: string; details: Record<string, unknown> }[] = [];
    let cursor: string | undefined;
    do {
      const response = await api(
        host,
        token,
        'GET',
        `/api/audit?limit=100${cursor ? `&cursor=${cursor}` : ''}`,
      );
      expect(response.status).toBe(200);
      entries.push(...response.body.items);
      cursor = response.body.cursor;
    } while (cursor !== undefined);
    return entries;
  }

  it('records configuration changes, grants, rotations, trials and every credential use in the public chain', async () => {
    const entries = await chain(HOSTS.admin, admin);
    const actions = new Set(entries.map((entry) => entry.action));
    for (const action of [
      'http-resource.created',
      'http-resource.updated',
      'http-resource.credential.set',
      'http-resource.credential.rotated',
      'http-resource.credential.confirmed',
      'http-resource.credential.previous-dropped',
      'http-resource.granted',
      'http-resource.revoked',
      'http-resource.trial',
      'http-resource.credential.used',
    ]) {
      expect(actions, action).toContain(action);
    }
    const use = entries.find((entry) => entry.action === 'http-resource.credential.used');
    expect(use?.details).toMatchObject({ tenantId: 'acme', executionId: expect.stringMatching(/^ex-/) });
    const verified = await governance('GET', '/api/audit/verify');
    expect(verified.body.valid).toBe(true);
  });

  it('records the execution transitions in the tenant chain, as for scripts', async () => {
    const actions = new Set((await chain(HOSTS.acme, alice)).map((entry) => entry.action));
    // Runs that need no approval are written `queued` with their request (no `execution.queued`).
    for (const action of ['execution.requested', 'execution.running', 'execution.succeeded']) {
      expect(actions, action).toContain(action);
    }
  });
});

describe('the secret never shows', () => {
  it('appears in no API answer, log line, stdout/stderr write, table item or file of the credential store', async () => {
    expect(answers.length).toBeGreaterThan(50);
    expect(captured.length).toBeGreaterThan(0);
    const table = {
      client: documentClient(platform.env),
      name: platform.services.tableName,
    };
    const items: unknown[] = [];
    let start: Record<string, unknown> | undefined;
    do {
      const page = await table.client.send(
        new ScanCommand({
          TableName: table.name,
          ...(start === undefined ? {} : { ExclusiveStartKey: start }),
        }),
      );
      items.push(...(page.Items ?? []));
      start = page.LastEvaluatedKey;
    } while (start !== undefined);
    table.client.destroy();
    const dir = platform.env[ENV.credentialStoreDir] ?? '';
    expect(dir).not.toBe('');
    const files = readdirSync(dir).map((name) => readFileSync(join(dir, name)).toString('latin1'));
    expect(files.length).toBeGreaterThan(1);

    const places: Record<string, string> = {
      answers: answers.join('\n'),
      logs: captured.join('\n'),
      table: JSON.stringify(items, (_key, value: unknown) => (value instanceof Set ? [...value] : value)),
      files: files.join('\n'),
    };
    // The capture does see the functions' own log lines (the executor logs each credential use).
    expect(places.logs).toContain('Credential used');
    for (const [where, text] of Object.entries(places)) {
      for (const secret of SECRETS) expect(text.includes(secret), `${secret} in ${where}`).toBe(false);
    }
  });
});
