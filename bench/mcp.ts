/**
 * The MCP endpoint's cost on the local platform, in one process, through the local edge router:
 * `tools/list` (AI client token, a fresh SDK server per request, Skills shaped into tools) against
 * `GET /api/skills` (session) for the same catalogue, and a `tools/call` that answers with an
 * approval ticket against `POST /api/skills/{id}/executions` for the same Skill (both write a
 * pending run, its audit entry and an approvals-inbox entry; no worker runs, so the figures are the
 * API's own). The four are measured in interleaved rounds after a warm-up, so load hits all alike.
 *
 *   npx tsx bench/mcp.ts [rounds]
 */
import { readFileSync } from 'node:fs';
import { cpus, loadavg, totalmem } from 'node:os';
import { startLocalPlatform } from '../lib/local/platform.ts';
import { call } from '../test/support/http.ts';

const ROUNDS = Number(process.argv[2] ?? '300');
const WARMUP = Math.min(50, Math.ceil(ROUNDS / 4));
const PASSWORD = 'bench-password-123';
const HOST = 'acme.localhost';
const ACCEPT = 'application/json, text/event-stream';

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

async function expectStatus(what: string, promise: ReturnType<typeof call>, status: number) {
  const response = await promise;
  if (response.status !== status)
    throw new Error(`${what}: ${response.status} ${response.text.slice(0, 200)}`);
  return response;
}

try {
  const login = async (username: string) =>
    String(
      (
        await expectStatus(
          `login ${username}`,
          call(platform.url, {
            host: HOST,
            method: 'POST',
            path: '/api/auth/login',
            body: { username, password: PASSWORD },
          }),
          200,
        )
      ).body.token,
    );
  const alice = await login('alice');
  const bob = await login('bob');
  const script = await expectStatus(
    'script',
    call(platform.url, {
      host: HOST,
      token: alice,
      method: 'POST',
      path: '/api/assets/scripts',
      body: { name: 'transfer.py', source: 'def main(inputs, ctx):\n    return {"ok": True}\n' },
    }),
    201,
  );
  const skill = await expectStatus(
    'skill',
    call(platform.url, {
      host: HOST,
      token: alice,
      method: 'POST',
      path: '/api/skills',
      body: {
        name: 'Transfer',
        inputSchema: {
          type: 'object',
          properties: { amount: { type: 'integer' } },
          required: ['amount'],
          additionalProperties: false,
        },
        outputSchema: { type: 'object', properties: { ok: { type: 'boolean' } } },
        risk: 'medium',
        tags: ['bench'],
        asset: { kind: 'python-script', id: script.body.id, version: 'active' },
      },
    }),
    201,
  );
  const skillId = String(skill.body.id);
  const client = await expectStatus(
    'AI client',
    call(platform.url, {
      host: HOST,
      token: bob,
      method: 'POST',
      path: '/api/mcp-clients',
      body: { name: 'bench agent', tags: ['bench'] },
    }),
    201,
  );
  const mcpToken = String(client.body.token);
  const tool = `transfer_${skillId.slice(4)}`;
  let id = 0;
  const mcp = (method: string, params: Record<string, unknown>) =>
    call(platform.url, {
      host: HOST,
      token: mcpToken,
      method: 'POST',
      path: '/mcp',
      headers: { accept: ACCEPT },
      body: { jsonrpc: '2.0', id: ++id, method, params },
    });

  const paths = {
    'GET /api/skills (session)': async () => {
      await expectStatus('skills', call(platform.url, { host: HOST, path: '/api/skills', token: bob }), 200);
    },
    'MCP tools/list (AI client)': async () => {
      const response = await expectStatus('tools/list', mcp('tools/list', {}), 200);
      if (response.body.result?.tools?.length !== 2)
        throw new Error(`tools/list: ${response.text.slice(0, 200)}`);
    },
    'POST /api/skills/{id}/executions → pending approval (session)': async () => {
      const response = await expectStatus(
        'run',
        call(platform.url, {
          host: HOST,
          token: bob,
          method: 'POST',
          path: `/api/skills/${skillId}/executions`,
          body: { input: { amount: 1 } },
        }),
        202,
      );
      if (response.body.status !== 'pending_approval') throw new Error(`run: ${response.text}`);
    },
    'MCP tools/call → pending approval ticket (AI client)': async () => {
      const response = await expectStatus(
        'tools/call',
        mcp('tools/call', { name: tool, arguments: { amount: 1 } }),
        200,
      );
      if (response.body.result?.structuredContent?.status !== 'pending_approval') {
        throw new Error(`tools/call: ${response.text.slice(0, 200)}`);
      }
    },
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
  const [skills, list, run, ticket] = names.map((name) => stats[name]) as ReturnType<typeof summary>[];
  const ratio = (a: ReturnType<typeof summary> | undefined, b: ReturnType<typeof summary> | undefined) =>
    a === undefined || b === undefined
      ? ''
      : `p50 **${(a.p50 / b.p50).toFixed(1)}×** (+${(a.p50 - b.p50).toFixed(2)} ms), p99 **${(a.p99 / b.p99).toFixed(1)}×** (+${(a.p99 - b.p99).toFixed(2)} ms)`;
  const model = readFileSync('/proc/cpuinfo', 'utf8').match(/model name\s*:\s*(.+)/)?.[1] ?? cpus()[0]?.model;
  const lines = [
    `Recorded ${new Date().toISOString()} by \`npx tsx bench/mcp.ts ${ROUNDS}\` on ${cpus().length} CPUs ` +
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
    `tools/list / GET /api/skills: ${ratio(list, skills)}.`,
    `tools/call ticket / POST executions: ${ratio(ticket, run)}.`,
  ];
  process.stdout.write(`${lines.join('\n')}\n`);
} finally {
  await platform.stop();
}
