/**
 * Issue 18 through the local platform, with the official MCP SDK client (Streamable HTTP) as an
 * agent would use it: a tenant user creates an AI client in the tenant API, the agent lists its
 * tools (only the Skills the client may use, with their schemas), calls one and reads its
 * structured result, gets a ticket for an approval-gated Skill that another user approves through
 * the front's API, and follows it with get_run to the result. Revoked clients, disabled users and
 * other tenants' tokens are refused; a schema violation is a tool error, never a crash.
 */
import { UpdateCommand } from '@aws-sdk/lib-dynamodb';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { ErrorCode, McpError } from '@modelcontextprotocol/sdk/types.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { itemKey } from '../../functions/core/keys.ts';
import { TOOL_NAME_PATTERN } from '../../functions/core/mcp/tools.ts';
import type { TenantContext } from '../../functions/core/tenancy/domain.ts';
import { connectMcp, mcpUrl } from '../support/mcp.ts';
import { HOSTS, startTestPlatform } from '../support/platform.ts';

const PASSWORD = 'mcp-suite-password-1';
const t = await startTestPlatform(PASSWORD);
const port = new URL(t.platform.url).port;
const ACME_ORIGIN = `http://${HOSTS.acme}:${port}`;

const sessions: Record<string, string> = {};
const skills: Record<string, string> = {};

function api(user: string, method: string, path: string, body?: unknown, host: string = HOSTS.acme) {
  return t.send({ host, path, method, token: sessions[user], ...(body === undefined ? {} : { body }) });
}

async function script(name: string, source: string): Promise<string> {
  const response = await api('alice', 'POST', '/api/assets/scripts', { name, source });
  expect(response.status, response.text).toBe(201);
  return response.body.id;
}

async function skill(definition: Record<string, unknown>, asset: string): Promise<string> {
  const response = await api('alice', 'POST', '/api/skills', {
    outputSchema: { type: 'object' },
    risk: 'low',
    ...definition,
    asset: { kind: 'python-script', id: asset, version: 'active' },
  });
  expect(response.status, response.text).toBe(201);
  return response.body.id;
}

interface CreatedClient {
  readonly id: string;
  readonly token: string;
}

async function createClient(user: string, body: Record<string, unknown>, host: string = HOSTS.acme) {
  const response = await api(user, 'POST', '/api/mcp-clients', body, host);
  expect(response.status, response.text).toBe(201);
  return { id: String(response.body.id), token: String(response.body.token) } satisfies CreatedClient;
}

/** A raw JSON-RPC POST to /mcp (for what the SDK client would never send). */
function rawMcp(token: string | undefined, body: unknown, host: string = HOSTS.acme) {
  return t.send({
    host,
    path: '/mcp',
    method: 'POST',
    headers: { accept: 'application/json, text/event-stream' },
    ...(token === undefined ? {} : { token }),
    body,
  });
}

const LIST = { jsonrpc: '2.0', id: 1, method: 'tools/list', params: {} };

let desk: CreatedClient;
let quick: CreatedClient;
let agent: Client;

const addSchema = {
  type: 'object',
  properties: { a: { type: 'integer' }, b: { type: 'integer' } },
  required: ['a', 'b'],
  additionalProperties: false,
};

beforeAll(async () => {
  sessions.alice = await t.login(HOSTS.acme, 'alice');
  sessions.bob = await t.login(HOSTS.acme, 'bob');
  sessions.gina = await t.login(HOSTS.globex, 'gina');
  const created = await api('alice', 'POST', '/api/users', {
    username: 'vera',
    password: PASSWORD,
    roles: ['viewer'],
  });
  expect(created.status, created.text).toBe(201);
  sessions.vera = await t.login(HOSTS.acme, 'vera');

  const add = await script(
    'add.py',
    'def main(inputs, ctx):\n    return {"sum": inputs["a"] + inputs["b"]}\n',
  );
  const transfer = await script(
    'transfer.py',
    'def main(inputs, ctx):\n    print("sending", inputs["amount"])\n    return {"sent": inputs["amount"], "to": inputs["to"]}\n',
  );
  const slow = await script(
    'slow.py',
    'import time\n\n\ndef main(inputs, ctx):\n    time.sleep(1.5)\n    return {"slept": True}\n',
  );
  skills.add = await skill(
    {
      name: 'Add numbers',
      description: 'Adds two integers.',
      inputSchema: addSchema,
      outputSchema: {
        $schema: 'https://json-schema.org/draft/2020-12/schema',
        type: 'object',
        properties: { sum: { type: 'integer' } },
        required: ['sum'],
        additionalProperties: false,
      },
      tags: ['math'],
    },
    add,
  );
  skills.report = await skill(
    {
      name: 'Finance report',
      inputSchema: { type: 'object' },
      visibility: { roles: ['admin'] },
      tags: ['math'],
    },
    add,
  );
  skills.transfer = await skill(
    {
      name: 'Wire transfer (EUR)',
      inputSchema: {
        type: 'object',
        properties: { amount: { type: 'integer', minimum: 1 }, to: { type: 'string', minLength: 1 } },
        required: ['amount', 'to'],
      },
      // $defs and a local $ref: the envelope must keep them resolvable for the SDK client's validator.
      outputSchema: {
        type: 'object',
        properties: { sent: { $ref: '#/$defs/amount' }, to: { type: 'string' } },
        required: ['sent', 'to'],
        $defs: { amount: { type: 'integer', minimum: 1 } },
      },
      risk: 'medium',
      tags: ['payments'],
    },
    transfer,
  );
  skills.slow = await skill({ name: 'Slow job', inputSchema: { type: 'object' } }, slow);
  skills.greet = (await api('bob', 'GET', '/api/skills')).body.items.find(
    (item: { name: string }) => item.name === 'Greet',
  ).id;

  desk = await createClient('bob', { name: 'Desktop assistant', tags: ['math', 'payments'] });
  quick = await createClient('bob', { name: 'Impatient agent', skills: [skills.slow], waitSeconds: 0 });
  agent = await connectMcp(t.platform.url, HOSTS.acme, desk.token);
});

afterAll(async () => {
  await agent?.close();
  await t.stop();
});

describe('the MCP endpoint, through the SDK client', () => {
  it('lists exactly the Skills the client may use, as tools with their schemas', async () => {
    const { tools } = await agent.listTools();
    const byTitle = Object.fromEntries(tools.map((tool) => [tool.title ?? tool.name, tool]));
    // Greet is not in the client's scope; the Finance report is hidden from bob's role.
    expect(Object.keys(byTitle).sort()).toEqual(['Add numbers', 'Follow a run', 'Wire transfer (EUR)']);
    for (const tool of tools) {
      expect(tool.name).toMatch(TOOL_NAME_PATTERN);
      expect(tool.inputSchema.type).toBe('object');
      expect(tool.outputSchema?.type).toBe('object');
    }
    const add = byTitle['Add numbers'];
    expect(add?.name).toBe(`add_numbers_${skills.add?.slice(4)}`);
    expect(add?.inputSchema).toEqual({ ...addSchema });
    expect(add?.description).toContain('Adds two integers.');
    expect(add?.outputSchema?.properties?.output).toEqual(
      expect.objectContaining({ properties: { sum: { type: 'integer' } }, required: ['sum'] }),
    );
    expect(JSON.stringify(add?.outputSchema)).not.toContain('$schema');
    expect(byTitle['Wire transfer (EUR)']?.name).toBe(`wire_transfer_eur_${skills.transfer?.slice(4)}`);
    expect(byTitle['Wire transfer (EUR)']?.outputSchema?.$defs).toEqual({
      amount: { type: 'integer', minimum: 1 },
    });
    // The server tells stateless clients to re-list rather than promising notifications.
    expect(agent.getServerCapabilities()?.tools?.listChanged).toBe(false);
    expect(agent.getInstructions()).toContain('get_run');
  });

  it('runs a Skill and returns its output as structured content', async () => {
    const started = Date.now();
    const result = await agent.callTool({
      name: `add_numbers_${skills.add?.slice(4)}`,
      arguments: { a: 2, b: 40 },
    });
    expect(result.isError).toBe(false);
    const run = result.structuredContent as Record<string, unknown>;
    expect(run).toEqual(
      expect.objectContaining({
        status: 'succeeded',
        done: true,
        output: { sum: 42 },
        skill: expect.objectContaining({ id: skills.add, name: 'Add numbers' }),
        runUrl: `${ACME_ORIGIN}/executions/${run.runId}`,
      }),
    );
    expect(Date.now() - started).toBeLessThan(15_000);
    // The text content carries the same envelope for clients that read text only.
    const [text] = result.content as { type: string; text: string }[];
    expect(text?.text).toContain('"sum":42');
    const stored = await api('bob', 'GET', `/api/executions/${run.runId}`);
    expect(stored.body).toEqual(
      expect.objectContaining({
        status: 'succeeded',
        input: { a: 2, b: 40 },
        requestedBy: 'bob',
        client: { id: desk.id, name: 'Desktop assistant' },
      }),
    );
  });

  it('answers a schema violation with a tool error naming the field, and runs nothing', async () => {
    const before = (await api('bob', 'GET', '/api/executions?limit=100')).body.items.length;
    const result = await agent.callTool({
      name: `add_numbers_${skills.add?.slice(4)}`,
      arguments: { a: 'two', b: 40, extra: true },
    });
    expect(result.isError).toBe(true);
    expect(result.structuredContent).toBeUndefined();
    const [text] = result.content as { type: string; text: string }[];
    expect(text?.text).toContain('validation-failed');
    expect(text?.text).toContain('input.a');
    expect((await api('bob', 'GET', '/api/executions?limit=100')).body.items.length).toBe(before);
    // The connection is still good.
    expect((await agent.listTools()).tools.length).toBe(3);
  });

  it('answers an unknown or out-of-scope tool with a protocol error', async () => {
    for (const name of [
      'nope',
      `greet_${skills.greet?.slice(4)}`,
      `finance_report_${skills.report?.slice(4)}`,
    ]) {
      await expect(agent.callTool({ name, arguments: {} }), name).rejects.toThrow(/Unknown tool/);
    }
    // The client prefixes the code once; the server's message does not carry it too.
    await expect(agent.callTool({ name: 'nope', arguments: {} })).rejects.toThrow(
      new McpError(ErrorCode.InvalidParams, 'Unknown tool: nope'),
    );
    // The right id under an old or made-up name is not the tool either.
    await expect(
      agent.callTool({ name: `subtract_${skills.add?.slice(4)}`, arguments: { a: 1, b: 1 } }),
    ).rejects.toThrow(/Unknown tool/);
  });

  it('answers an approval-gated Skill at once with a ticket that get_run follows to the result', async () => {
    const tool = `wire_transfer_eur_${skills.transfer?.slice(4)}`;
    const started = Date.now();
    const result = await agent.callTool({ name: tool, arguments: { amount: 120, to: 'ACME-SUPPLIER-7' } });
    // At once: the client would wait up to 5 s for a run that needs no approval.
    expect(Date.now() - started).toBeLessThan(4_000);
    expect(result.isError).toBe(false);
    const ticket = result.structuredContent as Record<string, unknown>;
    const runId = String(ticket.runId);
    expect(ticket).toEqual(
      expect.objectContaining({
        status: 'pending_approval',
        done: false,
        awaiting: 'approval',
        approvals: expect.objectContaining({ required: 1, received: 0, adminRequired: false }),
        approvalUrl: `${ACME_ORIGIN}/approvals?run=${runId}`,
        runUrl: `${ACME_ORIGIN}/executions/${runId}`,
      }),
    );
    expect(String(ticket.next)).toContain('get_run');

    const pending = await agent.callTool({ name: 'get_run', arguments: { runId } });
    expect(pending.structuredContent).toEqual(expect.objectContaining({ status: 'pending_approval' }));

    // The approver sees in the inbox that an agent asked, and exactly what it sent.
    const inbox = await api('alice', 'GET', '/api/approvals');
    const entry = inbox.body.items.find((item: { id: string }) => item.id === runId);
    expect(entry).toEqual(
      expect.objectContaining({
        requestedBy: 'bob',
        client: { id: desk.id, name: 'Desktop assistant' },
        input: { amount: 120, to: 'ACME-SUPPLIER-7' },
        canDecide: true,
      }),
    );
    // A client following the ticket waits through the approval: answered at once, the docs' loop on
    // get_run asked ~100 times a second while people decided.
    const following = agent.callTool({ name: 'get_run', arguments: { runId, waitSeconds: 10 } });
    await new Promise((resolve) => setTimeout(resolve, 700));
    const approved = await api('alice', 'POST', `/api/executions/${runId}/approve`, { comment: 'ok' });
    expect(approved.status, approved.text).toBe(200);

    const followed = await following;
    expect(followed.isError).toBe(false);
    expect(followed.structuredContent).toEqual(
      expect.objectContaining({
        runId,
        status: 'succeeded',
        done: true,
        output: { sent: 120, to: 'ACME-SUPPLIER-7' },
        approvals: expect.objectContaining({ required: 1, received: 1 }),
      }),
    );
  });

  it('answers with a ticket when a quick Skill outlasts the client’s wait, and get_run waits for it', async () => {
    const impatient = await connectMcp(t.platform.url, HOSTS.acme, quick.token);
    try {
      const { tools } = await impatient.listTools();
      expect(tools.map((tool) => tool.title)).toEqual(['Slow job', 'Follow a run']);
      const result = await impatient.callTool({ name: tools[0]?.name ?? '', arguments: {} });
      const ticket = result.structuredContent as Record<string, unknown>;
      expect(result.isError).toBe(false);
      expect(ticket).toEqual(expect.objectContaining({ done: false, awaiting: 'execution' }));
      expect(['requested', 'queued', 'running']).toContain(ticket.status);
      expect(ticket.approvalUrl).toBeUndefined();
      const followed = await impatient.callTool({
        name: 'get_run',
        arguments: { runId: ticket.runId, waitSeconds: 10 },
      });
      expect(followed.structuredContent).toEqual(
        expect.objectContaining({ status: 'succeeded', output: { slept: true } }),
      );
      // A client follows its own runs only, not those of its user's other clients.
      const foreign = await impatient.callTool({
        name: 'get_run',
        arguments: { runId: (await lastRunOf(desk.id)) ?? '' },
      });
      expect(foreign.isError).toBe(true);
      expect(JSON.stringify(foreign.content)).toContain('not-found');
    } finally {
      await impatient.close();
    }
  });

  it('refuses bad get_run arguments as a tool error', async () => {
    for (const args of [
      {},
      { runId: 'ex-nope' },
      { runId: 42 },
      { runId: 'ex-0000000000abcdefabcd', waitSeconds: -1 },
    ]) {
      const result = await agent.callTool({ name: 'get_run', arguments: args });
      expect(result.isError, JSON.stringify(args)).toBe(true);
    }
  });

  it('names the AI client in the audit and keeps the client’s calls', async () => {
    const audit = await api('alice', 'GET', '/api/audit?limit=100');
    const requested = audit.body.items.filter(
      (entry: { action: string; actor: { client?: { id: string } } }) =>
        entry.action === 'execution.requested' && entry.actor.client?.id === desk.id,
    );
    expect(requested.length).toBeGreaterThanOrEqual(2);
    expect(requested[0].actor).toEqual({
      username: 'bob',
      via: 'mcp-client',
      client: { id: desk.id, name: 'Desktop assistant' },
    });
    const calls = await api('bob', 'GET', `/api/mcp-clients/${desk.id}/calls`);
    expect(calls.status, calls.text).toBe(200);
    const statuses = calls.body.items.map((call: { status: string }) => call.status);
    expect(statuses).toEqual(expect.arrayContaining(['succeeded', 'pending_approval', 'refused']));
    expect(calls.body.items[0].at >= calls.body.items.at(-1).at).toBe(true);
    const listed = await api('bob', 'GET', '/api/mcp-clients');
    const mine = listed.body.items.find((item: { id: string }) => item.id === desk.id);
    expect(mine.lastUsedAt).not.toBeNull();
    expect(JSON.stringify(listed.body)).not.toMatch(/secretHash|efm_/);
  });

  it('follows Skill and grant changes: the next list shows them', async () => {
    const titles = async () => (await agent.listTools()).tools.map((tool) => tool.title).sort();
    expect(await titles()).toContain('Add numbers');
    const current = (await api('alice', 'GET', `/api/skills/${skills.add}`)).body;
    const {
      id: _id,
      revision,
      definitionHash: _h,
      createdAt: _c,
      updatedAt: _u,
      createdBy: _cb,
      updatedBy: _ub,
      state: _state,
      stateChangedAt: _sa,
      stateChangedBy: _sb,
      stateReason: _sr,
      ...definition
    } = current;
    const hide = await api('alice', 'PUT', `/api/skills/${skills.add}`, {
      ...definition,
      visibility: { roles: ['admin'] },
      revision,
    });
    expect(hide.status, hide.text).toBe(200);
    expect(await titles()).not.toContain('Add numbers');
    const show = await api('alice', 'PUT', `/api/skills/${skills.add}`, {
      ...definition,
      revision: revision + 1,
    });
    expect(show.status, show.text).toBe(200);
    expect(await titles()).toContain('Add numbers');
    // An archived Skill is out of the list (its runs are refused); restored, it is back.
    const archive = await api('alice', 'PUT', `/api/skills/${skills.add}/state`, { state: 'archived' });
    expect(archive.status, archive.text).toBe(200);
    expect(await titles()).not.toContain('Add numbers');
    const restore = await api('alice', 'PUT', `/api/skills/${skills.add}/state`, { state: 'active' });
    expect(restore.status, restore.text).toBe(200);
    expect(await titles()).toContain('Add numbers');
    // Narrowing the client itself (its grant) takes effect the same way.
    const narrowed = await api('bob', 'PATCH', `/api/mcp-clients/${desk.id}`, { tags: ['payments'] });
    expect(narrowed.status, narrowed.text).toBe(200);
    expect(await titles()).toEqual(['Follow a run', 'Wire transfer (EUR)']);
    await api('bob', 'PATCH', `/api/mcp-clients/${desk.id}`, { tags: ['math', 'payments'] });
    // A role change of the user does too: as a viewer, bob may run nothing and connect no client.
    expect((await api('alice', 'PATCH', '/api/users/bob', { roles: ['viewer'] })).status).toBe(200);
    const refused = await rawMcp(desk.token, LIST);
    expect(refused.status).toBe(403);
    expect(refused.body.type).toBe('urn:execfabric:problem:forbidden');
    expect((await api('alice', 'PATCH', '/api/users/bob', { roles: ['operator'] })).status).toBe(200);
    expect(await titles()).toContain('Add numbers');
  });

  it('refuses a suspended tenant’s calls as a tool error, and lists still', async () => {
    const admin = await t.login(HOSTS.admin, 'admin');
    const suspend = await t.send({
      host: HOSTS.admin,
      path: '/api/tenants/acme',
      method: 'PATCH',
      token: admin,
      body: { status: 'suspended' },
    });
    expect(suspend.status, suspend.text).toBe(200);
    try {
      const result = await agent.callTool({
        name: `add_numbers_${skills.add?.slice(4)}`,
        arguments: { a: 1, b: 1 },
      });
      expect(result.isError).toBe(true);
      expect(JSON.stringify(result.content)).toContain('tenant-suspended');
      expect((await agent.listTools()).tools.length).toBe(3);
    } finally {
      const restore = await t.send({
        host: HOSTS.admin,
        path: '/api/tenants/acme',
        method: 'PATCH',
        token: admin,
        body: { status: 'active' },
      });
      expect(restore.status, restore.text).toBe(200);
    }
  });

  it('says why a run bound to a local agent has not started, as the run itself does', async () => {
    const agentMade = await api('alice', 'POST', '/api/agents', { name: 'mcp-laptop' });
    expect(agentMade.status, agentMade.text).toBe(201);
    const onLaptop = await script('on-laptop.py', 'def main(inputs, ctx):\n    return {}\n');
    const bound = await api('alice', 'POST', '/api/skills', {
      name: 'On the laptop',
      inputSchema: { type: 'object' },
      outputSchema: { type: 'object' },
      risk: 'low',
      tags: ['laptop'],
      asset: { kind: 'local-agent', id: onLaptop, version: 'active', agent: 'mcp-laptop' },
    });
    expect(bound.status, bound.text).toBe(201);
    const laptop = await createClient('bob', { name: 'Laptop bot', tags: ['laptop'], waitSeconds: 0 });
    const client = await connectMcp(t.platform.url, HOSTS.acme, laptop.token);
    try {
      const result = await client.callTool({
        name: `on_the_laptop_${String(bound.body.id).slice(4)}`,
        arguments: {},
      });
      const run = result.structuredContent as Record<string, unknown>;
      expect(run).toMatchObject({
        status: 'queued',
        awaiting: 'execution',
        waitingFor: 'waiting for agent mcp-laptop, which has never connected',
      });
      expect(String(run.next)).toMatch(
        /^The run has not started, waiting for agent mcp-laptop, which has never connected: call get_run/,
      );
      const followed = await client.callTool({ name: 'get_run', arguments: { runId: run.runId } });
      expect((followed.structuredContent as Record<string, unknown>).waitingFor).toBe(run.waitingFor);
      const shown = await api('bob', 'GET', `/api/executions/${run.runId}`);
      expect(shown.body.waitingFor).toBe(run.waitingFor);
    } finally {
      await client.close();
    }
  });
});

async function lastRunOf(clientId: string): Promise<string | undefined> {
  const calls = await api('bob', 'GET', `/api/mcp-clients/${clientId}/calls`);
  return calls.body.items.find((call: { runId?: string }) => call.runId !== undefined)?.runId;
}

describe('who may connect', () => {
  it('serves the protected-resource metadata, pointing at the tenant host', async () => {
    for (const path of [
      '/.well-known/oauth-protected-resource',
      '/.well-known/oauth-protected-resource/mcp',
    ]) {
      const response = await t.send({ host: HOSTS.acme, path, headers: { host: `${HOSTS.acme}:${port}` } });
      expect(response.status, path).toBe(200);
      expect(response.body).toEqual(
        expect.objectContaining({
          resource: `${ACME_ORIGIN}/mcp`,
          authorization_servers: [ACME_ORIGIN],
          bearer_methods_supported: ['header'],
        }),
      );
    }
    const admin = await t.send({ host: HOSTS.admin, path: '/.well-known/oauth-protected-resource' });
    expect(admin.status).toBe(404);
    expect(admin.headers['content-type']).toBe('application/problem+json');
    // What an OAuth-capable client asks next of the server the metadata names: no OAuth server is
    // there, said as JSON (the site answered its index page, a 200 no client could parse).
    for (const path of ['/.well-known/oauth-authorization-server', '/.well-known/openid-configuration']) {
      const discovery = await t.send({ host: HOSTS.acme, path, headers: { accept: 'application/json' } });
      expect(discovery.status, path).toBe(404);
      expect(discovery.headers['content-type'], path).toBe('application/problem+json');
    }
  });

  it('answers 401 with the challenge the MCP authorization spec describes', async () => {
    const metadata = `${ACME_ORIGIN}/.well-known/oauth-protected-resource/mcp`;
    const anonymous = await t.send({
      host: `${HOSTS.acme}:${port}`,
      path: '/mcp',
      method: 'POST',
      headers: { accept: 'application/json, text/event-stream' },
      body: LIST,
    });
    expect(anonymous.status).toBe(401);
    expect(anonymous.headers['www-authenticate']).toBe(`Bearer resource_metadata="${metadata}"`);
    expect(anonymous.headers['content-type']).toBe('application/problem+json');
    expect(anonymous.body).toMatchObject({
      type: 'urn:execfabric:problem:unauthenticated',
      jsonrpc: '2.0',
      id: null,
      error: { code: -32000, message: anonymous.body.detail },
    });
    const wrong = await t.send({
      host: `${HOSTS.acme}:${port}`,
      path: '/mcp',
      method: 'POST',
      token: `efm_${'0'.repeat(16)}_${'A'.repeat(43)}`,
      body: LIST,
    });
    expect(wrong.status).toBe(401);
    expect(wrong.headers['www-authenticate']).toBe(
      `Bearer error="invalid_token", resource_metadata="${metadata}"`,
    );
  });

  it('refuses a revoked client', async () => {
    const spare = await createClient('bob', { name: 'Soon revoked', tags: ['math'] });
    const client = await connectMcp(t.platform.url, HOSTS.acme, spare.token);
    expect((await client.listTools()).tools.length).toBe(2);
    expect((await api('bob', 'DELETE', `/api/mcp-clients/${spare.id}`)).status).toBe(204);
    await expect(client.listTools()).rejects.toThrow();
    await client.close();
    await expect(connectMcp(t.platform.url, HOSTS.acme, spare.token)).rejects.toThrow();
    expect((await rawMcp(spare.token, LIST)).status).toBe(401);
    const listed = (await api('bob', 'GET', `/api/mcp-clients/${spare.id}`)).body;
    expect(listed).toEqual(expect.objectContaining({ revoked: true, revokedBy: 'bob' }));
  });

  it('refuses a client whose token has expired', async () => {
    const spare = await createClient('bob', { name: 'Soon expired', tags: ['math'] });
    expect((await rawMcp(spare.token, LIST)).status).toBe(200);
    // Its validity ran out (time passes: the stored expiry is moved into the past).
    const domain = (await t.core.hosts.resolve(HOSTS.acme)) as TenantContext;
    await t.core.table.client.send(
      new UpdateCommand({
        TableName: t.core.table.name,
        Key: itemKey(domain, 'MCPCLIENT', spare.id),
        UpdateExpression: 'SET expiresAt = :past',
        ExpressionAttributeValues: { ':past': new Date(Date.now() - 1000).toISOString() },
      }),
    );
    const refused = await rawMcp(spare.token, LIST);
    expect(refused.status).toBe(401);
    expect(refused.headers['www-authenticate']).toMatch(/^Bearer /);
    await expect(connectMcp(t.platform.url, HOSTS.acme, spare.token)).rejects.toThrow();
  });

  it('refuses a client whose user is disabled, and re-enabling the user revives none', async () => {
    expect((await api('alice', 'PATCH', '/api/users/bob', { disabled: true })).status).toBe(200);
    try {
      expect((await rawMcp(desk.token, LIST)).status).toBe(401);
    } finally {
      expect((await api('alice', 'PATCH', '/api/users/bob', { disabled: false })).status).toBe(200);
    }
    sessions.bob = await t.login(HOSTS.acme, 'bob');
    // A disabling ends the user's clients as it ends their sessions (docs/decisions/identity.md).
    expect((await rawMcp(desk.token, LIST)).status).toBe(401);
    const fresh = await createClient('bob', { name: 'Desktop again', tags: ['math'] });
    expect((await rawMcp(fresh.token, LIST)).status).toBe(200);
  });

  it('refuses another tenant’s client on every other host', async () => {
    const globex = await createClient('gina', { name: 'Globex agent', tags: ['anything'] }, HOSTS.globex);
    const own = await connectMcp(t.platform.url, HOSTS.globex, globex.token);
    expect((await own.listTools()).tools.map((tool) => tool.name)).toEqual(['get_run']);
    await own.close();
    await expect(connectMcp(t.platform.url, HOSTS.acme, globex.token)).rejects.toThrow();
    expect((await rawMcp(globex.token, LIST, HOSTS.acme)).status).toBe(401);
    // The console host serves no MCP at all, and takes no client token on its API either.
    const onAdmin = await rawMcp(globex.token, LIST, HOSTS.admin);
    expect(onAdmin.status).toBe(404);
    expect(onAdmin.headers['content-type']).toBe('application/problem+json');
    expect((await t.send({ host: HOSTS.admin, path: '/api/me', token: globex.token })).status).toBe(401);
  });

  it('reaches the endpoint at the URL a desktop client is given', () => {
    expect(mcpUrl(t.platform.url, HOSTS.acme).href).toBe(`${ACME_ORIGIN}/mcp`);
  });
});

describe('AI clients in the tenant API', () => {
  it('shows the token once and never again', async () => {
    const created = await api('bob', 'POST', '/api/mcp-clients', { name: 'Once', skills: [skills.add] });
    expect(created.status).toBe(201);
    expect(created.body.token).toMatch(/^efm_[0-9a-f]{16}_[A-Za-z0-9_-]{43}$/);
    expect(created.body).toEqual(
      expect.objectContaining({
        owner: 'bob',
        skills: [skills.add],
        tags: [],
        waitSeconds: 5,
        revoked: false,
      }),
    );
    const again = await api('bob', 'GET', `/api/mcp-clients/${created.body.id}`);
    expect(again.body.token).toBeUndefined();
    expect(again.text).not.toContain(created.body.token.slice(21));
    await api('bob', 'DELETE', `/api/mcp-clients/${created.body.id}`);
  });

  it('refuses a scope the user may not run, an empty scope and out-of-bounds settings', async () => {
    const cases: [Record<string, unknown>, string][] = [
      [{ name: 'x', skills: [skills.report] }, 'skills.0'],
      [{ name: 'x', skills: ['skl-doesnotexist'] }, 'skills.0'],
      [{ name: 'x' }, 'skills'],
      [{ name: 'x', tags: ['Not A Tag'] }, 'tags.0'],
      [{ name: 'x', tags: ['math'], waitSeconds: 11 }, 'waitSeconds'],
      [{ name: 'x', tags: ['math'], expiresInDays: 366 }, 'expiresInDays'],
      [{ name: '', tags: ['math'] }, 'name'],
    ];
    for (const [body, path] of cases) {
      const response = await api('bob', 'POST', '/api/mcp-clients', body);
      expect(response.status, JSON.stringify(body)).toBe(422);
      expect(
        response.body.errors.map((error: { path: string }) => error.path),
        JSON.stringify(body),
      ).toContain(path);
    }
  });

  it('lets a viewer create none, and a personal access token create none', async () => {
    const viewer = await api('vera', 'POST', '/api/mcp-clients', { name: 'x', tags: ['math'] });
    expect(viewer.status).toBe(403);
    const pat = await api('bob', 'POST', '/api/tokens', {
      name: 'cli',
      scopes: ['mcp:connect', 'skill:run'],
    });
    expect(pat.status, pat.text).toBe(201);
    const viaPat = await t.send({
      host: HOSTS.acme,
      path: '/api/mcp-clients',
      method: 'POST',
      token: pat.body.token,
      body: { name: 'x', tags: ['math'] },
    });
    expect(viaPat.status).toBe(403);
  });

  it('shows a user their own clients, and an admin everyone’s', async () => {
    const aliceClient = await createClient('alice', { name: 'Alice bot', tags: ['math'] });
    const bobs = (await api('bob', 'GET', '/api/mcp-clients')).body.items;
    expect(bobs.every((client: { owner: string }) => client.owner === 'bob')).toBe(true);
    const all = (await api('alice', 'GET', '/api/mcp-clients')).body.items.map(
      (client: { id: string }) => client.id,
    );
    expect(all).toEqual(expect.arrayContaining([aliceClient.id, desk.id]));
    // bob can neither read nor revoke alice's client, nor read its calls; the admin can revoke bob's.
    expect((await api('bob', 'GET', `/api/mcp-clients/${aliceClient.id}`)).status).toBe(404);
    expect((await api('bob', 'DELETE', `/api/mcp-clients/${aliceClient.id}`)).status).toBe(404);
    expect((await api('bob', 'GET', `/api/mcp-clients/${aliceClient.id}/calls`)).status).toBe(404);
    expect((await api('alice', 'PATCH', `/api/mcp-clients/${quick.id}`, { name: 'renamed' })).status).toBe(
      403,
    );
    expect((await api('alice', 'DELETE', `/api/mcp-clients/${quick.id}`)).status).toBe(204);
    expect((await rawMcp(quick.token, LIST)).status).toBe(401);
  });
});
