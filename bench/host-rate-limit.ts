/**
 * What the local edge's per-host count costs (lib/local/host-rate-limit.ts): `GET /api/health`
 * through two edges in this process — the real local router and viewer-request function in front of
 * the same trivial function — one counting every request under a rule it never reaches, the other
 * counting nothing (the baseline), in interleaved rounds on keep-alive connections; then the count
 * alone (`take`) for one host and for MAX_COUNTED_HOSTS hosts (a full table), and the heap a full window holds.
 *
 *   npx tsx --expose-gc bench/host-rate-limit.ts [requests per round]
 */
import { once } from 'node:events';
import { Agent, createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { REPOSITORY_ROOT } from '../lib/aws/stack.ts';
import { compileViewerRequest, viewerRequestSource } from '../lib/edge/viewer-request.ts';
import { HostRateLimiter, MAX_COUNTED_HOSTS } from '../lib/local/host-rate-limit.ts';
import { createLocalRouter, type LocalRouterOptions } from '../lib/local/router.ts';
import { machine, recordSection } from './support.ts';

const PER_ROUND = Number(process.argv[2] ?? '2000');
const ROUNDS = 6;
const NEVER_REACHED = { requests: Number.MAX_SAFE_INTEGER, windowSeconds: 60 } as const;

const viewerRequest = compileViewerRequest(
  viewerRequestSource({ adminHosts: ['admin.localhost'], freeHosts: ['free.localhost'], docsHosts: [] }),
);

async function edge(
  hostRateLimit: LocalRouterOptions['hostRateLimit'],
): Promise<{ server: Server; port: number }> {
  const server = createServer(
    createLocalRouter({
      root: REPOSITORY_ROOT,
      viewerRequest,
      originSecret: 'bench-origin',
      invoke: () => async () => ({
        statusCode: 200,
        headers: { 'content-type': 'application/json' },
        body: '{}',
      }),
      log: () => undefined,
      hostRateLimit,
    }),
  );
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return { server, port: (server.address() as AddressInfo).port };
}

function get(port: number, agent: Agent): Promise<number> {
  return new Promise((resolve, reject) => {
    const started = process.hrtime.bigint();
    const outgoing = request(
      { host: '127.0.0.1', port, path: '/api/health', agent, headers: { host: 'acme.localhost' } },
      (response) => {
        response.resume();
        response.on('end', () => {
          if (response.statusCode !== 200) reject(new Error(`status ${response.statusCode}`));
          else resolve(Number(process.hrtime.bigint() - started) / 1e6);
        });
      },
    );
    outgoing.on('error', reject);
    outgoing.end();
  });
}

function percentile(samples: readonly number[], p: number): number {
  const sorted = [...samples].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? Number.NaN;
}

const counting = await edge(NEVER_REACHED);
const baseline = await edge(false);
const agent = new Agent({ keepAlive: true, maxSockets: 1 });
const samples = { counting: [] as number[], baseline: [] as number[] };
for (const target of [counting, baseline]) for (let n = 0; n < 300; n++) await get(target.port, agent);
for (let round = 0; round < ROUNDS; round++) {
  // ABBA across rounds, so a drift of the machine hits both alike.
  const order = round % 2 === 0 ? (['counting', 'baseline'] as const) : (['baseline', 'counting'] as const);
  for (const name of order) {
    const target = name === 'counting' ? counting : baseline;
    for (let n = 0; n < PER_ROUND; n++) samples[name].push(await get(target.port, agent));
  }
}
agent.destroy();
counting.server.close();
baseline.server.close();

// The count alone: one host, then a window of MAX_COUNTED_HOSTS hosts.
const TAKES = 1_000_000;
const one = new HostRateLimiter(NEVER_REACHED);
let started = process.hrtime.bigint();
for (let n = 0; n < TAKES; n++) one.take('acme.localhost', '127.0.0.1');
const oneNs = Number(process.hrtime.bigint() - started) / TAKES;
const hosts = Array.from({ length: MAX_COUNTED_HOSTS }, (_, n) => `tenant-${n}.example.com`);
const many = new HostRateLimiter(NEVER_REACHED);
started = process.hrtime.bigint();
for (let n = 0; n < TAKES; n++) many.take(hosts[n % hosts.length] as string, '127.0.0.1');
const manyNs = Number(process.hrtime.bigint() - started) / TAKES;
// The heap a full window holds: ten limiters filled against ten empty ones (needs --expose-gc).
let heapKiB: number | null = null;
if (typeof global.gc === 'function') {
  const heap = () => {
    global.gc?.();
    global.gc?.();
    return process.memoryUsage().heapUsed;
  };
  const before = heap();
  const full = Array.from({ length: 10 }, () => new HostRateLimiter(NEVER_REACHED));
  for (const limiter of full) for (const host of hosts) limiter.take(host, '127.0.0.1');
  heapKiB = (heap() - before) / 1024 / full.length;
}

const row = (name: 'counting' | 'baseline') =>
  `| ${name === 'counting' ? 'counted per host (a rule never reached)' : 'baseline: not counted'} | ${samples[name].length} | ${percentile(samples[name], 50).toFixed(3)} | ${percentile(samples[name], 99).toFixed(3)} |`;
const ratio = percentile(samples.counting, 50) / percentile(samples.baseline, 50);
const section = `## The local edge's per-host count

Recorded ${new Date().toISOString()} by \`npx tsx --expose-gc bench/host-rate-limit.ts ${PER_ROUND}\` on ${machine()};
Node ${process.version}. \`GET /api/health\` through the local router with the real viewer-request
function and a trivial function behind it, on one keep-alive connection, ${ROUNDS} interleaved rounds.

| edge | requests | p50 ms | p99 ms |
| --- | ---: | ---: | ---: |
${row('counting')}
${row('baseline')}

Counted / baseline at p50: **${ratio.toFixed(2)}×**. The count alone: ${oneNs.toFixed(0)} ns a request for one
host, ${manyNs.toFixed(0)} ns across ${MAX_COUNTED_HOSTS.toLocaleString('en')} hosts (a table's most); a full window of them holds
${heapKiB === null ? '(run with --expose-gc to measure the heap)' : `~${Math.round(heapKiB)} KiB of heap`}.
`;
process.stdout.write(`${section}\n`);
if (process.env.BENCH_RECORD !== '0') recordSection("## The local edge's per-host count", section);
