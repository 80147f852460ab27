/**
 * The CLI when the platform says "not now" (docs/decisions/cli.md, "Retrying"), run as a child
 * process against the embedded platform with a small per-host rate limit and connection cap: a safe
 * request answered 429 or 503 with Retry-After is sent again once the wait is over (a run request
 * with the same Idempotency-Key, so one run), a 429 without Retry-After or an unsafe POST is not,
 * the CLI gives up after its attempts or on a wait longer than its cap, and `--no-retry` or
 * EXECFABRIC_RETRY=0 fail at once.
 *
 * The rate limit's clock is the test's: it stands half a second before its window ends, so a
 * refusal asks `Retry-After: 1`, and moves to the next window only when a test moves it — on the
 * CLI's refusal, to let its retry through, or never, to make it give up. The CLI talks to the
 * platform through a recording proxy that shows what went on the wire (each attempt, its
 * Idempotency-Key, its answer); it changes nothing, except that it may drop Retry-After as WAF does.
 */
import { createServer, globalAgent, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { connect, type Socket } from 'node:net';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { type CliSession, cliSession } from '../support/cli.ts';
import { HOSTS, startTestPlatform } from '../support/platform.ts';
import { runner } from '../support/runs.ts';
import { type TempDir, tempDir } from '../support/scratch.ts';

const PASSWORD = 'cli-retry-password';
/** A handful a minute: a test fills it in a moment; the set-up's sign-ins fit in one window. */
const RULE = { requests: 12, windowSeconds: 60 } as const;
const WINDOW_MS = RULE.windowSeconds * 1000;
/** Connections the edge takes at once: a test holds them all to be answered 503. */
const MAX_CONNECTIONS = 8;

let windowIndex = Math.floor(Date.now() / WINDOW_MS);
let clock = (windowIndex + 1) * WINDOW_MS - 500;
/** Moves the rate limit's clock into the next window, `msBeforeEnd` before it ends: every count starts again. */
function nextWindow(msBeforeEnd = 500): void {
  windowIndex += 1;
  clock = (windowIndex + 1) * WINDOW_MS - msBeforeEnd;
}

const t = await startTestPlatform(PASSWORD, {
  hostRateLimit: RULE,
  hostRateClock: () => clock,
  edgeLimits: { maxConnections: MAX_CONNECTIONS },
});

interface Exchange {
  readonly method: string;
  readonly path: string;
  readonly idempotencyKey: string | undefined;
  readonly status: number;
}

/** What went between the CLI and the platform, and what the test does on an answer. */
interface Wire {
  exchanges: Exchange[];
  /** Called with each answer's status before the CLI gets it. */
  onAnswer: (status: number) => void;
  /** Answers go back without Retry-After (as a proxy in front may send them). */
  dropRetryAfter: boolean;
  /** Answers go back with this Retry-After instead of the platform's (a quota's hours). */
  retryAfter?: string;
  /** The statuses of the requests of `method` on `path` (any query), in order. */
  statuses(method: string, path: string): number[];
}

const wire: Wire = {
  exchanges: [],
  onAnswer: () => undefined,
  dropRetryAfter: false,
  statuses(method, path) {
    return this.exchanges
      .filter((exchange) => exchange.method === method && exchange.path.split('?')[0] === path)
      .map((exchange) => exchange.status);
  },
};
/** On the CLI's first 429, the window ends: its retry is counted afresh. */
const endWindowOnRefusal = () => {
  let ended = false;
  wire.onAnswer = (status) => {
    if (status === 429 && !ended) {
      ended = true;
      nextWindow();
    }
  };
};

/** A proxy to the platform's edge; hop-by-hop headers are not forwarded, one connection a request. */
function recordingProxy(target: number): Server {
  return createServer((incoming, outgoing) => {
    const chunks: Buffer[] = [];
    incoming.on('data', (chunk: Buffer) => chunks.push(chunk));
    incoming.on('end', () => {
      const { connection: _c, 'keep-alive': _k, ...headers } = incoming.headers;
      const upstream = request(
        {
          host: '127.0.0.1',
          port: target,
          method: incoming.method,
          path: incoming.url,
          headers,
          agent: false,
        },
        (answer) => {
          const body: Buffer[] = [];
          answer.on('data', (chunk: Buffer) => body.push(chunk));
          answer.on('end', () => {
            const status = answer.statusCode ?? 0;
            const key = incoming.headers['idempotency-key'];
            wire.exchanges.push({
              method: incoming.method ?? '',
              path: incoming.url ?? '',
              idempotencyKey: typeof key === 'string' ? key : undefined,
              status,
            });
            wire.onAnswer(status);
            const {
              connection: _connection,
              'keep-alive': _keepAlive,
              'transfer-encoding': _encoding,
              'retry-after': retryAfter,
              ...kept
            } = answer.headers;
            const content = Buffer.concat(body);
            outgoing.writeHead(status, {
              ...kept,
              ...(retryAfter === undefined || wire.dropRetryAfter
                ? {}
                : { 'retry-after': wire.retryAfter ?? retryAfter }),
              'content-length': String(content.length),
            });
            outgoing.end(content);
          });
        },
      );
      upstream.on('error', (error) => outgoing.destroy(error));
      upstream.end(Buffer.concat(chunks));
    });
  });
}

/** A new window, then as many API requests of acme's host as it takes but `leave`. */
async function fill(leave: number, msBeforeEnd = 500): Promise<void> {
  nextWindow(msBeforeEnd);
  for (let n = 0; n < RULE.requests - leave; n += 1) {
    const answer = await t.send({ host: HOSTS.acme, path: '/api/health' });
    expect(answer.status, answer.text).toBe(200);
  }
}

let proxy: Server;
let acme: string;
let alice: CliSession;
let aliceHome: TempDir | undefined;
let aliceToken: string;
let skillId: string;

beforeAll(async () => {
  proxy = recordingProxy(t.platform.port);
  proxy.listen(0, '127.0.0.1');
  await new Promise((resolve) => proxy.once('listening', resolve));
  acme = `http://acme.localhost:${(proxy.address() as AddressInfo).port}`;
  nextWindow();
  aliceToken = await t.login(HOSTS.acme, 'alice');
  skillId = await runner(t, HOSTS.acme, aliceToken).skill(
    'def main(inputs, ctx):\n    return {"ok": True}\n',
  );
  aliceHome = tempDir('execfabric-cli-retry-');
  alice = cliSession(aliceHome.path);
  nextWindow();
  const login = await alice.run(['login', '--host', acme, '--username', 'alice', '--password-stdin'], {
    input: `${PASSWORD}\n`,
  });
  expect(login.code, login.stderr).toBe(0);
});

beforeEach(() => {
  wire.exchanges = [];
  wire.onAnswer = () => undefined;
  wire.dropRetryAfter = false;
  wire.retryAfter = undefined;
});

afterAll(async () => {
  try {
    proxy?.close();
    await t.stop();
  } finally {
    aliceHome?.remove();
  }
});

/** acme's runs of the Skill, newest first (asked of the platform directly, not through the CLI). */
async function runsOfSkill(): Promise<string[]> {
  const list = await t.send({ host: HOSTS.acme, path: '/api/executions?limit=100', token: aliceToken });
  expect(list.status, list.text).toBe(200);
  return (list.body.items as { id: string; skillId: string }[])
    .filter((run) => run.skillId === skillId)
    .map((run) => run.id);
}

describe('a request the platform answered 429 with Retry-After', () => {
  it('is sent again once the wait is over when it is a GET, and the command succeeds', async () => {
    await fill(0);
    endWindowOnRefusal();
    const listed = await alice.run(['skills', '--json']);
    expect(listed.code, listed.stderr).toBe(0);
    expect((JSON.parse(listed.stdout) as { id: string }[]).map((skill) => skill.id)).toContain(skillId);
    expect(listed.stderr).toContain(
      `rate limited by ${new URL(acme).host}; retrying in 1 s (attempt 2 of 3)`,
    );
    expect(wire.statuses('GET', '/api/skills')).toEqual([429, 200]);
  });

  it('is sent again with the same Idempotency-Key when it starts a run: one run is made', async () => {
    const before = await runsOfSkill();
    // The CLI's look-up of the Skill is the last request the window takes; its run request is refused.
    await fill(1);
    endWindowOnRefusal();
    const ran = await alice.run(['run', skillId, '--no-wait']);
    expect(ran.code, ran.stderr).toBe(0);
    expect(ran.stderr).toContain('retrying in 1 s (attempt 2 of 3)');
    const path = `/api/skills/${skillId}/executions`;
    expect(wire.statuses('POST', path)).toEqual([429, 202]);
    const keys = wire.exchanges.filter((exchange) => exchange.path === path).map((e) => e.idempotencyKey);
    expect(keys[0]).toMatch(/^cli-[0-9a-f-]{36}$/);
    expect(keys[1]).toBe(keys[0]);
    const after = await runsOfSkill();
    expect(after).toEqual([ran.stdout.trim(), ...before]);
  });

  it('gives up after 3 attempts, printing the problem and that it gave up', async () => {
    await fill(0);
    // The clock stays put: every attempt is refused, each asking for 1 s more.
    const listed = await alice.run(['skills']);
    expect(listed.code, listed.stderr).toBe(1);
    expect(wire.statuses('GET', '/api/skills')).toEqual([429, 429, 429]);
    expect(listed.stderr).toContain('retrying in 1 s (attempt 2 of 3)');
    expect(listed.stderr).toContain('retrying in 1 s (attempt 3 of 3)');
    expect(listed.stderr).toContain(
      `error: Too Many Requests: More than ${RULE.requests} API requests to this host from your address in ${RULE.windowSeconds} seconds; try again in 1 s`,
    );
    expect(listed.stderr).toContain('Gave up after 3 attempts (2 s of waiting); try again in 1 s.');
  });

  it('gives up at once when Retry-After asks for longer than the CLI waits', async () => {
    // An hour, as a day's quota may ask: past the 60 s (one window of the edge) the CLI waits at most.
    wire.retryAfter = '3600';
    await fill(0);
    endWindowOnRefusal();
    const listed = await alice.run(['skills']);
    expect(listed.code, listed.stderr).toBe(1);
    expect(wire.statuses('GET', '/api/skills')).toEqual([429]);
    expect(listed.stderr).not.toContain('retrying');
    expect(listed.stderr).toContain(
      'Gave up: the platform asks to wait 3600 s, longer than the CLI waits (60 s); try again then.',
    );
  });

  it('fails at once with --no-retry or EXECFABRIC_RETRY=0', async () => {
    await fill(0);
    endWindowOnRefusal(); // a retry would succeed
    const flagged = await alice.run(['skills', '--no-retry']);
    expect(flagged.code, flagged.stderr).toBe(1);
    expect(flagged.stderr).toContain('error: Too Many Requests');
    expect(flagged.stderr).not.toContain('retrying');
    expect(wire.statuses('GET', '/api/skills')).toEqual([429]);

    wire.exchanges = [];
    await fill(0);
    endWindowOnRefusal();
    const off = await alice.run(['skills'], { env: { EXECFABRIC_RETRY: '0' } });
    expect(off.code, off.stderr).toBe(1);
    expect(off.stderr).toContain('error: Too Many Requests');
    expect(off.stderr).not.toContain('retrying');
    expect(wire.statuses('GET', '/api/skills')).toEqual([429]);
  });
});

describe('a request the CLI does not send again', () => {
  it('is a request answered 429 without Retry-After', async () => {
    wire.dropRetryAfter = true;
    await fill(0);
    endWindowOnRefusal(); // a retry would succeed
    const listed = await alice.run(['skills']);
    expect(listed.code, listed.stderr).toBe(1);
    expect(listed.stderr).toContain('error: Too Many Requests');
    expect(listed.stderr).not.toContain('retrying');
    expect(listed.stderr).not.toContain('Gave up');
    expect(wire.statuses('GET', '/api/skills')).toEqual([429]);
  });

  it('is a POST without an Idempotency-Key (an approval decision)', async () => {
    await fill(0);
    endWindowOnRefusal(); // a retry would reach the API (and be answered 404)
    const path = '/api/executions/ex-nothing/approve';
    const decided = await alice.run(['approve', 'ex-nothing']);
    expect(decided.code, decided.stderr).toBe(1);
    expect(decided.stderr).toContain('error: Too Many Requests');
    expect(decided.stderr).not.toContain('retrying');
    expect(wire.statuses('POST', path)).toEqual([429]);
  });
});

describe('a request the platform answered 503 with Retry-After', () => {
  it('is sent again once the wait is over (the edge past its connection cap)', async () => {
    nextWindow();
    // Only the held connections are open: the test's own kept-alive ones are closed first.
    globalAgent.destroy();
    const held: Socket[] = [];
    for (let n = 0; n < MAX_CONNECTIONS; n += 1) {
      const socket = connect(t.platform.port, '127.0.0.1');
      await new Promise((resolve) => socket.once('connect', resolve));
      held.push(socket);
    }
    const probe = await t.send({ host: HOSTS.acme, path: '/api/health' });
    expect(probe.status, probe.text).toBe(503);
    wire.onAnswer = (status) => {
      if (status === 503) for (const socket of held.splice(0)) socket.destroy();
    };
    try {
      const listed = await alice.run(['skills', '--json']);
      expect(listed.code, listed.stderr).toBe(0);
      expect(listed.stderr).toContain(
        `${new URL(acme).host} is unavailable for a moment (503); retrying in 1 s (attempt 2 of 3)`,
      );
      expect(wire.statuses('GET', '/api/skills')).toEqual([503, 200]);
    } finally {
      for (const socket of held) socket.destroy();
    }
  });
});
