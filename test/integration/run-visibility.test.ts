/**
 * Run history follows the catalogue's visibility (GET /api/executions): a caller who does not manage
 * Skills sees the runs of the Skills they may see and no others, whoever requested them; a manager
 * of Skills sees every run. Over real HTTP against the embedded platform.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HOSTS, startTestPlatform, type TestPlatform } from '../support/platform.ts';

const PASSWORD = 'run-visibility-suite-password';
let t: TestPlatform;
let alice: string;
let bob: string;
const runs = { open: '', hidden: '' };

beforeAll(async () => {
  t = await startTestPlatform(PASSWORD);
  [alice, bob] = await Promise.all([t.login(HOSTS.acme, 'alice'), t.login(HOSTS.acme, 'bob')]);
  const api = (method: string, path: string, body?: unknown) =>
    t.send({ host: HOSTS.acme, token: alice, method, path, ...(body === undefined ? {} : { body }) });
  const script = await api('POST', '/api/assets/scripts', {
    name: 'visible.py',
    source: 'def main(input, ctx):\n    return {}\n',
  });
  expect(script.status, script.text).toBe(201);
  for (const [kind, roles] of [
    ['open', []],
    ['hidden', ['admin']],
  ] as const) {
    const skill = await api('POST', '/api/skills', {
      name: `Visibility ${kind}`,
      inputSchema: { type: 'object' },
      outputSchema: true,
      risk: 'low',
      asset: { kind: 'python-script', id: script.body.id, version: 'active' },
      visibility: { roles: [...roles] },
    });
    expect(skill.status, skill.text).toBe(201);
    const started = await api('POST', `/api/skills/${skill.body.id}/executions`, { input: {} });
    expect(started.status, started.text).toBe(202);
    runs[kind] = String(started.body.id);
  }
}, 120_000);
afterAll(async () => {
  await t?.stop();
});

async function listed(token: string): Promise<string[]> {
  const response = await t.send({ host: HOSTS.acme, path: '/api/executions?limit=100', token });
  expect(response.status, response.text).toBe(200);
  return (response.body.items as { id: string }[]).map((run) => run.id);
}

describe('run history', () => {
  it('hides the runs of a Skill the caller may not see, and a manager of Skills sees them all', async () => {
    const forBob = await listed(bob);
    expect(forBob).toContain(runs.open);
    expect(forBob).not.toContain(runs.hidden);
    const forAlice = await listed(alice);
    expect(forAlice).toEqual(expect.arrayContaining([runs.open, runs.hidden]));
  });
});
