/**
 * The per-process catalogue cache over HTTP (catalog/catalog-cache.ts, docs/decisions/session-cache.md
 * "Skill catalogues"), attacked, with the store's requests counted through the SDK clients'
 * middleware: once warm, `GET /api/skills` reads nothing; a Skill hidden from a caller stays hidden
 * through the cached path; a Skill disabled, narrowed or archived through the API is listed so on
 * the very next request; a Skill disabled behind the API's back (as another container would) is
 * never run whatever the cache still lists, and `Cache-Control: no-cache` lists it as it is — in
 * the catalogue, in a non-manager's run history and in MCP's `tools/list`; two tenants with Skills of
 * the same names each see their own.
 */
import { UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { skillKey } from '../../functions/core/catalog/skill-repository.ts';
import type { TenantContext } from '../../functions/core/tenancy/domain.ts';
import { ApiClient } from '../../lib/cli/client.ts';
import { TenantApi } from '../../lib/cli/remote.ts';
import {
  expectProblem,
  HOSTS,
  problemType,
  startTestPlatform,
  type TestPlatform,
} from '../support/platform.ts';

const PASSWORD = 'catalog-cache-suite-password';
let t: TestPlatform;
let alice: string;
let bob: string;
let gina: string;
let scriptId: string;

interface Listed {
  readonly id: string;
  readonly name: string;
  readonly state: string;
  readonly description: string;
}

beforeAll(async () => {
  t = await startTestPlatform(PASSWORD);
  [alice, bob, gina] = await Promise.all([
    t.login(HOSTS.acme, 'alice'),
    t.login(HOSTS.acme, 'bob'),
    t.login(HOSTS.globex, 'gina'),
  ]);
  const script = await t.send({
    host: HOSTS.acme,
    token: alice,
    method: 'POST',
    path: '/api/assets/scripts',
    body: { name: 'catalog-cache.py', source: 'def main(input, ctx):\n    return {}\n' },
  });
  expect(script.status, script.text).toBe(201);
  scriptId = String(script.body.id);
}, 120_000);
afterAll(async () => {
  await t?.stop();
});

/** The table requests the platform sends while `work` runs. */
async function tableRequests(work: () => Promise<unknown>): Promise<string[]> {
  const seen: string[] = [];
  const stop = t.platform.observeRequests((request) => {
    if (request.client === 'DynamoDBClient') seen.push(request.operation);
  });
  try {
    await work();
  } finally {
    stop();
  }
  return seen;
}

async function listed(
  token: string,
  options: { host?: string; headers?: Record<string, string>; archived?: boolean } = {},
): Promise<Listed[]> {
  const response = await t.send({
    host: options.host ?? HOSTS.acme,
    path: options.archived === true ? '/api/skills?archived=true' : '/api/skills',
    token,
    ...(options.headers === undefined ? {} : { headers: options.headers }),
  });
  expect(response.status, response.text).toBe(200);
  return response.body.items as Listed[];
}

/** Acme's domain, for writing its Skills straight to the store. */
const acme: TenantContext = {
  kind: 'tenant',
  host: HOSTS.acme,
  tenant: { id: 'acme', name: 'Acme', status: 'active', plan: 'standard', expiresAt: '2099-01-01' },
};

const ids = (skills: readonly Listed[]) => skills.map((skill) => skill.id);

function skillBody(name: string, roles: readonly string[], description = '') {
  return {
    name,
    description,
    inputSchema: { type: 'object' },
    outputSchema: true,
    risk: 'low',
    asset: { kind: 'python-script', id: scriptId, version: 'active' },
    visibility: { roles: [...roles] },
  };
}

async function createSkill(name: string, roles: readonly string[] = []): Promise<string> {
  const created = await t.send({
    host: HOSTS.acme,
    token: alice,
    method: 'POST',
    path: '/api/skills',
    body: skillBody(name, roles),
  });
  expect(created.status, created.text).toBe(201);
  return String(created.body.id);
}

const setState = (id: string, state: string) =>
  t.send({ host: HOSTS.acme, token: alice, method: 'PUT', path: `/api/skills/${id}/state`, body: { state } });

const run = (id: string, token = alice) =>
  t.send({
    host: HOSTS.acme,
    token,
    method: 'POST',
    path: `/api/skills/${id}/executions`,
    body: { input: {} },
  });

describe('a warm catalogue', () => {
  it('GET /api/skills reads nothing of the store once warm, for every caller of the tenant', async () => {
    await listed(alice);
    await listed(bob);
    const requests = await tableRequests(async () => {
      for (let i = 0; i < 3; i++) {
        await listed(alice);
        await listed(bob);
      }
    });
    expect(requests).toEqual([]);
  });

  it('Cache-Control: no-cache (and Pragma: no-cache without it) reads the catalogue now', async () => {
    await listed(alice);
    for (const headers of [
      { 'cache-control': 'no-cache' } as Record<string, string>,
      { 'cache-control': 'max-age=0' },
      { pragma: 'no-cache' },
    ]) {
      expect(await tableRequests(() => listed(alice, { headers }))).toEqual(['Query']);
    }
    // A browser's own `Pragma: no-cache` beside an explicit Cache-Control is ignored (RFC 9111 §5.4).
    expect(
      await tableRequests(() =>
        listed(alice, { headers: { 'cache-control': 'max-age=5', pragma: 'no-cache' } }),
      ),
    ).toEqual([]);
  });
});

describe('visibility, filtered per caller after the cache', () => {
  it('a Skill hidden from a caller stays hidden through the cached path, and follows each change at once', async () => {
    const hidden = await createSkill('Cache hidden', ['admin']);
    const open = await createSkill('Cache open');
    // Both answered from the one entry the first of them read.
    expect(ids(await listed(alice))).toEqual(expect.arrayContaining([hidden, open]));
    const forBob = ids(await listed(bob));
    expect(forBob).toContain(open);
    expect(forBob).not.toContain(hidden);
    expectProblem(
      await t.send({ host: HOSTS.acme, token: bob, path: `/api/skills/${hidden}` }),
      404,
      'a hidden Skill',
    );

    // Opened to every role, then narrowed again: each shows on bob's very next list.
    const update = (id: string, roles: readonly string[], revision: number) =>
      t.send({
        host: HOSTS.acme,
        token: alice,
        method: 'PUT',
        path: `/api/skills/${id}`,
        body: { ...skillBody('Cache hidden', roles), revision },
      });
    expect((await update(hidden, [], 1)).status).toBe(200);
    expect(ids(await listed(bob))).toContain(hidden);
    expect((await update(hidden, ['admin'], 2)).status).toBe(200);
    expect(ids(await listed(bob))).not.toContain(hidden);
    expectProblem(await run(hidden, bob), 404, 'a run of a Skill hidden from its caller');
  });
});

describe('a Skill changed through the API', () => {
  it('disabled: listed disabled on the very next request, and runs nothing', async () => {
    const id = await createSkill('Cache disabled');
    expect((await listed(bob)).find((skill) => skill.id === id)?.state).toBe('active');
    expect((await setState(id, 'disabled')).status).toBe(200);
    expect((await listed(bob)).find((skill) => skill.id === id)?.state).toBe('disabled');
    const refused = await run(id);
    expectProblem(refused, 409, 'a run of a disabled Skill');
    expect(refused.body.type).toBe(problemType('not-runnable'));
  });

  it('archived: gone from the catalogue on the very next request (its managers still find it)', async () => {
    const id = await createSkill('Cache archived');
    expect(ids(await listed(bob))).toContain(id);
    expect((await setState(id, 'archived')).status).toBe(200);
    expect(ids(await listed(bob))).not.toContain(id);
    expect(ids(await listed(alice))).not.toContain(id);
    expect(ids(await listed(alice, { archived: true }))).toContain(id);
    expect(ids(await listed(bob, { archived: true }))).not.toContain(id);
    expectProblem(await run(id), 409, 'a run of an archived Skill');
  });
});

describe('a Skill changed behind the API (another container)', () => {
  it('is never run, whatever the cache still lists; no-cache lists it as it is', async () => {
    const id = await createSkill('Cache behind');
    expect(await run(id)).toMatchObject({ status: 202 });
    expect((await listed(bob)).find((skill) => skill.id === id)?.state).toBe('active');
    // Written straight to the store: no notice reaches this process's caches.
    await t.core.table.client.send(
      new UpdateCommand({
        TableName: t.core.table.name,
        Key: skillKey(acme, id),
        UpdateExpression: 'SET #state = :state',
        ExpressionAttributeNames: { '#state': 'state' },
        ExpressionAttributeValues: { ':state': 'disabled' },
      }),
    );
    expect((await listed(bob)).find((skill) => skill.id === id)?.state).toBe('active');
    expectProblem(await run(id), 409, 'a run of a disabled Skill the cache lists as active');
    expectProblem(await run(id, bob), 409, 'the same run, asked by another user');
    const revalidated = await listed(bob, { headers: { 'cache-control': 'no-cache' } });
    expect(revalidated.find((skill) => skill.id === id)?.state).toBe('disabled');
    // The fresh read serves the next ordinary one too.
    expect((await listed(alice)).find((skill) => skill.id === id)?.state).toBe('disabled');
  });
});

/** Narrows a Skill to admins straight in the store: no notice reaches this process's caches. */
async function narrowBehindTheApi(id: string): Promise<void> {
  await t.core.table.client.send(
    new UpdateCommand({
      TableName: t.core.table.name,
      Key: skillKey(acme, id),
      UpdateExpression: 'SET visibility = :visibility',
      ExpressionAttributeValues: { ':visibility': { roles: ['admin'] } },
    }),
  );
}

describe('the other lists the cache answers, with a Skill narrowed behind the API', () => {
  it('GET /api/executions: a non-manager’s run history follows the cache, and no-cache reads it now', async () => {
    const id = await createSkill('Cache history');
    const started = await run(id);
    expect(started.status, started.text).toBe(202);
    const runId = String(started.body.id);
    const history = async (headers?: Record<string, string>) => {
      const response = await t.send({
        host: HOSTS.acme,
        token: bob,
        path: `/api/executions?skillId=${id}`,
        ...(headers === undefined ? {} : { headers }),
      });
      expect(response.status, response.text).toBe(200);
      return (response.body.items as { id: string }[]).map((item) => item.id);
    };
    expect(await history()).toContain(runId);
    await narrowBehindTheApi(id);
    // The cache still lists the Skill as open to bob: so does his run history, for now.
    expect(await history()).toContain(runId);
    for (const headers of [
      { 'cache-control': 'no-cache' } as Record<string, string>,
      { pragma: 'no-cache' },
    ]) {
      expect(await history(headers)).not.toContain(runId);
    }
    // The fresh read serves the next ordinary one too; the manager still sees every run.
    expect(await history()).not.toContain(runId);
    const managed = await t.send({ host: HOSTS.acme, token: alice, path: `/api/executions?skillId=${id}` });
    expect((managed.body.items as { id: string }[]).map((item) => item.id)).toContain(runId);
  });

  it('MCP tools/list: the HTTP request’s no-cache lists the tools as the catalogue is now', async () => {
    const created = await t.send({
      host: HOSTS.acme,
      token: alice,
      method: 'POST',
      path: '/api/skills',
      body: { ...skillBody('Cache tool', []), tags: ['cache-mcp'] },
    });
    expect(created.status, created.text).toBe(201);
    const client = await t.send({
      host: HOSTS.acme,
      token: bob,
      method: 'POST',
      path: '/api/mcp-clients',
      body: { name: 'Cache agent', tags: ['cache-mcp'] },
    });
    expect(client.status, client.text).toBe(201);
    const tools = async (headers: Record<string, string> = {}) => {
      const response = await t.send({
        host: HOSTS.acme,
        token: String(client.body.token),
        method: 'POST',
        path: '/mcp',
        headers: { accept: 'application/json, text/event-stream', ...headers },
        body: { jsonrpc: '2.0', id: 1, method: 'tools/list', params: {} },
      });
      expect(response.status, response.text).toBe(200);
      return (response.body.result.tools as { title?: string }[]).map((tool) => tool.title);
    };
    expect(await tools()).toContain('Cache tool');
    await narrowBehindTheApi(String(created.body.id));
    expect(await tools()).toContain('Cache tool');
    expect(await tools({ 'cache-control': 'no-cache' })).not.toContain('Cache tool');
    expect(await tools()).not.toContain('Cache tool');
  });
});

describe('the CLI', () => {
  it("plans a push from the catalogue as it is now, not from a container's copy", async () => {
    const id = await createSkill('Cache cli');
    expect((await listed(alice)).find((skill) => skill.id === id)?.description).toBe('');
    // Changed elsewhere (another container, or another push): this process's entry still has the old one.
    await t.core.table.client.send(
      new UpdateCommand({
        TableName: t.core.table.name,
        Key: skillKey(acme, id),
        UpdateExpression: 'SET description = :text',
        ExpressionAttributeValues: { ':text': 'pushed elsewhere' },
      }),
    );
    expect((await listed(alice)).find((skill) => skill.id === id)?.description).toBe('');
    const cli = new TenantApi(new ApiClient(new URL(`http://${HOSTS.acme}:${t.platform.port}`), alice));
    expect((await cli.skills()).find((skill) => skill.id === id)?.description).toBe('pushed elsewhere');
  });
});

describe('two tenants side by side', () => {
  it('with Skills of the same name, each host lists its own and nothing of the other', async () => {
    const mine = await createSkill('Twin');
    const theirs = await t.send({
      host: HOSTS.globex,
      token: gina,
      method: 'POST',
      path: '/api/assets/scripts',
      body: { name: 'twin.py', source: 'def main(input, ctx):\n    return {}\n' },
    });
    expect(theirs.status, theirs.text).toBe(201);
    const twin = await t.send({
      host: HOSTS.globex,
      token: gina,
      method: 'POST',
      path: '/api/skills',
      body: {
        ...skillBody('Twin', []),
        asset: { kind: 'python-script', id: theirs.body.id, version: 'active' },
      },
    });
    expect(twin.status, twin.text).toBe(201);
    for (let i = 0; i < 3; i++) {
      const acme = await listed(alice);
      const globex = await listed(gina, { host: HOSTS.globex });
      expect(ids(acme)).toContain(mine);
      expect(ids(acme)).not.toContain(twin.body.id);
      expect(ids(globex)).toContain(twin.body.id);
      expect(ids(globex)).not.toContain(mine);
    }
    // A change in one tenant is not seen in the other, and a token of one is refused on the other's host.
    expect((await setState(mine, 'disabled')).status).toBe(200);
    expect((await listed(gina, { host: HOSTS.globex })).find((skill) => skill.name === 'Twin')?.state).toBe(
      'active',
    );
    expectProblem(
      await t.send({ host: HOSTS.globex, token: alice, path: '/api/skills' }),
      401,
      "acme's token on globex's host",
    );
  });
});
