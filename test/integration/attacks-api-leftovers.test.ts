/**
 * Leftovers an attack pass reported on the tenant API, tried as the attacker did, through the real
 * local platform. Each part says what the attack got before its mend.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MCP_PATH } from '../../functions/contract/paths.ts';
import type { AuditEntry } from '../../functions/core/audit/chain.ts';
import type { TenantContext } from '../../functions/core/tenancy/domain.ts';
import { RESOURCE_METADATA_PATH } from '../../functions/http/mcp-auth.ts';
import type { TestResponse } from '../support/http.ts';
import {
  enumerateRoutes,
  expectProblem,
  fillPath,
  HOSTS,
  sampleBody,
  startTestPlatform,
} from '../support/platform.ts';
import { unique } from '../support/runs.ts';

const PASSWORD = 'attacks-api-leftovers-password';
const t = await startTestPlatform(PASSWORD);
const sessions: Record<string, string> = {};

function api(user: string, method: string, path: string, body?: unknown) {
  return t.send({
    host: HOSTS.acme,
    path,
    method,
    token: sessions[user],
    ...(body === undefined ? {} : { body }),
  });
}

async function securityEntries(): Promise<AuditEntry[]> {
  const response = await api('alice', 'GET', '/api/audit?category=security&limit=100');
  expect(response.status, response.text).toBe(200);
  return response.body.items as AuditEntry[];
}

/** A problem as the client reads it, without what differs per request (its instance). */
function problemOf(response: TestResponse) {
  const { instance: _instance, ...problem } = response.body as Record<string, unknown>;
  return { status: response.status, challenge: response.headers['www-authenticate'], problem };
}

beforeAll(async () => {
  sessions.alice = await t.login(HOSTS.acme, 'alice');
  sessions.claire = await t.login(HOSTS.acme, 'claire');
});

afterAll(async () => {
  await t.stop();
});

/**
 * The agent channel validated a body before the agent's token: a caller with no token, a forged one
 * or a user's got a 422 naming the body's fields. It now answers the same 401 whatever the body, and
 * records the refused token as before; a valid token with a bad body still gets its 422.
 */
describe('the agent channel', () => {
  const FORGED = `efa_${'0'.repeat(16)}_${'A'.repeat(43)}`;
  let agentToken: string;

  beforeAll(async () => {
    const created = await api('alice', 'POST', '/api/agents', { name: 'leftover' });
    expect(created.status, created.text).toBe(201);
    agentToken = String(created.body.token);
  });

  async function agentRoutes() {
    const routes = (await enumerateRoutes(t.core)).tenant.filter((item) => item.route.auth === 'agent');
    expect(routes.map((item) => item.name)).toContain('POST /api/agent/hello');
    return routes;
  }

  /** Bodies of every kind: empty, of unknown members, wrong types, not JSON, of the route's shape. */
  function bodies(route: Awaited<ReturnType<typeof agentRoutes>>[number]) {
    return [
      {},
      { unknown: 1 },
      { name: 7, lease: [], chunks: 'x', status: 'sure' },
      '{"name": ',
      sampleBody(route.route),
    ];
  }

  function send(path: string, token: string | undefined, body: unknown, localAddress?: string) {
    return t.send({
      host: HOSTS.acme,
      method: 'POST',
      path,
      ...(token === undefined ? {} : { token }),
      ...(typeof body === 'string' ? { headers: { 'content-type': 'application/json' } } : {}),
      body,
      ...(localAddress === undefined ? {} : { localAddress }),
    });
  }

  it('answers a caller without a valid agent token the same 401 whatever the body, and never a 422', async () => {
    const source = '127.0.0.71';
    const credentials: Record<string, string | undefined> = {
      none: undefined,
      forged: FORGED,
      spliced: `${agentToken.slice(0, -4)}AAAA`,
      "a user's session": sessions.alice,
      garbage: 'not-a-token',
    };
    for (const route of await agentRoutes()) {
      const path = fillPath(route.route.path, () => 'ex-00000000000000000000000000');
      for (const [kind, token] of Object.entries(credentials)) {
        const answers = [];
        for (const body of bodies(route)) {
          const answer = await send(path, token, body, source);
          expectProblem(answer, 401, `${route.name} with ${kind} token and ${JSON.stringify(body)}`);
          answers.push(problemOf(answer));
        }
        // The body was never looked at: every body got the very same problem.
        for (const answer of answers) expect(answer, `${route.name} with ${kind} token`).toEqual(answers[0]);
      }
    }
    // The refused tokens are recorded as before, by the agent route's own authentication.
    const recorded = (await securityEntries()).filter(
      (item) => item.action === 'security.token-refused' && item.target === `source:${source}`,
    );
    expect(recorded.length).toBeGreaterThan(0);
    expect(recorded.every((item) => String(item.details?.route).startsWith('/api/agent/'))).toBe(true);
  });

  it('still answers a valid agent token with a bad body by naming its problem', async () => {
    for (const route of await agentRoutes()) {
      const path = fillPath(route.route.path, () => 'ex-00000000000000000000000000');
      const invalid = await send(path, agentToken, { unknown: 1 });
      expectProblem(invalid, 422, route.name);
      expect(Array.isArray(invalid.body.errors), invalid.text).toBe(true);
      expectProblem(await send(path, agentToken, '{"name": '), 400, route.name);
    }
  });
});

/**
 * A token sent to the MCP endpoint's protected-resource metadata (anonymous; MCP clients send theirs
 * there) was tried as a user's and recorded as refused, spending the address's budget of security
 * events, so that a real refusal from it went unrecorded. An anonymous route now reads no credential:
 * the metadata is answered as to anyone, and nothing is recorded.
 */
describe('the MCP endpoint’s protected-resource metadata', () => {
  it('takes the MCP client’s token as nobody’s: answered as to anyone, nothing recorded, the budget kept', async () => {
    const created = await api('alice', 'POST', '/api/mcp-clients', {
      name: unique('client'),
      tags: ['leftovers'],
    });
    expect(created.status, created.text).toBe(201);
    const client = String(created.body.token);
    // An address of its own: its budget of security events is this test's alone.
    const source = '127.0.0.72';
    const paths = [RESOURCE_METADATA_PATH, `${RESOURCE_METADATA_PATH}${MCP_PATH}`];
    const anonymous = await t.send({ host: HOSTS.acme, path: paths[0] ?? '', localAddress: source });
    expect(anonymous.status, anonymous.text).toBe(200);
    expect(anonymous.body.resource).toMatch(/\/mcp$/);
    // More requests than an address may have events recorded in a window (20), as a client makes.
    for (let i = 0; i < 25; i++) {
      for (const path of paths) {
        const answer = await t.send({ host: HOSTS.acme, path, token: client, localAddress: source });
        expect(answer.status, answer.text).toBe(200);
        expect(answer.body).toEqual(anonymous.body);
      }
    }
    // Neither does a bad token, nor a user's, make any difference there: nobody is authenticated.
    for (const token of [`${client.slice(0, -4)}AAAA`, 'forged', sessions.alice ?? '']) {
      const answer = await t.send({ host: HOSTS.acme, path: paths[0] ?? '', token, localAddress: source });
      expect(answer.status, answer.text).toBe(200);
      expect(answer.body).toEqual(anonymous.body);
    }
    // A real refusal from that address is still recorded.
    const forged = await t.send({
      host: HOSTS.acme,
      path: '/api/me',
      token: `${sessions.alice?.slice(0, -4)}AAAA`,
      localAddress: source,
    });
    expectProblem(forged, 401);
    const fromSource = (await securityEntries()).filter((item) => item.target === `source:${source}`);
    expect(fromSource.map((item) => [item.action, item.details?.route])).toEqual([
      ['security.token-refused', '/api/me'],
    ]);
  });
});

/**
 * An approval notice kept the Skill's visibility from when it was posted: an approver who lost sight
 * of the Skill still read its name and the run. The notice's sight is now the Skill's own, checked
 * when it is read (both ways); a notice of before that change keeps the visibility it carries.
 * The decision on a run told its requester the Skill's name even after they lost sight of it. They
 * are still told the decision on their run — they asked for it, and would otherwise wait on it — but
 * not the Skill's name, nor the approver's comment on it, nor a link to a run they can no longer open.
 */
describe('notices about a Skill', () => {
  let scriptId: string;

  beforeAll(async () => {
    for (const [name, permissions] of [
      ['vault', ['skill:read', 'skill:run', 'approval:decide']],
      ['vault-inner', ['skill:read', 'skill:run', 'approval:decide']],
    ] as const) {
      const role = await api('alice', 'POST', '/api/roles', { name, permissions: [...permissions] });
      expect(role.status, role.text).toBe(201);
    }
    for (const username of ['vera', 'rick']) {
      const user = await api('alice', 'POST', '/api/users', {
        username,
        password: PASSWORD,
        roles: ['vault'],
      });
      expect(user.status, user.text).toBe(201);
      sessions[username] = await t.login(HOSTS.acme, username);
    }
    const script = await api('alice', 'POST', '/api/assets/scripts', {
      name: `${unique('vault')}.py`,
      source: 'def main(inputs, ctx):\n    return {}\n',
    });
    expect(script.status, script.text).toBe(201);
    scriptId = String(script.body.id);
  });

  function definition(name: string, roles: readonly string[]) {
    return {
      name,
      inputSchema: { type: 'object' },
      outputSchema: { type: 'object' },
      risk: 'medium',
      approval: 'one',
      visibility: { roles: [...roles] },
      asset: { kind: 'python-script', id: scriptId, version: 'active' },
    };
  }

  /** A Skill only the vault role (and the admins) may see, and whose name is a marker. */
  async function vaultSkill(): Promise<{ id: string; name: string }> {
    const name = unique('Vault transfer');
    const created = await api('alice', 'POST', '/api/skills', definition(name, ['vault']));
    expect(created.status, created.text).toBe(201);
    return { id: String(created.body.id), name };
  }

  async function setVisibility(skill: { id: string; name: string }, roles: readonly string[]) {
    const changed = await api('alice', 'PUT', `/api/skills/${skill.id}`, definition(skill.name, roles));
    expect(changed.status, changed.text).toBe(200);
  }

  async function requested(skillId: string): Promise<string> {
    const run = await api('rick', 'POST', `/api/skills/${skillId}/executions`, { input: {} });
    expect(run.status, run.text).toBe(202);
    expect(run.body.status).toBe('pending_approval');
    return String(run.body.id);
  }

  async function announcements(user: string) {
    const page = await api(user, 'GET', '/api/announcements?limit=100');
    expect(page.status, page.text).toBe(200);
    return page;
  }

  async function unreadCount(user: string): Promise<number> {
    const counts = await api(user, 'GET', '/api/notifications');
    expect(counts.status, counts.text).toBe(200);
    return Number(counts.body.unreadAnnouncements);
  }

  it('withdraws an approval notice from an approver who lost sight of the Skill, and shows it again', async () => {
    const skill = await vaultSkill();
    const runId = await requested(skill.id);
    const notice = `approval-${runId}`;
    const before = await announcements('vera');
    expect(before.body.items.find((item: { id: string }) => item.id === notice)?.title).toContain(skill.name);
    const unreadBefore = await unreadCount('vera');

    await setVisibility(skill, ['vault-inner']);
    // vera may no longer see the Skill…
    expectProblem(await api('vera', 'GET', `/api/skills/${skill.id}`), 404);
    // …nor the notice that names it and its run, in her list, her count or by its id.
    const after = await announcements('vera');
    expect(after.body.items.map((item: { id: string }) => item.id)).not.toContain(notice);
    expect(after.text).not.toContain(skill.name);
    expect(after.text).not.toContain(runId);
    expect(await unreadCount('vera')).toBe(unreadBefore - 1);
    expectProblem(await api('vera', 'POST', `/api/announcements/${notice}/read`), 404);
    // The edit invalidated the run (its approval binds the Skill's definition, visibility included):
    // a notice whose run no longer waits is retired for everyone, admins included.
    expect((await api('claire', 'GET', `/api/executions/${runId}`)).body.error?.type).toBe(
      'ApprovalInvalidated',
    );
    expect((await announcements('claire')).text).not.toContain(notice);

    // The sight is the Skill's, as it is now: given back, vera reads the notices of runs that wait.
    await setVisibility(skill, ['vault']);
    const again = `approval-${await requested(skill.id)}`;
    expect((await announcements('vera')).text).toContain(again);
    expect((await api('vera', 'POST', `/api/announcements/${again}/read`)).status).toBe(204);
  });

  it('keeps the sight of a notice posted before it named its Skill: the visibility it carries', async () => {
    const tenant = (await t.core.hosts.resolve(HOSTS.acme)) as TenantContext;
    const id = unique('legacy');
    await t.core.announcements.post(
      tenant,
      {
        id,
        title: 'Approval needed: Legacy secret',
        body: 'bob asked to run Legacy secret.',
        audience: ['vault', 'vault-inner'],
        skillVisibility: { roles: ['vault-inner'] },
      },
      { username: 'system', via: 'system' },
      'system',
    );
    expect((await announcements('vera')).text).not.toContain(id);
    expectProblem(await api('vera', 'POST', `/api/announcements/${id}/read`), 404);
    expect((await announcements('claire')).text).toContain(id);
  });

  it('shows nobody a notice about a run posted before notices named their Skill', async () => {
    const tenant = (await t.core.hosts.resolve(HOSTS.acme)) as TenantContext;
    const run = unique('ex-legacy');
    // As Approvals posted them before: the Skill's name, the approver's comment, no sight recorded.
    for (const [id, title] of [
      [`decided-${run}`, 'Approved: Legacy secret'],
      [`approval-${run}`, 'Approval needed: Legacy secret'],
    ] as const) {
      await t.core.announcements.post(
        tenant,
        { id, title, body: 'about Legacy secret', recipients: ['rick', 'vera', 'claire'] },
        { username: 'system', via: 'system' },
        'system',
      );
    }
    for (const who of ['rick', 'vera', 'claire']) {
      expect((await announcements(who)).text).not.toContain(run);
      expectProblem(await api(who, 'POST', `/api/announcements/decided-${run}/read`), 404);
    }
  });

  it('tells a requester who lost sight of the Skill the decisions on their runs, without naming it', async () => {
    const skill = await vaultSkill();
    const approvedRun = await requested(skill.id);
    const rejectedRun = await requested(skill.id);
    const approved = await api('alice', 'POST', `/api/executions/${approvedRun}/approve`, {
      comment: `fine for ${skill.name}`,
    });
    expect(approved.status, approved.text).toBe(200);
    const rejected = await api('claire', 'POST', `/api/executions/${rejectedRun}/reject`, {
      comment: `not ${skill.name} again`,
    });
    expect(rejected.status, rejected.text).toBe(200);
    const named = await announcements('rick');
    expect(
      named.body.items.find((item: { id: string }) => item.id === `decided-${approvedRun}`),
    ).toMatchObject({
      title: `Approved: ${skill.name}`,
      link: `/executions/${approvedRun}`,
    });

    await setVisibility(skill, ['vault-inner']);
    expectProblem(await api('rick', 'GET', `/api/skills/${skill.id}`), 404);
    const page = await announcements('rick');
    expect(page.text).not.toContain(skill.name);
    expect(page.text).not.toContain(skill.id);
    const byId = new Map(page.body.items.map((item: { id: string }) => [item.id, item]));
    expect(byId.get(`decided-${approvedRun}`)).toMatchObject({
      title: `Approved: your run ${approvedRun}`,
      body: `alice approved your run ${approvedRun}. It is on its way.`,
      severity: 'info',
      read: false,
    });
    expect(byId.get(`decided-${rejectedRun}`)).toMatchObject({
      title: `Rejected: your run ${rejectedRun}`,
      body: `claire rejected your run ${rejectedRun}.`,
      severity: 'warning',
    });
    expect(byId.get(`decided-${approvedRun}`)).not.toHaveProperty('link');
    // Marked read as any notice they read.
    expect((await api('rick', 'POST', `/api/announcements/decided-${rejectedRun}/read`)).status).toBe(204);

    // Given sight again, the requester reads the decision as written.
    await setVisibility(skill, ['vault']);
    expect((await announcements('rick')).text).toContain(`Rejected: ${skill.name}`);
  });
});
