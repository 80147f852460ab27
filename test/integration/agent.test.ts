/**
 * Local agents end to end: a tenant admin creates an agent, `execfabric agent` (the real CLI, a
 * child process, with the real Python runtime) picks up a `local-agent` run and completes it through
 * the ordinary recording path; a run waiting for an offline agent says so and times out with that
 * reason; and, as an attacker would try, a revoked or foreign token is refused and no agent can
 * report a run it was not leased — another agent's, another tenant's, or its own a second time.
 */
import type { ChildProcess } from 'node:child_process';
import { execFileSync, spawn } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LEASE_CONFIRM_SECONDS } from '../../functions/core/agents/agents.ts';
import { sweepStaleExecutions } from '../../functions/core/executions/sweep.ts';
import { CLI_BIN, cliSession } from '../support/cli.ts';
import { startForwardingProxy } from '../support/forwarding-proxy.ts';
import type { TestResponse } from '../support/http.ts';
import { expectProblem, startTestPlatform, type TestPlatform } from '../support/platform.ts';

const PASSWORD = 'agent-test-password';
let t: TestPlatform;
let alice: string;
let gina: string;
const agents: ChildProcess[] = [];

const acme = (
  path: string,
  init: { method?: string; body?: unknown; token?: string; headers?: Record<string, string> } = {},
) => t.send({ host: 'acme.localhost', path, token: alice, ...init });

async function createAgent(name: string, host = 'acme.localhost', token = alice): Promise<string> {
  const created = await t.send({ host, path: '/api/agents', method: 'POST', token, body: { name } });
  expect(created.status, created.text).toBe(201);
  expect(created.body.token).toMatch(/^efa_/);
  return String(created.body.token);
}

async function agentSkill(
  agent: string,
  source: string,
  outputSchema: unknown = { type: 'object' },
): Promise<string> {
  const script = await acme('/api/assets/scripts', {
    method: 'POST',
    body: { name: `on-${agent}-${Date.now()}`, source },
  });
  expect(script.status, script.text).toBe(201);
  const skill = await acme('/api/skills', {
    method: 'POST',
    body: {
      name: `Agent skill ${agent} ${Date.now()}`,
      inputSchema: { type: 'object' },
      outputSchema,
      risk: 'low',
      asset: { kind: 'local-agent', id: script.body.id, version: 'active', agent },
      limits: { timeoutSeconds: 20 },
    },
  });
  expect(skill.status, skill.text).toBe(201);
  return String(skill.body.id);
}

/** A new token of an agent (the old one stops working), for driving its channel by hand. */
async function rotateToken(name: string): Promise<string> {
  const rotated = await acme(`/api/agents/${name}/token`, { method: 'POST' });
  expect(rotated.status, rotated.text).toBe(201);
  return String(rotated.body.token);
}

async function request(skillId: string, input: unknown = {}): Promise<string> {
  const run = await acme(`/api/skills/${skillId}/executions`, { method: 'POST', body: { input } });
  expect(run.status, run.text).toBe(202);
  return String(run.body.id);
}

async function until(id: string, done: (run: TestResponse['body']) => boolean, seconds = 60) {
  const deadline = Date.now() + seconds * 1000;
  for (;;) {
    const run = (await acme(`/api/executions/${id}`)).body;
    if (done(run) || Date.now() > deadline) return run;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

function startAgent(
  name: string,
  token: string,
  port = t.platform.port,
): { child: ChildProcess; output: () => string; exit: Promise<number> } {
  const child = spawn(
    process.execPath,
    [CLI_BIN, 'agent', '--name', name, '--host', `http://acme.localhost:${port}`],
    {
      env: {
        PATH: process.env.PATH ?? '',
        HOME: process.env.HOME ?? '/tmp',
        NO_COLOR: '1',
        EXECFABRIC_AGENT_TOKEN: token,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  agents.push(child);
  let text = '';
  child.stdout?.on('data', (chunk: Buffer) => {
    text += chunk.toString('utf8');
  });
  child.stderr?.on('data', (chunk: Buffer) => {
    text += chunk.toString('utf8');
  });
  const exit = new Promise<number>((resolve) => child.on('close', (code) => resolve(code ?? -1)));
  return { child, output: () => text, exit };
}

/** Every process below `root` (the agent's Python host, its zygote and jobs). */
function descendants(root: number): number[] {
  const table = execFileSync('ps', ['-e', '-o', 'pid=,ppid='], { encoding: 'utf8' })
    .trim()
    .split('\n')
    .map((line) => line.trim().split(/\s+/).map(Number) as [number, number]);
  const found: number[] = [];
  for (let parents = [root]; parents.length > 0; ) {
    parents = table.filter(([, ppid]) => parents.includes(ppid)).map(([pid]) => pid);
    found.push(...parents);
  }
  return found;
}

/** Once the agent polls: connected, its Python host up (it handles a stop from then on). */
async function polling(agent: ReturnType<typeof startAgent>): Promise<void> {
  const ready = Date.now() + 30_000;
  while (!agent.output().includes('waiting for runs') && Date.now() < ready) {
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  while (descendants(agent.child.pid ?? 0).length === 0 && Date.now() < ready) {
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  await new Promise((resolve) => setTimeout(resolve, 500));
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** The agent channel, driven by hand as an attacker (or a buggy agent) would. */
const channel = (token: string, path: string, body: unknown, host = 'acme.localhost') =>
  t.send({ host, method: 'POST', path, token, body });

beforeAll(async () => {
  t = await startTestPlatform(PASSWORD);
  alice = await t.login('acme.localhost', 'alice');
  gina = await t.login('globex.localhost', 'gina');
});

afterAll(async () => {
  for (const child of agents) if (child.exitCode === null) child.kill('SIGKILL');
  await t?.stop();
});

describe('execfabric agent', () => {
  it('picks up a local-agent run, runs it in the Python runtime and reports it through the recording path', async () => {
    const token = await createAgent('laptop');
    const skill = await agentSkill(
      'laptop',
      'import os\n\ndef main(inputs, ctx):\n    print("on the agent", inputs["n"])\n    return {"double": inputs["n"] * 2, "token": os.environ.get("EXECFABRIC_AGENT_TOKEN")}\n',
    );
    const waiting = await request(skill, { n: 21 });
    const before = (await acme(`/api/executions/${waiting}`)).body;
    expect(before.status).toBe('queued');
    expect(before.waitingFor).toBe('waiting for agent laptop, which has never connected');
    expect(before.asset).toMatchObject({ kind: 'local-agent', agent: 'laptop' });

    const agent = startAgent('laptop', token);
    const run = await until(
      waiting,
      (current) => current.status === 'succeeded' || current.status === 'failed',
    );
    expect(run.status, JSON.stringify(run)).toBe('succeeded');
    // The agent's environment (its token) never reaches the script.
    expect(run.output).toEqual({ double: 42, token: null });
    expect(run.logs.stdout).toBe('on the agent 21\n');
    expect(run.metrics).toMatchObject({ agent: 'laptop' });
    // The containment the agent's runtime chose, recorded as for the platform's own workers' runs.
    expect(run.sandbox).toMatchObject({
      network: expect.stringMatching(/^(netns|userns|seccomp)$/),
      seccomp: true,
    });
    expect(run.startedAt).toBeDefined();

    const listed = (await acme('/api/agents')).body.items as {
      name: string;
      status: string;
      version: string;
    }[];
    expect(listed.find((item) => item.name === 'laptop')).toMatchObject({
      status: 'online',
      version: expect.any(String),
    });
    const admin = await t.login('admin.localhost', 'admin');
    const console = await t.send({ host: 'admin.localhost', path: '/api/tenants/acme/agents', token: admin });
    expect(console.status, console.text).toBe(200);
    expect(console.body.items).toEqual([expect.objectContaining({ name: 'laptop', status: 'online' })]);

    // Output is checked against the Skill's output schema, as for every executor.
    const strict = await agentSkill('laptop', 'def main(inputs, ctx):\n    return {"wrong": 1}\n', {
      type: 'object',
      required: ['right'],
    });
    const violating = await until(
      await request(strict),
      (current) => current.status === 'failed' || current.status === 'succeeded',
    );
    expect(violating.error).toMatchObject({ type: 'OutputSchemaViolation' });

    const audit = await acme('/api/audit?limit=100');
    const actions = (audit.body.items as { action: string; target: string }[]).filter(
      (entry) => entry.target === `execution:${waiting}`,
    );
    // A run that needs no approval is written `queued` with its request: no `execution.queued` entry.
    expect(actions.map((entry) => entry.action)).toEqual(
      expect.arrayContaining(['execution.requested', 'execution.running', 'execution.succeeded']),
    );

    agent.child.kill('SIGTERM');
    expect(await agent.exit).toBe(0);
  }, 120_000);

  it('streams a running job’s output live, and a cancel stops the job on the agent', async () => {
    const token = await createAgent('desk');
    const skill = await agentSkill(
      'desk',
      'import time\n\ndef main(inputs, ctx):\n    print("first line", flush=True)\n    time.sleep(60)\n    print("never", flush=True)\n    return {}\n',
    );
    const id = await request(skill);
    const agent = startAgent('desk', token);
    // The log shows the first line while the run is still running.
    const deadline = Date.now() + 30_000;
    let live: TestResponse['body'] = {};
    while (Date.now() < deadline) {
      live = (await acme(`/api/executions/${id}/logs`)).body;
      if (live.status === 'running' && JSON.stringify(live.chunks ?? []).includes('first line')) break;
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    expect(live.status).toBe('running');
    expect(live.chunks.map((chunk: { text: string }) => chunk.text).join('')).toBe('first line\n');

    const asked = Date.now();
    const cancel = await acme(`/api/executions/${id}/cancel`, { method: 'POST', body: {} });
    // Accepted: the agent stops the job at its next report, then the run closes.
    expect(cancel.status, cancel.text).toBe(202);
    expect(cancel.body.cancelRequested).toBe(true);
    const ended = await until(id, (run) => run.status !== 'running', 30);
    expect(ended.status, JSON.stringify(ended)).toBe('cancelled');
    expect(ended.cancelledBy).toBe('alice');
    // Stopped within seconds, not when the script's minute was up.
    expect(Date.now() - asked).toBeLessThan(20_000);
    expect(ended.logs.stdout).toBe('first line\n');
    expect(agent.output()).toContain('cancel requested');
    agent.child.kill('SIGTERM');
    expect(await agent.exit).toBe(0);
  }, 120_000);

  it.each(['SIGINT', 'SIGTERM'] as const)(
    'stops at once on %s when idle: the long poll in flight is aborted and nothing is left running',
    async (signal) => {
      const name = `idle-${signal.toLowerCase()}`;
      const agent = startAgent(name, await createAgent(name));
      const ready = Date.now() + 30_000;
      while (!agent.output().includes('waiting for runs') && Date.now() < ready) {
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      const pid = agent.child.pid ?? 0;
      // The Python host is up and the first poll (up to 10 s on the platform) is in flight.
      let below: number[] = [];
      while (below.length === 0 && Date.now() < ready) {
        await new Promise((resolve) => setTimeout(resolve, 200));
        below = descendants(pid);
      }
      expect(below.length, agent.output()).toBeGreaterThan(0);
      await new Promise((resolve) => setTimeout(resolve, 1000));

      const asked = Date.now();
      agent.child.kill(signal);
      expect(await agent.exit, agent.output()).toBe(0);
      // Not the poll's 10 s: well within it, with room for a loaded machine.
      expect(Date.now() - asked).toBeLessThan(3000);
      expect(agent.output()).toContain(`agent ${name} stopped`);
      expect(below.filter(alive)).toEqual([]);
    },
    60_000,
  );

  it('says goodbye as it stops, so a run waiting for it says at once that it is offline', async () => {
    const token = await createAgent('leaving');
    const agent = startAgent('leaving', token);
    await polling(agent);
    agent.child.kill('SIGINT');
    expect(await agent.exit, agent.output()).toBe(0);
    // A run requested now waits for an agent that is gone, and says so (not "online" for a minute).
    const id = await request(await agentSkill('leaving', 'def main(inputs, ctx):\n    return {}\n'));
    const waiting = (await acme(`/api/executions/${id}`)).body;
    expect(waiting.waitingFor, agent.output()).toMatch(
      /^waiting for agent leaving, which is offline \(last seen /,
    );
    const listed = (await acme('/api/agents')).body.items as { name: string; status: string }[];
    expect(listed.find((item) => item.name === 'leaving')?.status).toBe('offline');

    // Back again: its hello makes it online, and it runs the run.
    const again = startAgent('leaving', token);
    const run = await until(id, (current) => current.status === 'succeeded', LEASE_CONFIRM_SECONDS + 30);
    expect(run.status, again.output()).toBe('succeeded');
    expect((await acme('/api/agents')).body.items).toContainEqual(
      expect.objectContaining({ name: 'leaving', status: 'online' }),
    );
    again.child.kill('SIGTERM');
    expect(await again.exit).toBe(0);
  }, 90_000);

  it('stops within seconds when its goodbye gets no answer', async () => {
    const token = await createAgent('stranded');
    // Between the agent and the platform: everything goes through but the goodbye, which is held.
    const proxy = await startForwardingProxy({
      port: t.platform.port,
      host: `acme.localhost:${t.platform.port}`,
      hold: (incoming) => incoming.url === '/api/agent/goodbye',
    });
    try {
      const agent = startAgent('stranded', token, proxy.port);
      await polling(agent);
      const asked = Date.now();
      agent.child.kill('SIGINT');
      expect(await agent.exit, agent.output()).toBe(0);
      expect(Date.now() - asked).toBeLessThan(8000);
      expect(agent.output()).toContain('could not tell the platform that agent stranded is stopping');
      expect(agent.output()).toContain('agent stranded stopped');
    } finally {
      proxy.close();
    }
  }, 60_000);

  it('finishes and records the run in progress before it stops on SIGINT', async () => {
    const token = await createAgent('busy');
    const skill = await agentSkill(
      'busy',
      'import time\n\ndef main(inputs, ctx):\n    print("started", flush=True)\n    time.sleep(2)\n    return {"done": True}\n',
    );
    const id = await request(skill);
    const agent = startAgent('busy', token);
    await until(id, (run) => run.status === 'running', 30);
    agent.child.kill('SIGINT');
    expect(await agent.exit, agent.output()).toBe(0);
    expect(agent.output()).toContain(`stopping once run ${id} is recorded`);
    const run = (await acme(`/api/executions/${id}`)).body;
    expect(run.status, JSON.stringify(run)).toBe('succeeded');
    expect(run.output).toEqual({ done: true });
  }, 60_000);

  it('a stop that lands as a poll hands it a job leaves the run to the next poll, not hanging', async () => {
    const token = await createAgent('racing');
    const skill = await agentSkill('racing', 'def main(inputs, ctx):\n    return {"ran": True}\n');
    const id = await request(skill);
    // Between the agent and the platform: the first poll goes through and the platform leases the
    // job in its answer; the agent is then stopped, and abandons the poll before the answer reaches
    // it. Deterministic: the stop lands after the lease was taken and before it was delivered.
    let agent: ReturnType<typeof startAgent> | null = null;
    // The poll answer that leased the job, which the agent never got.
    const leased: { text?: string } = {};
    const proxy = await startForwardingProxy({
      port: t.platform.port,
      host: `acme.localhost:${t.platform.port}`,
      onAnswer: (incoming, answer, outgoing) => {
        if (incoming.url !== '/api/agent/poll' || answer.status !== 200 || leased.text !== undefined)
          return false;
        leased.text = answer.text;
        incoming.socket.once('close', () => outgoing.destroy());
        agent?.child.kill('SIGINT');
        return true;
      },
    });
    try {
      agent = startAgent('racing', token, proxy.port);
      expect(await agent.exit, agent.output()).toBe(0);
    } finally {
      proxy.close();
    }
    expect(leased.text, agent.output()).toBeDefined();
    expect(JSON.parse(leased.text ?? '{}').job.executionId).toBe(id);
    expect(agent.output()).toContain('agent racing stopped');
    expect((await acme(`/api/executions/${id}`)).body.status).toBe('queued');

    // The lease never reached an agent: unconfirmed, it lapses, and the agent's next start runs the job.
    const again = startAgent('racing', token);
    const run = await until(id, (current) => current.status === 'succeeded', LEASE_CONFIRM_SECONDS + 30);
    expect(run.status, `${JSON.stringify(run)}\n${again.output()}`).toBe('succeeded');
    expect(run.output).toEqual({ ran: true });
    again.child.kill('SIGINT');
    expect(await again.exit).toBe(0);
  }, 90_000);

  it('refuses a lapsed lease once the job went to another poll, so a run is never run twice', async () => {
    const token = await createAgent('twice');
    const skill = await agentSkill('twice', 'def main(inputs, ctx):\n    return {}\n');
    const id = await request(skill);
    const poll = () => channel(token, '/api/agent/poll', { name: 'twice', version: '1', waitSeconds: 0 });
    const first = await poll();
    expect(first.status, first.text).toBe(200);
    // Not lapsed yet: nobody else gets it.
    expect((await poll()).status).toBe(204);
    await new Promise((resolve) => setTimeout(resolve, (LEASE_CONFIRM_SECONDS + 1) * 1000));
    const second = await poll();
    expect(second.status, second.text).toBe(200);
    expect(second.body.job.executionId).toBe(id);
    expectProblem(
      await channel(token, `/api/agent/runs/${id}/started`, { lease: first.body.lease }),
      409,
      'lapsed lease',
    );
    expect((await channel(token, `/api/agent/runs/${id}/started`, { lease: second.body.lease })).status).toBe(
      204,
    );
    // Started: confirmed, and never leased again, however long it runs.
    await new Promise((resolve) => setTimeout(resolve, (LEASE_CONFIRM_SECONDS + 1) * 1000));
    expect((await poll()).status).toBe(204);
    expect((await acme(`/api/executions/${id}`)).body.status).toBe('running');
    const result = await channel(token, `/api/agent/runs/${id}/result`, {
      lease: second.body.lease,
      status: 'succeeded',
      output: {},
    });
    expect(result.body).toEqual({ id, status: 'succeeded' });
  }, 60_000);

  it('says a run waits for an offline agent, and times it out with that reason', async () => {
    await createAgent('offline-box');
    const skill = await agentSkill('offline-box', 'def main(inputs, ctx):\n    return {}\n');
    const id = await request(skill);
    const waiting = (await acme(`/api/executions/${id}`)).body;
    expect(waiting.waitingFor).toContain('offline-box, which has never connected');
    // The list of runs says so as well, with no request per run.
    const listing = (await acme(`/api/executions?skillId=${skill}`)).body;
    expect(listing.items).toHaveLength(1);
    expect(listing.items[0].waitingFor).toBe(waiting.waitingFor);
    // The CLI's list of runs says so too, in a column of its own: from one filtered page, not a
    // listing of every run with a request for each waiting one.
    const asked: string[] = [];
    const proxy = await startForwardingProxy({
      port: t.platform.port,
      host: `acme.localhost:${t.platform.port}`,
      hold: (incoming) => {
        asked.push(`${incoming.method} ${incoming.url}`);
        return false;
      },
    });
    try {
      const cli = cliSession();
      const acmeUrl = `http://127.0.0.1:${proxy.port}`;
      const login = await cli.run(['login', '--host', acmeUrl, '-u', 'alice', '--password-stdin'], {
        input: PASSWORD,
      });
      expect(login.code, login.stderr).toBe(0);
      asked.length = 0;
      const listed = await cli.run([
        'runs',
        '--skill',
        skill,
        '--status',
        'queued',
        '-n',
        '5',
        '--host',
        acmeUrl,
      ]);
      expect(listed.code, listed.stderr).toBe(0);
      const [header = '', row = ''] = listed.stdout.split('\n');
      expect(header).toMatch(/\bSTATUS\b.*\bWAITING FOR$/);
      expect(row).toMatch(
        new RegExp(`^${id}\\s.*\\bqueued\\b.*\\sagent offline-box, which has never connected$`),
      );
      const runRequests = asked.filter((line) => line.startsWith('GET /api/executions'));
      expect(runRequests).toEqual([`GET /api/executions?status=queued&skillId=${skill}&limit=5`]);
    } finally {
      proxy.close();
    }

    const later = new Date(Date.now() + 16 * 60_000);
    const swept = await sweepStaleExecutions({
      table: t.core.table,
      audit: t.core.audit,
      executions: t.core.executions,
      now: () => later,
    });
    expect(swept.changed).toContainEqual({
      tenantId: 'acme',
      executionId: id,
      action: 'timed_out:not-started',
    });
    const closed = (await acme(`/api/executions/${id}`)).body;
    expect(closed.status).toBe('timed_out');
    expect(closed.error).toMatchObject({ type: 'AgentOffline' });
    expect(closed.error.message).toContain('agent offline-box, which has never connected');
  });

  it('runs no disabled script, on an agent as anywhere, and names the script on the run', async () => {
    await createAgent('careful-box');
    const skill = await agentSkill('careful-box', 'def main(inputs, ctx):\n    return {}\n');
    const scriptId = String((await acme(`/api/skills/${skill}`)).body.asset.id);
    const script = (await acme(`/api/assets/scripts/${scriptId}`)).body;
    const state = (value: string) =>
      acme(`/api/assets/scripts/${scriptId}/state`, { method: 'PUT', body: { state: value } });
    expect((await state('disabled')).status).toBe(200);
    // A disabled script's run went to the agent's queue, and ran when the agent next polled.
    const refused = await acme(`/api/skills/${skill}/executions`, { method: 'POST', body: { input: {} } });
    expectProblem(refused, 409, 'disabled script on an agent');
    expect(refused.body.type).toContain('not-runnable');
    expect((await state('active')).status).toBe(200);
    const id = await request(skill);
    // It was named "local-agent" on the run: the kind, not the script.
    expect((await acme(`/api/executions/${id}`)).body.assetName).toBe(script.name);

    // Disabled while the run waits in the agent's queue: the run is withdrawn, and the agent never
    // gets its job (its next poll found it and ran it).
    expect((await state('disabled')).status).toBe(200);
    const withdrawn = (await acme(`/api/executions/${id}`)).body;
    expect(withdrawn.status).toBe('cancelled');
    expect(withdrawn.error).toEqual({
      type: 'NotRunnable',
      message: `The script "${script.name}" was disabled by alice before the run started`,
    });
    // Nor the job of a run cancelled while it waited for the agent.
    expect((await state('active')).status).toBe(200);
    const cancelled = await request(skill);
    expect(
      (await acme(`/api/executions/${cancelled}/cancel`, { method: 'POST', body: {} })).body.status,
    ).toBe('cancelled');
    const polled = await channel(await rotateToken('careful-box'), '/api/agent/poll', {
      name: 'careful-box',
      version: '1',
      waitSeconds: 0,
    });
    expect(polled.status, polled.text).toBe(204);
    const audit = (await acme(`/api/audit?target=${encodeURIComponent(`execution:${id}`)}`)).body.items;
    expect(audit.map((entry: { action: string }) => entry.action)).toContain('execution.cancelled');
  });

  it('refuses a revoked agent token, and the agent stops with a clear error', async () => {
    const token = await createAgent('revoked-box');
    const revoke = await acme('/api/agents/revoked-box/token', { method: 'DELETE' });
    expect(revoke.status, revoke.text).toBe(200);
    expect(revoke.body.status).toBe('revoked');
    const hello = await channel(token, '/api/agent/hello', { name: 'revoked-box', version: '1' });
    expectProblem(hello, 401, 'revoked agent token');

    const agent = startAgent('revoked-box', token);
    expect(await agent.exit).toBe(1);
    expect(agent.output()).toContain('refused the agent token for agent revoked-box');

    // A rotated token replaces the old one at once.
    const first = await createAgent('rotating-box');
    const rotated = await acme('/api/agents/rotating-box/token', { method: 'POST' });
    expect(rotated.status).toBe(201);
    expectProblem(await channel(first, '/api/agent/hello', { name: 'rotating-box', version: '1' }), 401);
    expect(
      (await channel(rotated.body.token, '/api/agent/hello', { name: 'rotating-box', version: '1' })).status,
    ).toBe(200);
  });
});

describe('the agent channel, as an attacker', () => {
  it('fails a run whose reported output holds a number beyond a double, naming where', async () => {
    const token = await createAgent('big-numbers');
    const skill = await agentSkill('big-numbers', 'def main(inputs, ctx):\n    return {}\n');
    const id = await request(skill);
    const taken = await channel(token, '/api/agent/poll', {
      name: 'big-numbers',
      version: '1',
      waitSeconds: 0,
    });
    expect(taken.status, taken.text).toBe(200);
    const lease = String(taken.body.lease);
    expect((await channel(token, `/api/agent/runs/${id}/started`, { lease })).status).toBe(204);
    // Every reader of the run would get 1e400 back as Infinity (it was stored and shown so).
    const reported = await t.send({
      host: 'acme.localhost',
      method: 'POST',
      path: `/api/agent/runs/${id}/result`,
      token,
      headers: { 'content-type': 'application/json' },
      body: `{"lease":"${lease}","status":"succeeded","output":{"big":1e400,"fine":1e300}}`,
    });
    expect(reported.status, reported.text).toBe(200);
    const run = (await acme(`/api/executions/${id}`)).body;
    expect(run.status).toBe('failed');
    expect(run.error).toMatchObject({
      type: 'OutputSchemaViolation',
      message: 'The output has numbers beyond the range of a double',
      issues: [{ path: 'output.big', message: 'must be within ±1.7976931348623157e308' }],
    });
    expect(run.output).toBeUndefined();
  });

  it('accepts reports only from the agent holding the run’s lease, once, in its own tenant', async () => {
    const ownerToken = await createAgent('owner');
    const otherToken = await createAgent('other');
    const globexToken = await createAgent('intruder', 'globex.localhost', gina);
    const skill = await agentSkill('owner', 'def main(inputs, ctx):\n    return {}\n');
    const id = await request(skill);

    // Nobody else's poll gets the run.
    const otherPoll = await channel(otherToken, '/api/agent/poll', {
      name: 'other',
      version: '1',
      waitSeconds: 0,
    });
    expect(otherPoll.status).toBe(204);
    const taken = await channel(ownerToken, '/api/agent/poll', {
      name: 'owner',
      version: '1',
      waitSeconds: 5,
    });
    expect(taken.status, taken.text).toBe(200);
    expect(taken.body.job).toMatchObject({ executionId: id, tenantId: 'acme' });
    const lease = String(taken.body.lease);
    // A leased job is not handed out again.
    expect(
      (await channel(ownerToken, '/api/agent/poll', { name: 'owner', version: '1', waitSeconds: 0 })).status,
    ).toBe(204);

    // Live logs need the lease as well: another agent, or a wrong lease, writes nothing.
    const chunk = { lease, chunks: [{ seq: 1, stream: 'stdout', text: 'forged line' }] };
    expectProblem(await channel(otherToken, `/api/agent/runs/${id}/logs`, chunk), 409, 'other agent logs');
    expectProblem(
      await channel(ownerToken, `/api/agent/runs/${id}/logs`, { ...chunk, lease: 'y'.repeat(43) }),
      409,
      'wrong lease logs',
    );
    expectProblem(await channel(alice, `/api/agent/runs/${id}/logs`, chunk), 401, 'user session logs');
    expect((await acme(`/api/executions/${id}/logs`)).body.chunks).toEqual([]);
    // The holder's report is taken, within its limits.
    const own = await channel(ownerToken, `/api/agent/runs/${id}/logs`, {
      lease,
      chunks: [{ seq: 1, stream: 'stdout', text: 'own line' }],
    });
    expect(own.status, own.text).toBe(200);
    expect(own.body).toEqual({ stop: false });
    expectProblem(
      await channel(ownerToken, `/api/agent/runs/${id}/logs`, {
        lease,
        chunks: [{ seq: 2001, stream: 'stdout', text: 'x' }],
      }),
      422,
      'seq beyond the limit',
    );
    expect((await acme(`/api/executions/${id}/logs`)).body.chunks).toEqual([
      expect.objectContaining({ seq: 1, stream: 'stdout', text: 'own line' }),
    ]);

    const result = { lease, status: 'succeeded', output: { forged: true } };
    // Another agent of the tenant, with or without the lease.
    expectProblem(await channel(otherToken, `/api/agent/runs/${id}/result`, result), 409, 'other agent');
    expectProblem(
      await channel(otherToken, `/api/agent/runs/${id}/started`, { lease }),
      409,
      'other agent started',
    );
    // Another tenant's agent: its token means nothing on acme's host, and acme's run nothing on its own.
    expectProblem(
      await channel(globexToken, `/api/agent/runs/${id}/result`, result),
      401,
      'globex token on acme',
    );
    expectProblem(
      await channel(globexToken, `/api/agent/runs/${id}/result`, result, 'globex.localhost'),
      [404, 409],
      'acme run on globex',
    );
    // A containment record is a short plan, not a place for anything the agent likes.
    const sprawling = Object.fromEntries(Array.from({ length: 17 }, (_, index) => [`field${index}`, 'x']));
    expectProblem(
      await channel(ownerToken, `/api/agent/runs/${id}/result`, { ...result, sandbox: sprawling }),
      422,
      'a sandbox of 17 fields',
    );
    expectProblem(
      await channel(ownerToken, `/api/agent/runs/${id}/result`, {
        ...result,
        sandbox: { network: 'x'.repeat(65) },
      }),
      422,
      'a sandbox field of 65 characters',
    );
    // A metric the run's item cannot hold as a number (the document client refused it: a 500, the
    // lease left unused); a metric beyond a double is no number at all.
    for (const metrics of ['{"a":1e20}', '{"a":1e400}', '{"a":-9007199254740992}']) {
      const refused = await t.send({
        host: 'acme.localhost',
        method: 'POST',
        path: `/api/agent/runs/${id}/result`,
        token: ownerToken,
        headers: { 'content-type': 'application/json' },
        body: `{"lease":"${lease}","status":"succeeded","output":{},"metrics":${metrics}}`,
      });
      expectProblem(refused, 422, `metrics ${metrics}`);
      expect(refused.body.errors[0].path, refused.text).toBe('metrics.a');
    }
    // The owner without the right lease; a user's session; a forged token.
    expectProblem(
      await channel(ownerToken, `/api/agent/runs/${id}/result`, { ...result, lease: 'x'.repeat(43) }),
      409,
      'wrong lease',
    );
    expectProblem(await channel(alice, `/api/agent/runs/${id}/result`, result), 401, 'user session');
    expectProblem(
      await channel(`efa_${'0'.repeat(16)}_${'A'.repeat(43)}`, `/api/agent/runs/${id}/result`, result),
      401,
      'forged token',
    );
    expectProblem(
      await channel(ownerToken, '/api/agent/hello', { name: 'other', version: '1' }),
      404,
      'other name',
    );
    // Only an agent itself says it is stopping: not another agent, a user, or one of another tenant.
    expectProblem(
      await channel(ownerToken, '/api/agent/goodbye', { name: 'other' }),
      404,
      'goodbye as other',
    );
    expectProblem(await channel(alice, '/api/agent/goodbye', { name: 'owner' }), 401, 'goodbye as a user');
    expectProblem(
      await channel(globexToken, '/api/agent/goodbye', { name: 'owner' }),
      401,
      'goodbye from globex',
    );
    expectProblem(
      await channel(ownerToken, '/api/agent/goodbye', { name: 'owner' }, 'globex.localhost'),
      401,
      'goodbye on globex',
    );
    const agentsNow = (await acme('/api/agents')).body.items as { name: string; stoppedAt: string | null }[];
    expect(
      agentsNow.filter((item) => ['owner', 'other'].includes(item.name)).map((item) => item.stoppedAt),
    ).toEqual([null, null]);
    // An agent token is no user credential.
    expectProblem(
      await t.send({ host: 'acme.localhost', path: '/api/skills', token: ownerToken }),
      401,
      'agent on user API',
    );
    // None of the refused reports moved the run; the owner's own log chunk above shows it running
    // before its `started` report (a queued run that streams its log is shown running).
    const watched = (await acme(`/api/executions/${id}`)).body;
    expect(watched.status).toBe('running');
    expect(watched.finishedAt ?? null).toBeNull();

    // The owner reports, once.
    expect((await channel(ownerToken, `/api/agent/runs/${id}/started`, { lease })).status).toBe(204);
    const first = await channel(ownerToken, `/api/agent/runs/${id}/result`, {
      lease,
      status: 'succeeded',
      output: { real: true },
      logs: { stdout: 'done\n', stderr: '', truncated: false },
      // At the limits: 16 fields, a value of 64 characters. Keys named like object properties are
      // data: a marshaller took a map with a `constructor` key for a class instance (a 500, the run
      // left running).
      sandbox: {
        ...Object.fromEntries(Object.entries(sprawling).slice(3)),
        network: 'n'.repeat(64),
        constructor: 'sandbox',
      },
      metrics: { constructor: 'x', toString: 2, valueOf: true },
    });
    expect(first.status, first.text).toBe(200);
    expect(first.body).toEqual({ id, status: 'succeeded' });
    expectProblem(
      await channel(ownerToken, `/api/agent/runs/${id}/result`, {
        lease,
        status: 'failed',
        error: { type: 'X', message: 'x' },
      }),
      409,
      'second result',
    );
    const run = (await acme(`/api/executions/${id}`)).body;
    expect(run).toMatchObject({ status: 'succeeded', output: { real: true } });
    expect(Object.keys(run.sandbox)).toHaveLength(16);
    expect(run.sandbox.constructor).toBe('sandbox');
    expect(run.metrics).toEqual({ constructor: 'x', toString: 2, valueOf: true, agent: 'owner' });
  });

  it('keeps agent management to tenant admins', async () => {
    const bob = await t.login('acme.localhost', 'bob');
    expectProblem(await t.send({ host: 'acme.localhost', path: '/api/agents', token: bob }), 403);
    expectProblem(
      await t.send({
        host: 'acme.localhost',
        path: '/api/agents',
        method: 'POST',
        token: bob,
        body: { name: 'mine' },
      }),
      403,
    );
    expectProblem(await acme('/api/agents', { method: 'POST', body: { name: 'Bad Name!' } }), 422);
    expectProblem(await acme('/api/agents', { method: 'POST', body: { name: 'owner' } }), 409);
    // A Skill cannot bind to an agent the tenant does not have.
    const script = await acme('/api/assets/scripts', {
      method: 'POST',
      body: { name: 'x', source: 'def main(i, c):\n    return {}\n' },
    });
    const skill = await acme('/api/skills', {
      method: 'POST',
      body: {
        name: 'Nowhere',
        inputSchema: { type: 'object' },
        outputSchema: {},
        risk: 'low',
        asset: { kind: 'local-agent', id: script.body.id, agent: 'intruder' },
      },
    });
    expectProblem(skill, 422);
    expect(skill.body.errors).toContainEqual(expect.objectContaining({ path: 'asset.agent' }));
  });
});
