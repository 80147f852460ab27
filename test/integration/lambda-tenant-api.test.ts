/**
 * The tenant API as Lambda runs it: the function's asset as the stack builds it (code split), each
 * invocation in a fresh Node process (one request per instance, as on Lambda), against the local
 * platform's table.
 *
 * What one tenant holds open: each process counts only itself, so only the table's slots
 * (store/leased-slots.ts) can bound it across them.
 * - An agent's polls: two wait; a third, in a third instance, is turned away at once (429, poll
 *   again in 1 s) while they still wait.
 *   Before, each instance counted its own polls, and one agent token held one instance per poll.
 * - A run's `Prefer: wait`: the wait holds a slot in the tenant's partition while it waits and gives
 *   it back when it answers.
 *
 * And its OpenAPI document, rendered by a chunk loaded on the first request for it; its MCP endpoint,
 * whose SDK is a chunk loaded on the first MCP call.
 */
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PREFER_HEADER } from '../../functions/contract/headers.ts';
import { MAX_POLLS_PER_AGENT } from '../../functions/core/agents/poll-slots.ts';
import { queryAll } from '../../functions/core/db.ts';
import { domainPk, TABLE_KEY_NAMES, TAG, typePrefix } from '../../functions/core/keys.ts';
import { UPCOMING } from '../../functions/core/schedules/schedules.ts';
import { functions } from '../../lib/topology.ts';
import { buildAsset } from '../support/lambda-assets.ts';
import { forwardedEvent, lambdaEnvironment } from '../support/lambda-environment.ts';
import { FreshInstances } from '../support/lambda-instances.ts';
import { HOSTS, startTestPlatform } from '../support/platform.ts';
import { runner } from '../support/runs.ts';
import { tempDir } from '../support/scratch.ts';

const ROOT = resolve(import.meta.dirname, '..', '..');
const scratch = tempDir('execfabric-lambda-held-');
const t = await startTestPlatform('lambda-held-password');
// The runtime's SDK, found as the bootstrap provides it.
const NODE_PATH = join(ROOT, 'node_modules');
let env: NodeJS.ProcessEnv;
let instances: FreshInstances;
let alice: string;

beforeAll(async () => {
  alice = await t.login(HOSTS.acme, 'alice');
  await buildAsset(ROOT, functions['tenant-api'].entry, join(scratch.path, 'tenant-api'));
  // The platform's configuration, as a deployed tenant API would hold it; Lambda's name in it.
  env = lambdaEnvironment({ ...t.platform.env, NODE_PATH });
  instances = new FreshInstances(
    join(scratch.path, 'tenant-api', 'index.mjs'),
    env,
    scratch.path,
    'tenant-api',
  );
}, 60_000);

afterAll(async () => {
  instances.killAll();
  await t.stop();
  scratch.remove();
});

/** An API Gateway request to the tenant API on acme's host, as the edge forwards it. */
function apiEvent(method: string, path: string, headers: Record<string, string>, body?: unknown) {
  return forwardedEvent(env, { method, surface: 'tenant', host: HOSTS.acme, path, headers, body });
}

function invoke(event: ReturnType<typeof forwardedEvent>) {
  return instances.invoke(event);
}

/** acme's slot items under `tag` (and scope), held or not. */
async function slotItems(tag: string, ...scope: string[]): Promise<number> {
  const domain = { kind: 'tenant', host: HOSTS.acme, tenant: { id: 'acme' } } as const;
  let count = 0;
  for await (const _ of queryAll(t.core.table, {
    KeyConditionExpression: '#pk = :pk AND begins_with(#sk, :prefix)',
    ExpressionAttributeNames: { '#pk': TABLE_KEY_NAMES.pk, '#sk': TABLE_KEY_NAMES.sk },
    ExpressionAttributeValues: {
      ':pk': domainPk(domain as never),
      ':prefix': typePrefix([tag, ...scope].join('#')),
    },
    ConsistentRead: true,
  }))
    count += 1;
  return count;
}

async function until(what: string, check: () => Promise<boolean>, seconds = 30): Promise<void> {
  const deadline = Date.now() + seconds * 1000;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`Timed out waiting until ${what}`);
    await new Promise((resolveWait) => setTimeout(resolveWait, 50));
  }
}

/** A Skill of acme's named `name` on a new script that returns `{}` (runs.ts): its id. */
function scriptSkill(name: string, tags: string[] = []): Promise<string> {
  return runner(t, HOSTS.acme, alice).skill('def main(inputs, ctx):\n    return {}\n', { name, tags });
}

async function send(method: string, path: string, body?: unknown) {
  const answer = await t.send({
    host: HOSTS.acme,
    token: alice,
    method,
    path,
    ...(body === undefined ? {} : { body }),
  });
  expect(answer.status, answer.text).toBeLessThan(300);
  return answer.body;
}

describe('the tenant API on Lambda', () => {
  it('serves its OpenAPI document from the chunk its first request loads', async () => {
    const answer = await invoke(apiEvent('GET', '/api/openapi.json', {})).answer;
    expect(answer.statusCode, answer.body).toBe(200);
    const document = JSON.parse(answer.body ?? '{}') as { openapi?: string; paths?: Record<string, unknown> };
    expect(document.openapi).toBe('3.1.0');
    expect(Object.keys(document.paths ?? {})).toContain('/api/agent/poll');
  }, 60_000);

  it('answers an AI client’s MCP call from the chunk that call loads', async () => {
    await scriptSkill('Lambda tool', ['lambda-mcp']);
    const { token } = (await send('POST', '/api/mcp-clients', {
      name: 'Lambda agent',
      tags: ['lambda-mcp'],
    })) as { token: string };
    const call = (body: unknown) =>
      invoke(
        apiEvent(
          'POST',
          '/mcp',
          {
            authorization: `Bearer ${token}`,
            accept: 'application/json, text/event-stream',
            'content-type': 'application/json',
          },
          body,
        ),
      ).answer;
    const listed = await call({ jsonrpc: '2.0', id: 1, method: 'tools/list', params: {} });
    expect(listed.statusCode, listed.body).toBe(200);
    const { result } = JSON.parse(listed.body ?? '{}') as { result: { tools: { title?: string }[] } };
    expect(result.tools.map((tool) => tool.title).sort()).toEqual(['Follow a run', 'Lambda tool']);
    // The transport's own refusal, from the same chunk: a method MCP does not have.
    const unknown = await call({ jsonrpc: '2.0', id: 2, method: 'tools/destroy', params: {} });
    expect(JSON.parse(unknown.body ?? '{}')).toMatchObject({
      jsonrpc: '2.0',
      id: 2,
      error: { code: -32601 },
    });
  }, 60_000);

  it('creates, resumes and refuses schedules, their times computed in the chunk that loads them', async () => {
    const skillId = await scriptSkill('Lambda scheduled');
    const create = (expression: string) =>
      invoke(
        apiEvent(
          'POST',
          '/api/schedules',
          { authorization: `Bearer ${alice}`, 'content-type': 'application/json' },
          {
            name: `Lambda ${expression}`,
            skillId,
            input: {},
            timing: { kind: 'cron', expression },
            timezone: 'Europe/Paris',
            enabled: false,
          },
        ),
      ).answer;
    const created = await create('0 9 * * MON');
    expect(created.statusCode, created.body).toBe(201);
    // Paused: no next fire; resumed through the bundled function, its next Mondays at 09:00 Paris.
    const paused = JSON.parse(created.body ?? '{}') as {
      id: string;
      upcoming: string[];
      nextFireAt?: string;
    };
    expect(paused.upcoming).toEqual([]);
    expect(paused.nextFireAt).toBeUndefined();
    const { id } = paused;
    const resumed = await invoke(
      apiEvent('POST', `/api/schedules/${id}/resume`, { authorization: `Bearer ${alice}` }),
    ).answer;
    expect(resumed.statusCode, resumed.body).toBe(200);
    const { upcoming, nextFireAt } = JSON.parse(resumed.body ?? '{}') as {
      upcoming: string[];
      nextFireAt: string;
    };
    expect(upcoming).toHaveLength(UPCOMING);
    expect(upcoming[0]).toBe(nextFireAt);
    for (const at of upcoming) {
      const local = new Intl.DateTimeFormat('en-GB', {
        timeZone: 'Europe/Paris',
        weekday: 'short',
        hour: '2-digit',
        minute: '2-digit',
      }).format(new Date(at));
      expect(local).toBe('Mon 09:00');
    }
    // Well-formed, but croner finds no time it fires (February has no 31st).
    const refused = await create('0 9 31 2 *');
    expect(refused.statusCode, refused.body).toBe(422);
    expect(refused.headers['content-type']).toBe('application/problem+json');
    expect(JSON.parse(refused.body ?? '{}')).toMatchObject({
      errors: [{ path: 'timing.expression', message: 'the expression never fires' }],
    });
  }, 60_000);
});

describe('the tenant API on Lambda: what one tenant holds open, across instances', () => {
  it('an agent holds at most MAX_POLLS_PER_AGENT waiting polls: a third instance’s poll is turned away at once', async () => {
    const { token } = (await send('POST', '/api/agents', { name: 'lambda-box' })) as { token: string };
    const poll = () =>
      invoke(
        apiEvent(
          'POST',
          '/api/agent/poll',
          { authorization: `Bearer ${token}` },
          { name: 'lambda-box', version: '1.0.0', waitSeconds: 10 },
        ),
      );
    const held = Array.from({ length: MAX_POLLS_PER_AGENT }, poll);
    await until(
      'both polls hold a slot',
      async () => (await slotItems(TAG.pollSlot, 'lambda-box')) === MAX_POLLS_PER_AGENT,
    );
    const third = poll();
    const answer = await third.answer;
    // Turned away at once, told when to poll again (a 204 would make the agent poll again at once).
    expect(answer.statusCode, answer.body).toBe(429);
    expect(answer.headers['retry-after']).toBe('1');
    expect(answer.headers['content-type']).toBe('application/problem+json');
    // Answered while the two still wait, each in its instance.
    for (const { child } of held) expect(child.exitCode).toBeNull();
    // Instances killed mid-poll: their slots are freed by their leases (held-slots.test.ts).
    for (const { child, answer: lost } of held) {
      child.kill('SIGKILL');
      await lost.catch(() => undefined);
    }
  }, 90_000);

  it('a run’s `Prefer: wait` holds a slot while it waits and gives it back as it answers', async () => {
    const script = (await send('POST', '/api/assets/scripts', {
      name: 'held-wait.py',
      source: 'def main(inputs, ctx):\n    return {}\n',
    })) as { id: string };
    // On an agent that never polls: the run waits for it, and so does the request, its whole wait.
    await send('POST', '/api/agents', { name: 'never-polls' });
    const skill = (await send('POST', '/api/skills', {
      name: 'Held wait',
      inputSchema: { type: 'object' },
      outputSchema: { type: 'object' },
      risk: 'low',
      asset: { kind: 'local-agent', id: script.id, version: 'active', agent: 'never-polls' },
    })) as { id: string };
    expect(await slotItems(TAG.waitSlot)).toBe(0);
    const waited = invoke(
      apiEvent(
        'POST',
        `/api/skills/${skill.id}/executions`,
        { authorization: `Bearer ${alice}`, [PREFER_HEADER]: 'wait=3' },
        { input: {} },
      ),
    );
    await until('the wait holds a slot', async () => (await slotItems(TAG.waitSlot)) === 1);
    const answer = await waited.answer;
    // Its time ran out: the run as it stands, the wait applied.
    expect(answer.statusCode, answer.body).toBe(202);
    expect(answer.headers['preference-applied']).toBe('wait=3');
    expect(await slotItems(TAG.waitSlot)).toBe(0);
  }, 90_000);
});
