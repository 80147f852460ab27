/**
 * A local agent is a daemon: when its tenant's host is past the edge's API rate limit (a CI loop of
 * the tenant's, or anyone spending the host's count) its polls are answered 429 with Retry-After,
 * and it waits and polls again — it does not stop, as it did before (a 429 was read as a refusal of
 * its token). Once the window has passed it takes the next run and records it. The real CLI agent
 * and the real local platform, whose per-host count runs on a clock the test moves.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLI_BIN } from '../support/cli.ts';
import { HOSTS, startTestPlatform } from '../support/platform.ts';

const PASSWORD = 'agent-rate-limit-password';
const RULE = { requests: 20, windowSeconds: 60 } as const;
const WINDOW_MS = RULE.windowSeconds * 1000;

let windowIndex = Math.floor(Date.now() / WINDOW_MS);
let clock = (windowIndex + 1) * WINDOW_MS - 500;
/** Moves the count's clock half a second before the end of the next window: every count starts again. */
function nextWindow(): void {
  windowIndex += 1;
  clock = (windowIndex + 1) * WINDOW_MS - 500;
}

const t = await startTestPlatform(PASSWORD, { hostRateLimit: RULE, hostRateClock: () => clock });
let alice: string;
let agentToken: string;
let skillId: string;
let agent: ChildProcess | undefined;

const acme = (path: string, init: { method?: string; body?: unknown } = {}) =>
  t.send({ host: HOSTS.acme, path, token: alice, ...init });

/** A new window, then acme's host spends all of it but `leave` requests. */
async function fill(leave: number): Promise<void> {
  nextWindow();
  for (let n = 0; n < RULE.requests - leave; n += 1) {
    const answer = await t.send({ host: HOSTS.acme, path: '/api/health' });
    expect(answer.status, answer.text).toBe(200);
  }
}

async function until(condition: () => boolean, seconds: number, what: () => string): Promise<void> {
  const deadline = Date.now() + seconds * 1000;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting: ${what()}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

beforeAll(async () => {
  nextWindow();
  alice = await t.login(HOSTS.acme, 'alice');
  const created = await acme('/api/agents', { method: 'POST', body: { name: 'laptop' } });
  expect(created.status, created.text).toBe(201);
  agentToken = String(created.body.token);
  const script = await acme('/api/assets/scripts', {
    method: 'POST',
    body: { name: 'on-laptop', source: 'def main(inputs, ctx):\n    return {"ran": True}\n' },
  });
  expect(script.status, script.text).toBe(201);
  const skill = await acme('/api/skills', {
    method: 'POST',
    body: {
      name: 'On the laptop',
      inputSchema: { type: 'object' },
      outputSchema: { type: 'object' },
      risk: 'low',
      asset: { kind: 'local-agent', id: script.body.id, version: 'active', agent: 'laptop' },
      limits: { timeoutSeconds: 20 },
    },
  });
  expect(skill.status, skill.text).toBe(201);
  skillId = String(skill.body.id);
});

afterAll(async () => {
  agent?.kill('SIGKILL');
  await t.stop();
});

describe('a local agent whose host is past its API rate limit', () => {
  it('waits as Retry-After says and polls again, then takes the next run once the window has passed', async () => {
    // One request left in the window: the agent's hello takes it, and every poll after is refused.
    await fill(1);
    let output = '';
    let exited: number | null = null;
    agent = spawn(
      process.execPath,
      [CLI_BIN, 'agent', '--name', 'laptop', '--host', `http://acme.localhost:${t.platform.port}`],
      {
        env: {
          PATH: process.env.PATH ?? '',
          HOME: process.env.HOME ?? '/tmp',
          NO_COLOR: '1',
          EXECFABRIC_AGENT_TOKEN: agentToken,
        },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    agent.stdout?.on('data', (chunk: Buffer) => {
      output += chunk.toString('utf8');
    });
    agent.stderr?.on('data', (chunk: Buffer) => {
      output += chunk.toString('utf8');
    });
    agent.on('close', (code) => {
      exited = code ?? -1;
    });
    const refusals = () =>
      (output.match(/rate limited by acme\.localhost:\d+; retrying in 1 s/g) ?? []).length;

    await until(
      () => output.includes('waiting for runs') || exited !== null,
      30,
      () => output,
    );
    expect(exited, output).toBeNull();
    // The client's own retries, as Retry-After says (1 s: the window ends in half a second on the
    // count's clock, which the test holds still)…
    await until(
      () => refusals() >= 2 || exited !== null,
      30,
      () => output,
    );
    expect(exited, output).toBeNull();
    // …and past them, the poll loop's pause: the agent never takes a 429 for a refused token.
    await until(
      () => output.includes('polling again in 1s') || exited !== null,
      40,
      () => output,
    );
    expect(exited, output).toBeNull();
    expect(output).not.toContain('refused the agent token');

    // The window passes: the next poll goes through and the run is taken, run and recorded.
    nextWindow();
    const requested = await acme(`/api/skills/${skillId}/executions`, {
      method: 'POST',
      body: { input: {} },
    });
    expect(requested.status, requested.text).toBe(202);
    const id = String(requested.body.id);
    await until(
      () => output.includes(`run ${id}: succeeded → recorded as succeeded`) || exited !== null,
      60,
      () => output,
    );
    expect(exited, output).toBeNull();
    const run = await acme(`/api/executions/${id}`);
    expect(run.body.status, run.text).toBe('succeeded');
    expect(run.body.output).toEqual({ ran: true });
  }, 150_000);
});
