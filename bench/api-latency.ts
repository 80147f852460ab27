/**
 * API latency on the local platform, in one process: `GET /api/health` through the local edge
 * router (HTTP on loopback, viewer-request function, event building) against the tenant-api
 * handler invoked directly with an equivalent API Gateway event (the ratio is the router's
 * overhead); and authenticated GETs (a session) against `GET /api/health` in the same run:
 * `GET /api/permissions` reads nothing of its own, so its ratio is what authentication alone adds
 * (signature, the session check — from the per-process session cache once warm — and role
 * resolution), routed and direct; `GET /api/me` adds the tenant's record (from the per-process
 * tenant cache once warm, read at most every 5 s), `GET /api/skills` the catalogue (from the
 * per-process catalogue cache once warm, read at most every 5 s; with `Cache-Control: no-cache` one
 * query every time, as before the cache) and `GET /api/executions` a page of run history (one query;
 * for a caller who does not manage Skills, the catalogue beside it, from the same cache).
 * All are measured in interleaved rounds after a warm-up, so load on the machine hits all alike.
 *
 *   npx tsx bench/api-latency.ts [rounds]
 */
import { readFileSync } from 'node:fs';
import { cpus, loadavg, totalmem } from 'node:os';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2, Context } from 'aws-lambda';
import { ENV, requireEnv } from '../functions/core/env.ts';
import { HOST_HEADER, ORIGIN_HEADER } from '../functions/core/headers.ts';
import { startLocalPlatform } from '../lib/local/platform.ts';
import { call } from '../test/support/http.ts';
import { edgeEvent } from '../test/support/lambda-environment.ts';

const ROUNDS = Number(process.argv[2] ?? '2000');
const WARMUP = Math.min(300, Math.ceil(ROUNDS / 4));
const PASSWORD = 'bench-password-123';
const HOST = 'acme.localhost';

function percentile(sorted: readonly number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? Number.NaN;
}

function summary(samples: readonly number[]) {
  const sorted = [...samples].sort((a, b) => a - b);
  const mean = samples.reduce((sum, value) => sum + value, 0) / samples.length;
  return { p50: percentile(sorted, 50), p99: percentile(sorted, 99), mean };
}

const platform = await startLocalPlatform({
  port: 0,
  hostRateLimit: false, // the bench measures the platform past the per-host limit (bench/support.ts)
  dataDir: null,
  schedules: false,
  demoPassword: PASSWORD,
  log: () => undefined,
});

try {
  // The tenant-api handler, configured from this platform's environment like the router's own
  // instance of it (same code, a container of its own), and warmed up the same way below.
  const { createHandler } = await import('../functions/tenant-api/handler.ts');
  const handler = (await createHandler(platform.env)) as unknown as (
    event: APIGatewayProxyEventV2,
    context: Context,
  ) => Promise<APIGatewayProxyStructuredResultV2>;
  const originSecret = requireEnv(ENV.originSecret, platform.env);

  /** The event the local router would build for `GET <path>` on the tenant host. */
  function getEvent(path: string, token?: string): APIGatewayProxyEventV2 {
    return edgeEvent({
      method: 'GET',
      rawPath: `/tenant${path}`,
      headers: {
        [HOST_HEADER]: HOST,
        [ORIGIN_HEADER]: originSecret,
        'x-forwarded-for': '127.0.0.1',
        ...(token === undefined ? {} : { authorization: `Bearer ${token}` }),
      },
      sourceIp: '127.0.0.1',
    });
  }
  const context = { awsRequestId: 'bench', getRemainingTimeInMillis: () => 30_000 } as unknown as Context;

  const login = await call(platform.url, {
    host: HOST,
    method: 'POST',
    path: '/api/auth/login',
    body: { username: 'alice', password: PASSWORD },
  });
  const token = String(login.body.token);
  // bob (operator) does not manage Skills: his run history is filtered by the catalogue.
  const operator = await call(platform.url, {
    host: HOST,
    method: 'POST',
    path: '/api/auth/login',
    body: { username: 'bob', password: PASSWORD },
  });
  const operatorToken = String(operator.body.token);
  const routed = (path: string, bearer?: string, headers?: Record<string, string>) => async () => {
    const response = await call(platform.url, {
      host: HOST,
      path,
      ...(bearer === undefined ? {} : { token: bearer }),
      ...(headers === undefined ? {} : { headers }),
    });
    if (response.status !== 200) throw new Error(`${path}: ${response.status}`);
  };
  const direct = (path: string, bearer?: string) => async () => {
    const result = await handler(getEvent(path, bearer), context);
    if (result.statusCode !== 200) throw new Error(`direct ${path}: ${result.statusCode}`);
  };

  const paths = {
    'GET /api/health via the local router': routed('/api/health'),
    'GET /api/health, handler invoked directly': direct('/api/health'),
    'GET /api/permissions (session) via the local router': routed('/api/permissions', token),
    'GET /api/permissions (session), handler invoked directly': direct('/api/permissions', token),
    'GET /api/me (session) via the local router': routed('/api/me', token),
    'GET /api/skills (session) via the local router': routed('/api/skills', token),
    'GET /api/skills (session, Cache-Control: no-cache) via the local router': routed('/api/skills', token, {
      'cache-control': 'no-cache',
    }),
    'GET /api/executions (session) via the local router': routed('/api/executions', token),
    'GET /api/executions (session, not a Skill manager) via the local router': routed(
      '/api/executions',
      operatorToken,
    ),
  } as const;
  type Name = keyof typeof paths;
  const names = Object.keys(paths) as Name[];
  const samples = Object.fromEntries(names.map((name) => [name, [] as number[]])) as Record<Name, number[]>;

  for (let round = 0; round < WARMUP + ROUNDS; round++) {
    for (const name of names) {
      const started = performance.now();
      await paths[name]();
      if (round >= WARMUP) samples[name].push(performance.now() - started);
    }
  }

  const stats = Object.fromEntries(names.map((name) => [name, summary(samples[name])])) as Record<
    Name,
    ReturnType<typeof summary>
  >;
  const of = (name: Name) => stats[name];
  const health = of('GET /api/health via the local router');
  const healthDirect = of('GET /api/health, handler invoked directly');
  const ratio = (label: string, measured: ReturnType<typeof summary>, base: ReturnType<typeof summary>) =>
    `${label}: p50 **${(measured.p50 / base.p50).toFixed(2)}×** (+${(measured.p50 - base.p50).toFixed(3)} ms), ` +
    `p99 **${(measured.p99 / base.p99).toFixed(2)}×** (+${(measured.p99 - base.p99).toFixed(3)} ms).`;
  const model = readFileSync('/proc/cpuinfo', 'utf8').match(/model name\s*:\s*(.+)/)?.[1] ?? cpus()[0]?.model;
  const lines = [
    `Recorded ${new Date().toISOString()} by \`npx tsx bench/api-latency.ts ${ROUNDS}\` on ${cpus().length} CPUs ` +
      `(${model}), ${(totalmem() / 2 ** 30).toFixed(1)} GiB memory, load average ${loadavg()
        .map((value) => value.toFixed(2))
        .join(' ')} at the end, Node ${process.version}; in-memory dynalite, ${WARMUP} warm-up rounds.`,
    '',
    '| request | samples | p50 ms | p99 ms | mean ms |',
    '| --- | ---: | ---: | ---: | ---: |',
    ...names.map((name) => {
      const { p50, p99, mean } = stats[name];
      return `| ${name} | ${samples[name].length} | ${p50.toFixed(3)} | ${p99.toFixed(3)} | ${mean.toFixed(3)} |`;
    }),
    '',
    ratio('Router overhead (routed / direct health)', health, healthDirect),
    ratio(
      'Authentication alone (permissions / health, both routed)',
      of('GET /api/permissions (session) via the local router'),
      health,
    ),
    ratio(
      'Authentication alone (permissions / health, both direct)',
      of('GET /api/permissions (session), handler invoked directly'),
      healthDirect,
    ),
    ratio(
      'Authentication + the tenant record (me / health, both routed)',
      of('GET /api/me (session) via the local router'),
      health,
    ),
    ratio(
      'Authentication + the catalogue (skills / health, both routed)',
      of('GET /api/skills (session) via the local router'),
      health,
    ),
    ratio(
      'Authentication + one query (skills with no-cache / health, both routed)',
      of('GET /api/skills (session, Cache-Control: no-cache) via the local router'),
      health,
    ),
    ratio(
      'Authentication + one query (executions / health, both routed)',
      of('GET /api/executions (session) via the local router'),
      health,
    ),
    ratio(
      'Authentication + one query + the catalogue (executions, not a manager / health, both routed)',
      of('GET /api/executions (session, not a Skill manager) via the local router'),
      health,
    ),
  ];
  process.stdout.write(`${lines.join('\n')}\n`);
} finally {
  await platform.stop();
}
