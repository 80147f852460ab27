/**
 * `ctx.http`, tried as an attacker would, from inside a tenant's script run through the real local
 * platform, against an upstream on loopback that carelessly echoes what it is sent (a
 * `localDevelopment` resource, granted to acme). The credential is injected at egress and must
 * never reach the script, whatever shape the echo takes: cut by the response-size cap, spelled with
 * the JSON escapes real serialisers use (Go's `\u0026`, PHP's `\/`), percent-encoded in lowercase,
 * the whole header base64-encoded, or in the status line of a failed answer that a tenant user
 * reads in the run's error and logs. A script cannot step around the resource's read-only boundary
 * with a method-override header, nor out of its allowed paths with `..;` (`..` to Tomcat, Spring
 * and Jetty), a trailing space or NUL (trimmed by IIS and Windows), fullwidth dots or an encoded
 * separator, directly or through a redirect; nor send a `_method` parameter or a header a proxy or
 * framework trusts as its own (`x-middleware-subrequest`, `x-remote-addr`…). And a resource whose base URL
 * names this machine in any spelling (decimal, octal, hex, short, IPv4-mapped, unspecified, a name
 * that resolves to loopback) or the metadata endpoints is never connected to, by a trial or a run.
 */
import { once } from 'node:events';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import { type AddressInfo, createServer as createNetServer, type Server as NetServer } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { grantedResource } from '../support/http-resources.ts';
import { HOSTS, startTestPlatform, type TestPlatform } from '../support/platform.ts';
import { type Runner, runner } from '../support/runs.ts';

const PASSWORD = 'attacks-egress-test-password';
/** Holds the characters serialisers escape: `/` (PHP), `&`, `<`, `>` (Go's HTML-safe JSON). */
const CREDENTIAL = 'sk-live/egress&<7c1e>9a2b4d6f8035';
const BEARER = `Bearer ${CREDENTIAL}`;
const CAP = 1024;

/** Every piece of the credential `length` characters long found in the text (shorter ones are words: `egress`). */
function pieces(text: string, length = 8): string[] {
  const found = new Set<string>();
  for (let start = 0; start + length <= CREDENTIAL.length; start++) {
    const piece = CREDENTIAL.slice(start, start + length);
    if (text.includes(piece)) found.add(piece);
  }
  return [...found];
}

interface Upstream {
  readonly server: Server;
  readonly port: number;
  readonly seen: IncomingMessage['headers'][];
}

async function startUpstream(): Promise<Upstream> {
  const seen: IncomingMessage['headers'][] = [];
  const server = createServer((request, response) => {
    seen.push(request.headers);
    const url = new URL(request.url ?? '/', 'http://upstream');
    const authorization = request.headers.authorization ?? '';
    const json = (text: string) => {
      response.writeHead(200, { 'content-type': 'application/json' });
      response.end(text);
    };
    switch (url.pathname) {
      case '/echo/pad': // padding chosen by the caller, then the header: the caller picks where the cap cuts
        response.writeHead(200, { 'content-type': 'text/plain' });
        response.end(`${'x'.repeat(Number(url.searchParams.get('n')))}${authorization}`);
        return;
      case '/echo/go': // Go's encoding/json escapes <, > and & by default
        json(
          JSON.stringify({ authorization }).replace(
            /[<>&]/g,
            (char) => `\\u${char.charCodeAt(0).toString(16).padStart(4, '0')}`,
          ),
        );
        return;
      case '/echo/php': // PHP's json_encode escapes / by default
        json(JSON.stringify({ authorization }).replace(/\//g, '\\/'));
        return;
      case '/echo/method':
        json(JSON.stringify({ method: request.method }));
        return;
      case '/echo/teapot': // a reason phrase that repeats the request's header
        response.writeHead(418, `No tea for ${authorization}`, { 'content-type': 'application/json' });
        response.end('{}');
        return;
      default:
        response.writeHead(404);
        response.end();
    }
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return { server, port: (server.address() as AddressInfo).port, seen };
}

const CUT_SCRIPT = `
import execfabric

def main(inputs, ctx):
    resource = inputs["resource"]
    cuts = {}
    for keep in inputs["keeps"]:
        answer = ctx.http(resource, "GET", "/echo/pad", query={"n": str(inputs["cap"] - keep)})
        cuts[str(keep)] = {"truncated": answer.truncated, "length": len(answer.text.encode()), "tail": answer.text[-80:]}
    return cuts
`;

const ESCAPES_SCRIPT = `
def main(inputs, ctx):
    go = ctx.http(inputs["resource"], "GET", "/echo/go")
    php = ctx.http(inputs["resource"], "GET", "/echo/php")
    return {
        "go": {"text": go.text, "json": go.json()},
        "php": {"text": php.text, "json": php.json()},
    }
`;

const OVERRIDE_SCRIPT = `
import execfabric

def main(inputs, ctx):
    tried = {}
    for name in inputs["names"]:
        try:
            answer = ctx.http(inputs["resource"], "GET", "/echo/method", headers={name: "DELETE"})
            tried[name] = answer.status
        except execfabric.EgressError as error:
            tried[name] = error.type
    return tried
`;

let test: TestPlatform;
let admin: string;
let alice: string;
let acme: Runner;
const governance = (method: string, path: string, body: unknown) =>
  test.send({ host: HOSTS.admin, token: admin, method, path, body });

beforeAll(async () => {
  test = await startTestPlatform(PASSWORD);
  admin = await test.login(HOSTS.admin, 'admin');
  alice = await test.login(HOSTS.acme, 'alice');
  acme = runner(test, HOSTS.acme, alice);
}, 120_000);

afterAll(async () => {
  await test?.stop();
});

describe('a tenant script calling an upstream that echoes its credential', { timeout: 120_000 }, () => {
  let upstream: Upstream;
  let resource: string;

  beforeAll(async () => {
    upstream = await startUpstream();
    const created = await governance('POST', '/api/http-resources', {
      name: 'careless-echo',
      baseUrl: `http://127.0.0.1:${upstream.port}`,
      methods: ['GET'],
      paths: ['/echo/*'],
      writeAllowed: false,
      auth: { scheme: 'bearer' },
      maxResponseBytes: CAP,
      localDevelopment: true,
    });
    expect(created.status, created.text).toBe(201);
    resource = String(created.body.id);
    const credential = await governance('PUT', `/api/http-resources/${resource}/credential`, {
      value: CREDENTIAL,
    });
    expect(credential.status, credential.text).toBe(204);
    const granted = await governance('POST', `/api/http-resources/${resource}/grants`, {
      tenantIds: ['acme'],
    });
    expect(granted.status, granted.text).toBe(200);
  }, 120_000);

  afterAll(() => {
    upstream?.server.close();
  });

  it('never sees a piece of it where the response-size cap cuts through it', async () => {
    const skill = await acme.skill(CUT_SCRIPT, { egress: [resource] });
    // The cap leaves all of the header but its last character, then only the credential's first characters.
    const keeps = [BEARER.length - 1, 'Bearer '.length + 12, 'Bearer '.length + 6];
    const run = await acme.run(skill, { resource, cap: CAP, keeps });
    expect(run.status, JSON.stringify(run.error ?? run.logs)).toBe('succeeded');
    // The upstream did get the credential, and the cap did cut each answer.
    expect(upstream.seen.some((headers) => headers.authorization === BEARER)).toBe(true);
    for (const keep of keeps) {
      expect(run.output[String(keep)].truncated, `keep ${keep}`).toBe(true);
      expect(run.output[String(keep)].length, `keep ${keep}`).toBeLessThanOrEqual(CAP);
    }
    expect(pieces(JSON.stringify(run))).toEqual([]);
  });

  it('never sees it behind the JSON escapes real serialisers write', async () => {
    const skill = await acme.skill(ESCAPES_SCRIPT, { egress: [resource] });
    const run = await acme.run(skill, { resource });
    expect(run.status, JSON.stringify(run.error ?? run.logs)).toBe('succeeded');
    // The escapes were there to be decoded.
    expect(upstream.seen.at(-1)?.authorization).toBe(BEARER);
    expect(pieces(run.output.go.json.authorization ?? ''), 'behind Go’s escapes').toEqual([]);
    expect(pieces(run.output.php.json.authorization ?? ''), 'behind PHP’s escapes').toEqual([]);
    expect(pieces(JSON.stringify(run)), 'anywhere in the run').toEqual([]);
  });

  it('never reads it in a failed answer’s status line, in the run’s error or its logs', async () => {
    const skill = await test.send({
      host: HOSTS.acme,
      token: alice,
      method: 'POST',
      path: '/api/skills',
      body: {
        name: 'teapot',
        inputSchema: { type: 'object' },
        outputSchema: {},
        risk: 'low',
        asset: { kind: 'http', id: resource, request: { method: 'GET', path: '/echo/teapot' } },
        limits: { timeoutSeconds: 30 },
      },
    });
    expect(skill.status, skill.text).toBe(201);
    const run = await acme.run(String(skill.body.id), {});
    expect(run.status).toBe('failed');
    expect(run.error.message).toMatch(/418/);
    expect(upstream.seen.at(-1)?.authorization).toBe(BEARER);
    expect(pieces(JSON.stringify(run))).toEqual([]);
  });

  it('cannot inject a header, name another host or leave the allowed paths', async () => {
    const skill = await acme.skill(INJECTION_SCRIPT, { egress: [resource] });
    const calls = {
      'crlf in a value': { path: '/echo/method', headers: { 'x-trace': 'a\r\nx-injected: 1' } },
      'lf in a value': { path: '/echo/method', headers: { 'x-trace': 'a\nx-injected: 1' } },
      'nul in a value': { path: '/echo/method', headers: { 'x-trace': 'a\u0000b' } },
      'not latin-1': { path: '/echo/method', headers: { 'x-trace': '\u20ac' } },
      'crlf in a name': { path: '/echo/method', headers: { 'x-a\r\nx-injected': '1' } },
      host: { path: '/echo/method', headers: { host: 'metadata.google.internal' } },
      'x-forwarded-host': { path: '/echo/method', headers: { 'x-forwarded-host': 'globex.localhost' } },
      'x-original-url': { path: '/echo/method', headers: { 'x-original-url': '/admin' } },
      'x-rewrite-url': { path: '/echo/method', headers: { 'x-rewrite-url': '/admin' } },
      // Next.js skips its middleware (auth included) for a subrequest (CVE-2025-29927).
      'x-middleware-subrequest': {
        path: '/echo/method',
        headers: { 'x-middleware-subrequest': 'middleware:middleware:middleware:middleware:middleware' },
      },
      // What IP allow-lists and rate limits read as the client's address, the host or the path.
      'x-cluster-client-ip': { path: '/echo/method', headers: { 'x-cluster-client-ip': '10.0.0.1' } },
      'x-originating-ip': { path: '/echo/method', headers: { 'x-originating-ip': '10.0.0.1' } },
      'x-remote-addr': { path: '/echo/method', headers: { 'x-remote-addr': '127.0.0.1' } },
      'x-remote-ip': { path: '/echo/method', headers: { 'x-remote-ip': '127.0.0.1' } },
      'x-client-ip': { path: '/echo/method', headers: { 'x-client-ip': '127.0.0.1' } },
      'x-host': { path: '/echo/method', headers: { 'x-host': 'globex.localhost' } },
      'x-envoy-original-path': { path: '/echo/method', headers: { 'x-envoy-original-path': '/admin' } },
      // Rails, Laravel and Symfony read a `_method` parameter as the method (PHP reads `.method` so too).
      '_method parameter': { path: '/echo/method', query: { _method: 'DELETE' } },
      '.method parameter': { path: '/echo/method', query: { '.method': 'DELETE' } },
      'crlf in the path': { path: '/echo/x\r\nx-injected: 1' },
      'dot segments': { path: '/echo/../admin' },
      'encoded dot segments': { path: '/echo/%2e%2e/admin' },
      'doubly encoded': { path: '/echo/%252e%252e/admin' },
      'encoded slash': { path: '/echo/..%2fadmin' },
      backslash: { path: '/echo\\..\\admin' },
      'network path': { path: '//169.254.169.254/echo/x' },
      'no leading slash': { path: '@169.254.169.254/echo/x' },
    };
    const before = upstream.seen.length;
    const run = await acme.run(skill, { resource, calls });
    expect(run.status, JSON.stringify(run.error ?? run.logs)).toBe('succeeded');
    for (const label of Object.keys(calls)) {
      expect(['HttpRequestRefused', 'InvalidCall'], `${label}: ${run.output[label]}`).toContain(
        run.output[label],
      );
    }
    expect(upstream.seen.length, 'requests that reached the upstream').toBe(before);
    // A line break in a query value is only data: encoded, never a header.
    const query = await acme.run(skill, {
      resource,
      calls: { query: { path: '/echo/method', query: { q: 'a\r\nx-injected: 1' } } },
    });
    expect(query.output.query).toBe(200);
    expect(upstream.seen.at(-1)?.['x-injected']).toBeUndefined();
  });

  it('cannot turn a read into a write on a read-only resource with a method-override header', async () => {
    const skill = await acme.skill(OVERRIDE_SCRIPT, { egress: [resource] });
    const names = ['x-http-method-override', 'X-HTTP-Method', 'x-method-override'];
    const before = upstream.seen.length;
    const run = await acme.run(skill, { resource, names });
    expect(run.status, JSON.stringify(run.error ?? run.logs)).toBe('succeeded');
    expect(run.output).toEqual(Object.fromEntries(names.map((name) => [name, 'HttpRequestRefused'])));
    // Refused before anything was sent.
    expect(upstream.seen.length).toBe(before);
  });
});

/** Holds `/`, `+` and `=`, which percent-encoders spell with hex digits in one case or the other. */
const TOKEN = 's3cr3t-tok/en+==';

/** Percent-encoding with lowercase hex digits, as some encoders write it. */
function lowerPercent(text: string): string {
  return encodeURIComponent(text).replace(/%[0-9A-F]{2}/g, (hex) => hex.toLowerCase());
}

/**
 * An upstream under `/base` that answers any path (as a server that strips `;` parameters or
 * decodes `%2F` would route it, this one just records it), redirects where it is told, and
 * reflects the Authorization header percent-encoded in lowercase and base64-encoded whole.
 */
async function startPathUpstream(): Promise<{ server: Server; port: number; seen: string[] }> {
  const seen: string[] = [];
  const server = createServer((request, response) => {
    seen.push(request.url ?? '');
    const url = new URL(request.url ?? '/', 'http://upstream');
    const authorization = request.headers.authorization ?? '';
    if (url.pathname === '/base/items/echo/redirect') {
      response.writeHead(302, { location: url.searchParams.get('to') ?? '/' });
      response.end();
      return;
    }
    response.writeHead(200, { 'content-type': 'application/json' });
    response.end(
      JSON.stringify(
        url.pathname === '/base/items/echo/reflect'
          ? {
              lowerPercent: lowerPercent(authorization),
              base64: Buffer.from(authorization, 'utf8').toString('base64'),
            }
          : { path: request.url },
      ),
    );
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return { server, port: (server.address() as AddressInfo).port, seen };
}

const PATHS_SCRIPT = `
import execfabric

def main(inputs, ctx):
    tried = {}
    for label, call in inputs["calls"].items():
        try:
            tried[label] = {"status": ctx.http(inputs["resource"], "GET", call["path"], query=call.get("query")).status}
        except execfabric.CallError as error:
            tried[label] = {"type": error.type, "message": error.message}
    return tried
`;

const UNCAUGHT_SCRIPT = `
def main(inputs, ctx):
    return ctx.http(inputs["resource"], "GET", inputs["path"]).status
`;

const REFLECT_SCRIPT = `
def main(inputs, ctx):
    return ctx.http(inputs["resource"], "GET", "/items/echo/reflect").json()
`;

describe('a tenant script on a lenient upstream under a base path', { timeout: 120_000 }, () => {
  let upstream: Awaited<ReturnType<typeof startPathUpstream>>;
  let resource: string;

  beforeAll(async () => {
    upstream = await startPathUpstream();
    resource = await grantedResource(test, admin, {
      name: 'items-echo',
      baseUrl: `http://127.0.0.1:${upstream.port}/base`,
      paths: ['/items/*', '/items/echo/**'],
      credential: TOKEN,
    });
  }, 120_000);

  afterAll(() => {
    upstream?.server.close();
  });

  it('cannot climb out with `..;` or split a segment with an encoded separator, directly or by redirect', async () => {
    const skill = await acme.skill(PATHS_SCRIPT, { egress: [resource] });
    const redirect = (to: string) => ({ path: '/items/echo/redirect', query: { to } });
    const refused = {
      'dot-dot parameter': { path: '/items/echo/..;/..;/admin' },
      'dot-dot with a value': { path: '/items/echo/..;jsessionid=1/..;/admin' },
      'encoded dot-dot parameter': { path: '/items/echo/%2e%2E;/%2E%2e;x/admin' },
      'encoded semicolon': { path: '/items/echo/..%3b/..%3B/admin' },
      'dot parameter': { path: '/items/echo/.;/x' },
      'encoded slash and question mark': { path: '/items/x%2Fadmin%3F' },
      'lowercase encoded slash': { path: '/items/x%2fadmin%3f' },
      'encoded backslash': { path: '/items/x%5cadmin' },
      'encoded hash': { path: '/items/x%23' },
      'redirect to dot-dot parameter': redirect('/base/items/echo/..;/..;/admin'),
      'redirect to an encoded slash': redirect('/base/items/x%2Fadmin%3F'),
      // IIS and Windows trim trailing spaces, dots and NULs; NFKC folds fullwidth dots into `.`.
      'dot-dot and a space': { path: '/items/..%20' },
      'dot-dot and a tab': { path: '/items/..%09' },
      'dot-dot and a NUL': { path: '/items/..%00' },
      'a NUL between dots': { path: '/items/.%00.' },
      'dot-dot and a double-encoded NUL': { path: '/items/..%2500' },
      'dot-dot and a stream name': { path: '/items/..:' },
      'fullwidth dots': { path: '/items/%EF%BC%8E%EF%BC%8E' },
      'only dots': { path: '/items/...' },
      'overlong dots': { path: '/items/%C0%AE%C0%AE' },
      'double-encoded dots': { path: '/items/%252e%252e' },
      'redirect to dot-dot and a space': redirect('/base/items/echo/..%20/..%20/admin'),
    };
    const allowed = {
      'a plain path': { path: '/items/x' },
      'a parameter that is no dot segment': { path: '/items/echo/a;v=1/b' },
      'a file name': { path: '/items/a.b' },
      'dots in a longer name': { path: '/items/wait...' },
      'unicode letters': { path: '/items/%C3%A9t%C3%A9' },
    };
    const before = upstream.seen.length;
    const run = await acme.run(skill, { resource, calls: { ...refused, ...allowed } });
    expect(run.status, JSON.stringify(run.error ?? run.logs)).toBe('succeeded');
    for (const label of Object.keys(refused)) {
      expect(run.output[label], label).toMatchObject({
        type: 'HttpRequestRefused',
        message: expect.stringMatching(/request path/),
      });
    }
    // The script reads why, not only that the path is outside the allowance.
    expect(run.output['fullwidth dots'].message).toMatch(/may not contain \. or \.\. segments/);
    expect(run.output['dot-dot and a NUL'].message).toMatch(/control character/);
    expect(run.output['dot-dot and a double-encoded NUL'].message).toMatch(/double-encoded/);
    for (const label of Object.keys(allowed)) expect(run.output[label], label).toEqual({ status: 200 });
    // Only the allowed calls and the redirecting hops reached the upstream.
    expect(
      upstream.seen.slice(before).filter((url) => !url.startsWith('/base/items/echo/redirect?')),
    ).toEqual([
      '/base/items/x',
      '/base/items/echo/a;v=1/b',
      '/base/items/a.b',
      '/base/items/wait...',
      '/base/items/%C3%A9t%C3%A9',
    ]);
  });

  it('fails a run that does not catch the refusal with a readable error naming the request path', async () => {
    const skill = await acme.skill(UNCAUGHT_SCRIPT, { egress: [resource] });
    const before = upstream.seen.length;
    const run = await acme.run(skill, { resource, path: '/items/echo/..;/..;/admin' });
    expect(run.status).toBe('failed');
    expect(JSON.stringify(run.error)).toMatch(/HttpRequestRefused.*request path/);
    expect(upstream.seen.length).toBe(before);
  });

  it('never sees the credential percent-encoded in lowercase or the header base64-encoded whole', async () => {
    const skill = await acme.skill(REFLECT_SCRIPT, { egress: [resource] });
    const run = await acme.run(skill, { resource });
    expect(run.status, JSON.stringify(run.error ?? run.logs)).toBe('succeeded');
    // The reflection was there to be decoded.
    expect(upstream.seen.at(-1)).toBe('/base/items/echo/reflect');
    const { lowerPercent: percent, base64 } = run.output as { lowerPercent: string; base64: string };
    expect(percent).toBe('Bearer%20[redacted]');
    expect(base64).toBe('[redacted]');
    const text = JSON.stringify(run);
    for (const form of [lowerPercent(TOKEN), Buffer.from(`Bearer ${TOKEN}`).toString('base64'), TOKEN]) {
      expect(text, form).not.toContain(form);
    }
  });
});

const INJECTION_SCRIPT = `
import execfabric

def main(inputs, ctx):
    tried = {}
    for label, call in inputs["calls"].items():
        try:
            answer = ctx.http(inputs["resource"], "GET", call["path"], query=call.get("query"), headers=call.get("headers"))
            tried[label] = answer.status
        except execfabric.CallError as error:
            tried[label] = error.type
    return tried
`;

const SSRF_SCRIPT = `
import execfabric

def main(inputs, ctx):
    tried = {}
    for resource in inputs["resources"]:
        try:
            tried[resource] = ctx.http(resource, "GET", "/latest/meta-data").status
        except execfabric.CallError as error:
            tried[resource] = error.type
    return tried
`;

describe('a resource whose base URL names this machine or the metadata service', { timeout: 120_000 }, () => {
  let trap4: NetServer;
  let trap6: NetServer;
  let connections = 0;

  async function trap(host: string): Promise<NetServer> {
    const server = createNetServer((socket) => {
      connections++;
      socket.destroy();
    });
    server.listen(0, host);
    await once(server, 'listening');
    return server;
  }

  beforeAll(async () => {
    trap4 = await trap('127.0.0.1');
    trap6 = await trap('::1');
  });

  afterAll(() => {
    trap4?.close();
    trap6?.close();
  });

  it('is never connected to, by a trial or by a script’s run', async () => {
    const p4 = (trap4.address() as AddressInfo).port;
    const p6 = (trap6.address() as AddressInfo).port;
    const bases: [url: string, localDevelopment: boolean][] = [
      ...[
        `127.0.0.1:${p4}`,
        `2130706433:${p4}`, // decimal
        `0177.0.0.1:${p4}`, // octal
        `0x7f.1:${p4}`, // hex, short
        `127.1:${p4}`,
        `0:${p4}`, // 0.0.0.0: this machine on Linux
        `0.0.0.0:${p4}`,
        `[::ffff:127.0.0.1]:${p4}`,
        `[::ffff:7f00:1]:${p4}`,
        `[::1]:${p6}`,
        `[0:0:0:0:0:0:0:1]:${p6}`,
        `localhost:${p4}`, // a name that resolves to loopback (/etc/hosts)
        '169.254.169.254',
        '[fd00:ec2::254]',
        '[::ffff:169.254.169.254]',
      ].map((host): [string, boolean] => [`https://${host}`, false]),
      // Local development opens loopback and private ranges only: never unspecified or metadata.
      ...[`0.0.0.0:${p4}`, `0:${p4}`, `[::]:${p6}`, '169.254.169.254', '[::ffff:a9fe:a9fe]'].map(
        (host): [string, boolean] => [`http://${host}`, true],
      ),
    ];
    const resources: string[] = [];
    for (const [baseUrl, localDevelopment] of bases) {
      const created = await governance('POST', '/api/http-resources', {
        name: `ssrf-${resources.length}`,
        baseUrl,
        methods: ['GET'],
        paths: ['/**'],
        writeAllowed: false,
        auth: { scheme: 'bearer' },
        localDevelopment,
      });
      if (created.status !== 201) {
        expect(created.status, `${baseUrl}: ${created.text}`).toBe(422); // refused as written: as good
        continue;
      }
      const id = String(created.body.id);
      resources.push(id);
      expect(
        (await governance('PUT', `/api/http-resources/${id}/credential`, { value: 'sk-ssrf-0123456789' }))
          .status,
      ).toBe(204);
      expect(
        (await governance('POST', `/api/http-resources/${id}/grants`, { tenantIds: ['acme'] })).status,
      ).toBe(200);
      const trial = await governance('POST', `/api/http-resources/${id}/trial`, {
        method: 'GET',
        path: '/latest/meta-data',
      });
      expect(trial.status, `${baseUrl}: ${trial.text}`).toBeGreaterThanOrEqual(400);
      expect(trial.status, `${baseUrl}: ${trial.text}`).toBeLessThan(500);
    }
    expect(resources.length).toBeGreaterThan(10);
    // A Skill declares at most 16 resources: one run per batch.
    for (let start = 0; start < resources.length; start += 16) {
      const batch = resources.slice(start, start + 16);
      const skill = await acme.skill(SSRF_SCRIPT, { egress: batch });
      const run = await acme.run(skill, { resources: batch });
      expect(run.status, JSON.stringify(run.error ?? run.logs)).toBe('succeeded');
      for (const id of batch) {
        expect(['OutboundAddressRefused', 'UpstreamFailed'], `${id}: ${run.output[id]}`).toContain(
          run.output[id],
        );
      }
    }
    expect(connections, 'connections that reached this machine').toBe(0);
  });
});
