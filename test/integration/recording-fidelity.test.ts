/**
 * A script's output is recorded exactly (issue 12): big integers and -0.0 as the script wrote them,
 * and the declared output limit (MAX_OUTPUT_BYTES of compact UTF-8 JSON) is the real one through the
 * whole result channel — the runtime, the worker's result message, the results queue and the recorder.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MAX_OUTPUT_BYTES } from '../../functions/core/executions/executions.ts';
import type { TestResponse } from '../support/http.ts';
import { HOSTS, startTestPlatform } from '../support/platform.ts';
import { scriptSkill } from '../support/runs.ts';

const PASSWORD = 'recording-fidelity-password';
const t = await startTestPlatform(PASSWORD);
let alice: string;

beforeAll(async () => {
  alice = await t.login(HOSTS.acme, 'alice');
});
afterAll(async () => {
  await t.stop();
});

function api(method: string, path: string, body?: unknown) {
  return t.send({ host: HOSTS.acme, token: alice, method, path, ...(body === undefined ? {} : { body }) });
}

async function runScript(source: string, input: Record<string, unknown> = {}): Promise<TestResponse> {
  const { skillId } = await scriptSkill(
    (token, method, path, body) => t.send({ host: HOSTS.acme, token, method, path, body }),
    alice,
    source,
    {
      scriptName: 'r.py',
      skill: { name: 'Recording', description: '', limits: { timeoutSeconds: 30 } },
    },
  );
  const started = await api('POST', `/api/skills/${skillId}/executions`, { input });
  expect(started.status, started.text).toBe(202);
  for (let attempt = 0; attempt < 600; attempt++) {
    const run = await api('GET', `/api/executions/${started.body.id}`);
    if (!['requested', 'queued', 'running'].includes(run.body.status)) return run;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error('the run never finished');
}

describe('a script output is recorded exactly', () => {
  it('returns big integers and -0.0 as the script wrote them', async () => {
    const run = await runScript(
      'def main(inputs, ctx):\n    return {"big": 2**70, "negZero": -0.0, "neg": -(10**30)}\n',
    );
    expect(run.body.status, run.text).toBe('succeeded');
    expect(run.text).toContain(
      '"output":{"big":1180591620717411303424,"negZero":-0.0,"neg":-1000000000000000000000000000000}',
    );
  });
});

describe('the declared output limit is the real one', () => {
  // {"s":"…"} is 8 bytes around the string.
  it('records an output of exactly MAX_OUTPUT_BYTES, with a full input and full logs', async () => {
    const run = await runScript(
      `def main(inputs, ctx):\n    print("o" * 70000)\n    return {"s": "x" * ${MAX_OUTPUT_BYTES - 8}}\n`,
      { pad: 'p'.repeat(60_000) },
    );
    expect(run.body.status, run.text.slice(0, 500)).toBe('succeeded');
    expect(String(run.body.output.s).length).toBe(MAX_OUTPUT_BYTES - 8);
  });

  it('counts UTF-8 bytes, as the API does', async () => {
    // 2 bytes of UTF-8 each, 6 bytes each when ASCII-escaped: under the limit by the declared measure.
    const run = await runScript(
      `def main(inputs, ctx):\n    return {"s": "é" * ${Math.floor((MAX_OUTPUT_BYTES - 8) / 2)}}\n`,
    );
    expect(run.body.status, run.text.slice(0, 500)).toBe('succeeded');
  });

  it('fails one byte over, naming the limit', async () => {
    const run = await runScript(`def main(inputs, ctx):\n    return {"s": "x" * ${MAX_OUTPUT_BYTES - 7}}\n`);
    expect(run.body.status).toBe('failed');
    expect(run.body.error).toMatchObject({ limit: 'output' });
    expect(String(run.body.error.message)).toContain(String(MAX_OUTPUT_BYTES));
  });
});
