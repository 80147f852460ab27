/**
 * The Host binds the tenant; tried as an attacker would, from outside, against the real local edge
 * (the same viewer-request function CloudFront runs, then the API) over raw sockets, so that the
 * bytes on the wire are exactly the attacker's: host names that are a prefix, suffix or label of
 * another's, a port, a trailing dot, case, lookalike and punycode names, several or no Host
 * headers, `X-Forwarded-Host`, and absolute-form request targets naming another tenant. Each
 * request either reaches the tenant its Host names, or no tenant at all; a token never crosses.
 */
import { connect } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HOSTS, startTestPlatform, type TestPlatform } from '../support/platform.ts';

const PASSWORD = 'attacks-hosts-test-password';

interface RawAnswer {
  readonly status: number;
  readonly body: string;
}

let test: TestPlatform;
let acmeToken: string;
let globexToken: string;

/** Sends raw bytes and reads the whole answer (the connection is closed after one request). */
function raw(head: string, port = Number(new URL(test.platform.url).port)): Promise<RawAnswer> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    const chunks: Buffer[] = [];
    socket.on('data', (chunk) => chunks.push(chunk));
    socket.on('error', reject);
    socket.on('end', () => {
      const text = Buffer.concat(chunks).toString('utf8');
      const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(text)?.[1] ?? 0);
      const separator = text.indexOf('\r\n\r\n');
      let body = separator < 0 ? '' : text.slice(separator + 4);
      if (/\r\ntransfer-encoding: chunked/i.test(text.slice(0, separator))) body = unchunk(body);
      // No answer at all would pass every "reaches no tenant" check: it is a failure of its own.
      if (status === 0) reject(new Error(`No HTTP answer to ${head.split('\r\n')[0]}`));
      else resolve({ status, body });
    });
    // Not end(): a half-closed connection may be dropped before a slower answer is written.
    socket.write(Buffer.from(`${head}\r\nConnection: close\r\n\r\n`, 'utf8'));
  });
}

function unchunk(text: string): string {
  let rest = text;
  let body = '';
  for (;;) {
    const line = rest.indexOf('\r\n');
    const size = Number.parseInt(rest.slice(0, line), 16);
    if (!(size > 0)) return body;
    body += rest.slice(line + 2, line + 2 + size);
    rest = rest.slice(line + 2 + size + 2);
  }
}

/** A refusal is a 4xx: a 5xx would be a crash, not an answer. */
function refused(answer: RawAnswer): null {
  expect(answer.status, answer.body).toBeGreaterThanOrEqual(400);
  expect(answer.status, answer.body).toBeLessThan(500);
  return null;
}

/** Which domain a `GET /api/health` with these header lines reached: a tenant id, `public`, or null. */
async function reached(target: string, ...lines: string[]): Promise<string | null> {
  const answer = await raw([`GET ${target} HTTP/1.1`, ...lines].join('\r\n'));
  if (answer.status !== 200) return refused(answer);
  const health = JSON.parse(answer.body) as { domain: string; tenant?: { id: string } };
  return health.domain === 'public' ? 'public' : (health.tenant?.id ?? '?');
}

/** Who `GET /api/me` answers for, with a token and these header lines; null when refused. */
async function caller(token: string, ...lines: string[]): Promise<string | null> {
  const answer = await raw(['GET /api/me HTTP/1.1', `Authorization: Bearer ${token}`, ...lines].join('\r\n'));
  if (answer.status !== 200) return refused(answer);
  return (JSON.parse(answer.body) as { username: string }).username;
}

beforeAll(async () => {
  test = await startTestPlatform(PASSWORD);
  acmeToken = await test.login(HOSTS.acme, 'alice');
  globexToken = await test.login(HOSTS.globex, 'gina');
}, 120_000);

afterAll(async () => {
  await test?.stop();
});

describe('a host name', { timeout: 60_000 }, () => {
  it('reaches its tenant in any case, with any port', async () => {
    expect(await reached('/api/health', 'Host: acme.localhost')).toBe('acme');
    expect(await reached('/api/health', 'Host: ACME.LocalHost')).toBe('acme');
    expect(await reached('/api/health', 'Host: acme.localhost:8080')).toBe('acme');
    expect(await reached('/api/health', 'Host: admin.localhost')).toBe('public');
  });

  it('that only resembles a bound one reaches no tenant', async () => {
    const lookalikes = [
      'acme.localhost.', // trailing dot: another origin to a browser
      'admin.localhost.',
      'xacme.localhost',
      'cme.localhost',
      'acme.localhostx',
      'acme.localhost.globex.localhost',
      'globex.localhost.acme.localhost',
      'www.acme.localhost',
      'acme-localhost',
      'acme.localhost:8080:80',
      'acme.localhost:',
      'acme.localhost:abc',
      'acme.localhost@globex.localhost',
      'globex.localhost#acme.localhost',
      'acme.localhost globex.localhost',
      'acme.localhost,globex.localhost',
      'аcme.localhost', // Cyrillic а, sent as UTF-8
      'xn--cme-8cd.localhost', // its punycode
      '[::1]',
      '127.0.0.1',
      'localhost',
      '',
    ];
    for (const host of lookalikes) {
      expect(await reached('/api/health', `Host: ${host}`), host).toBeNull();
      expect(await caller(acmeToken, `Host: ${host}`), host).toBeNull();
    }
    expect(await reached('/api/health'), 'no Host at all').toBeNull();
  });

  it('is taken from Host alone: not X-Forwarded-Host, a second Host, or an absolute-form target', async () => {
    expect(await reached('/api/health', 'Host: acme.localhost', 'X-Forwarded-Host: globex.localhost')).toBe(
      'acme',
    );
    expect(await reached('/api/health', 'Host: acme.localhost', 'X-Original-Host: globex.localhost')).toBe(
      'acme',
    );
    // Node's parser refuses a second Host, or keeps the first; either way never the second.
    const twice = await reached('/api/health', 'Host: acme.localhost', 'Host: globex.localhost');
    expect([null, 'acme']).toContain(twice);
    expect(await reached('http://globex.localhost/api/health', 'Host: acme.localhost')).toBe('acme');
    expect(await reached('//globex.localhost/api/health', 'Host: acme.localhost')).toBe('acme');
  });

  it('binds a token to its tenant whatever the request names besides', async () => {
    expect(await caller(acmeToken, 'Host: acme.localhost')).toBe('alice');
    expect(await caller(acmeToken, 'Host: ACME.localhost:1')).toBe('alice');
    // A token of globex sent to acme, however the request tries to name globex, is refused.
    for (const lines of [
      ['Host: acme.localhost', 'X-Forwarded-Host: globex.localhost'],
      ['Host: acme.localhost', 'X-Execfabric-Host: globex.localhost'],
      ['Host: acme.localhost', 'Host: globex.localhost'],
    ]) {
      expect(await caller(globexToken, ...lines), lines.join(' / ')).toBeNull();
    }
    const absolute = await raw(
      [
        'GET http://globex.localhost/api/me HTTP/1.1',
        `Authorization: Bearer ${globexToken}`,
        'Host: acme.localhost',
      ].join('\r\n'),
    );
    expect(absolute.status).toBe(401);
  });
});
