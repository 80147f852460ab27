/**
 * The local agent's Python host (lib/cli/agent_host.py) under Ctrl-C as a terminal delivers it: to
 * every process of the agent's group, the host too. The first Ctrl-C is the agent's to act on (the
 * run in progress finishes; the agent then closes the pipe and sends SIGTERM), a second one exits at
 * once; neither leaves a traceback or a "Fatal Python error" behind.
 */
import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPOSITORY_ROOT } from '../../lib/local/platform.ts';
import { PYTHON_LAYER_DIR, resolvePythonInterpreter } from '../../lib/local/python-function.ts';

const python = await resolvePythonInterpreter();

interface Host {
  readonly child: ChildProcessWithoutNullStreams;
  readonly messages: Record<string, unknown>[];
  readonly stderr: () => string;
  readonly exit: Promise<number | null>;
  next(type: string): Promise<Record<string, unknown>>;
}

function startHost(): Host {
  const child = spawn(
    python,
    [
      '-I',
      '-S',
      resolve(REPOSITORY_ROOT, 'lib/cli/agent_host.py'),
      resolve(REPOSITORY_ROOT, PYTHON_LAYER_DIR),
    ],
    { env: { PATH: process.env.PATH ?? '/usr/bin:/bin', LANG: 'C.UTF-8' }, stdio: ['pipe', 'pipe', 'pipe'] },
  );
  const messages: Record<string, unknown>[] = [];
  let buffered = '';
  let errors = '';
  child.stdout.on('data', (chunk: Buffer) => {
    buffered += chunk.toString('utf8');
    for (let end = buffered.indexOf('\n'); end >= 0; end = buffered.indexOf('\n')) {
      messages.push(JSON.parse(buffered.slice(0, end)) as Record<string, unknown>);
      buffered = buffered.slice(end + 1);
    }
  });
  child.stderr.on('data', (chunk: Buffer) => {
    errors += chunk.toString('utf8');
  });
  const exit = new Promise<number | null>((done) => child.on('exit', (code) => done(code)));
  return {
    child,
    messages,
    stderr: () => errors,
    exit,
    async next(type) {
      const deadline = Date.now() + 20_000;
      for (;;) {
        const found = messages.find((message) => message.type === type);
        if (found !== undefined) return found;
        if (Date.now() > deadline || child.exitCode !== null)
          throw new Error(`no ${type} message; ${errors}`);
        await new Promise((wait) => setTimeout(wait, 50));
      }
    },
  };
}

const job = {
  source: 'import time\n\ndef main(inputs, ctx):\n    time.sleep(1)\n    return {"slept": True}\n',
  input: {},
  limits: { timeoutSeconds: 10, memoryMb: 256, outputBytes: 65536, logBytes: 65536 },
  executionId: 'ex-agent-host-1',
  tenantId: 'acme',
  skillId: 'skl-sleep',
};

describe('the agent host under Ctrl-C', () => {
  it('finishes the run in progress on the first Ctrl-C, then stops cleanly as the agent stops it', async () => {
    const host = startHost();
    await host.next('ready');
    host.child.stdin.write(`${JSON.stringify({ type: 'run', id: job.executionId, job })}\n`);
    await new Promise((wait) => setTimeout(wait, 300));
    host.child.kill('SIGINT');
    const outcome = await host.next('outcome');
    expect(outcome.outcome).toMatchObject({ status: 'succeeded', output: { slept: true } });
    host.child.stdin.end();
    host.child.kill('SIGTERM');
    expect(await host.exit).toBe(0);
    expect(host.stderr()).not.toMatch(/Traceback|Fatal Python error/);
  }, 30_000);

  it('exits at once on a second Ctrl-C, without a traceback', async () => {
    const host = startHost();
    await host.next('ready');
    host.child.kill('SIGINT');
    await new Promise((wait) => setTimeout(wait, 200));
    expect(host.child.exitCode).toBeNull();
    host.child.kill('SIGINT');
    expect(await host.exit).toBe(130);
    expect(host.stderr()).not.toMatch(/Traceback|Fatal Python error/);
  }, 30_000);
});
