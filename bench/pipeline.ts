/**
 * The execution pipeline end to end on the local platform: a no-op Skill from `POST …/executions`
 * to its terminal state (p50/p99), and throughput with 1, 4 and 16 concurrent clients. The baseline
 * in the same run is the job's own time inside the Python runner (`metrics.durationMs`), so the ratio
 * is what the pipeline (HTTP, table, queues, pollers, recorder) adds around a job.
 *
 *   npx tsx bench/pipeline.ts [runs]
 */
import { cpus, loadavg, totalmem } from 'node:os';
import { startLocalPlatform } from '../lib/local/platform.ts';
import { call } from '../test/support/http.ts';

const RUNS = Number(process.argv[2] ?? '60');
const PASSWORD = 'bench-password-123';
const HOST = 'acme.localhost';
const ADMIN_HOST = 'admin.localhost';

function percentile(values: readonly number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? Number.NaN;
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
  const api = (token: string, method: string, path: string, body?: unknown) =>
    call(platform.url, { host: HOST, token, method, path, body });
  const login = await call(platform.url, {
    host: HOST,
    method: 'POST',
    path: '/api/auth/login',
    body: { username: 'alice', password: PASSWORD },
  });
  const token: string = login.body.token;
  const script = await api(token, 'POST', '/api/assets/scripts', {
    name: 'noop.py',
    source: 'def main(inputs, ctx):\n    return {}\n',
  });
  const skill = await api(token, 'POST', '/api/skills', {
    name: 'No-op',
    inputSchema: { type: 'object' },
    outputSchema: { type: 'object' },
    risk: 'low',
    asset: { kind: 'python-script', id: script.body.id, version: 'active' },
  });
  const skillId: string = skill.body.id;

  /** One run, its end learnt by polling every `pollMs`, or (`'wait'`) from a `Prefer: wait` answer. */
  async function runOnce(
    pollMs: number | 'wait' = 5,
  ): Promise<{ clientMs: number; serverMs: number; jobMs: number }> {
    const started = performance.now();
    if (pollMs === 'wait') {
      const answered = await call(platform.url, {
        host: HOST,
        token,
        method: 'POST',
        path: `/api/skills/${skillId}/executions`,
        body: { input: {} },
        headers: { prefer: 'wait=20' },
      });
      if (answered.status !== 200 || answered.body.status !== 'succeeded') {
        throw new Error(`run did not end in the wait: ${answered.text}`);
      }
      return {
        clientMs: performance.now() - started,
        serverMs: Date.parse(answered.body.finishedAt) - Date.parse(answered.body.createdAt),
        jobMs: Number(answered.body.metrics?.durationMs ?? Number.NaN),
      };
    }
    const posted = await api(token, 'POST', `/api/skills/${skillId}/executions`, { input: {} });
    if (posted.status !== 202) throw new Error(`POST failed: ${posted.text}`);
    for (;;) {
      const execution = (await api(token, 'GET', `/api/executions/${posted.body.id}`)).body;
      if (execution.status === 'succeeded') {
        return {
          clientMs: performance.now() - started,
          serverMs: Date.parse(execution.finishedAt) - Date.parse(execution.createdAt),
          jobMs: Number(execution.metrics?.durationMs ?? Number.NaN),
        };
      }
      if (!['requested', 'queued', 'running'].includes(execution.status)) {
        throw new Error(`run ended ${execution.status}: ${JSON.stringify(execution.error)}`);
      }
      await new Promise((resolve) => setTimeout(resolve, pollMs));
    }
  }

  for (let warm = 0; warm < 5; warm++) await runOnce();

  const samples = [];
  for (let index = 0; index < RUNS; index++) samples.push(await runOnce());
  const waited = [];
  for (let index = 0; index < RUNS; index++) waited.push(await runOnce('wait'));
  const client = samples.map((sample) => sample.clientMs);
  const waitedClient = waited.map((sample) => sample.clientMs);
  const server = samples.map((sample) => sample.serverMs);
  const job = samples.map((sample) => sample.jobMs);

  const throughput: {
    plan: string;
    clients: number;
    runs: number;
    seconds: number;
    perSecond: number;
    p50: number;
  }[] = [];
  const measure = async (plan: string, clients: number, mode: 'poll' | 'wait' = 'poll') => {
    const perClient = Math.max(2, Math.round(RUNS / clients));
    const began = performance.now();
    const latencies: number[] = [];
    await Promise.all(
      Array.from({ length: clients }, async () => {
        // Clients poll every 50 ms here, so their own polling does not starve the 2-core machine.
        for (let index = 0; index < perClient; index++) {
          latencies.push((await runOnce(mode === 'wait' ? 'wait' : 50)).serverMs);
        }
      }),
    );
    const seconds = (performance.now() - began) / 1000;
    throughput.push({
      plan: mode === 'wait' ? `${plan}, Prefer: wait` : plan,
      clients,
      runs: clients * perClient,
      seconds,
      perSecond: (clients * perClient) / seconds,
      p50: percentile(latencies, 50),
    });
  };
  // acme is on the standard plan: 2 of its script jobs at once (issue 12's per-tenant slots); a job
  // of a full tenant waits on the queue (1 s, then longer) before it is asked again.
  for (const clients of [1, 4, 16]) await measure('standard (2 slots)', clients);
  // The same tenant on the enterprise plan (8 slots), set by the super-admin: what the pipeline
  // carries when the tenant's cap is not the bound.
  const adminLogin = await call(platform.url, {
    host: ADMIN_HOST,
    method: 'POST',
    path: '/api/auth/login',
    body: { username: 'admin', password: PASSWORD },
  });
  const patched = await call(platform.url, {
    host: ADMIN_HOST,
    token: adminLogin.body.token,
    method: 'PATCH',
    path: '/api/tenants/acme',
    body: { plan: 'enterprise' },
  });
  if (patched.status !== 200) throw new Error(`plan change failed: ${patched.text}`);
  for (const clients of [4, 16]) await measure('enterprise (8 slots)', clients);
  // The same, with each client learning its run's end from the answer instead of polling for it.
  for (const clients of [1, 16]) await measure('enterprise (8 slots)', clients, 'wait');

  const cpu = cpus()[0]?.model ?? 'unknown CPU';
  const lines = [
    `Pipeline bench ${new Date().toISOString()} on ${cpus().length} CPUs (${cpu}), ${(totalmem() / 2 ** 30).toFixed(1)} GiB, load average ${loadavg()
      .map((value) => value.toFixed(2))
      .join(' ')} at the end`,
    '',
    '| no-op Skill, sequential | runs | p50 ms | p99 ms |',
    '| --- | ---: | ---: | ---: |',
    `| POST → terminal, seen by the client (5 ms polling) | ${RUNS} | ${percentile(client, 50).toFixed(1)} | ${percentile(client, 99).toFixed(1)} |`,
    `| POST → terminal, seen by the client (\`Prefer: wait\`) | ${RUNS} | ${percentile(waitedClient, 50).toFixed(1)} | ${percentile(waitedClient, 99).toFixed(1)} |`,
    `| createdAt → finishedAt, recorded by the platform | ${RUNS} | ${percentile(server, 50).toFixed(1)} | ${percentile(server, 99).toFixed(1)} |`,
    `| baseline: the job inside the runner (metrics.durationMs) | ${RUNS} | ${percentile(job, 50).toFixed(1)} | ${percentile(job, 99).toFixed(1)} |`,
    '',
    `Pipeline / job at p50: **${(percentile(server, 50) / percentile(job, 50)).toFixed(1)}×**`,
    '',
    '| tenant plan | concurrent clients (polling every 50 ms) | runs | seconds | runs/s | p50 ms createdAt → finishedAt |',
    '| --- | ---: | ---: | ---: | ---: | ---: |',
    ...throughput.map(
      (row) =>
        `| ${row.plan} | ${row.clients} | ${row.runs} | ${row.seconds.toFixed(2)} | ${row.perSecond.toFixed(1)} | ${row.p50.toFixed(1)} |`,
    ),
  ];
  process.stdout.write(`${lines.join('\n')}\n`);
} finally {
  await platform.stop();
}
