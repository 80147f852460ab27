/**
 * What a new user's trial found, through the local platform: notices that stayed after what they
 * told about had changed, and a run shown `queued` while its log already streamed.
 * - An "Approval needed" notice is shown only while its run waits for approval, and never to an
 *   approver who decided it already: approved, rejected, cancelled or invalidated runs leave no
 *   notice behind on the home page (`GET /api/announcements?unread=true&limit=50`).
 * - A run whose job streams its log is running, on the run and on its log, before the runtime's
 *   `started` report (sent with the first heartbeat, ~1 s in) is recorded.
 * The tenant-state notices (grace, suspended, renewal reminders) retire on renewal: governance.test.ts.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TenantContext } from '../../functions/core/tenancy/domain.ts';
import { HOSTS, startTestPlatform, type TestPlatform } from '../support/platform.ts';
import { scriptSkill, unique } from '../support/runs.ts';
import { waitForRun } from '../support/session.ts';

const PASSWORD = 'notices-current-password';
const tokens: Record<string, string> = {};
let platform: TestPlatform;

function as(user: string, method: string, path: string, body?: unknown) {
  return platform.send({ host: HOSTS.acme, token: tokens[user], method, path, body });
}

/** The ids of the unread notices on `user`'s home page. */
async function home(user: string): Promise<string[]> {
  const response = await as(user, 'GET', '/api/announcements?unread=true&limit=50');
  expect(response.status, response.text).toBe(200);
  return response.body.items.map((item: { id: string }) => item.id);
}

async function request(skillId: string): Promise<string> {
  const response = await as('bob', 'POST', `/api/skills/${skillId}/executions`, { input: {} });
  expect(response.status, response.text).toBe(202);
  expect(response.body.status).toBe('pending_approval');
  return String(response.body.id);
}

async function approve(user: string, id: string): Promise<string> {
  const response = await as(user, 'POST', `/api/executions/${id}/approve`, {});
  expect(response.status, response.text).toBe(200);
  return String(response.body.status);
}

/** A two-approval Skill named `name` over a script that prints and returns at once. */
async function wireMoney(name: string): Promise<{ skillId: string; scriptId: string }> {
  const send = (token: string, method: string, path: string, body?: unknown) =>
    platform.send({ host: HOSTS.acme, token, method, path, body });
  return scriptSkill(
    send,
    tokens.alice ?? '',
    'def main(inputs, ctx):\n    print("wired")\n    return {}\n',
    {
      skill: { name, risk: 'high', approval: 'two' },
    },
  );
}

beforeAll(async () => {
  platform = await startTestPlatform(PASSWORD);
  tokens.alice = await platform.login(HOSTS.acme, 'alice');
  for (const username of ['carol', 'erin']) {
    const created = await as('alice', 'POST', '/api/users', {
      username,
      password: PASSWORD,
      roles: ['operator'],
    });
    expect(created.status, created.text).toBe(201);
  }
  for (const username of ['bob', 'carol', 'erin'])
    tokens[username] = await platform.login(HOSTS.acme, username);
}, 120_000);

afterAll(async () => {
  await platform?.stop();
});

describe('an approval notice', () => {
  it('leaves the approver who decided at once, and everyone once the run is released', async () => {
    const { skillId } = await wireMoney(unique('Wire money'));
    const id = await request(skillId);
    const notice = `approval-${id}`;
    for (const user of ['alice', 'carol', 'erin']) expect(await home(user)).toContain(notice);
    expect(await home('bob')).not.toContain(notice);

    expect(await approve('carol', id)).toBe('pending_approval');
    expect(await home('carol')).not.toContain(notice);
    expect(await home('erin')).toContain(notice);
    expect(await home('alice')).toContain(notice);

    expect(await approve('erin', id)).not.toBe('pending_approval');
    for (const user of ['alice', 'carol', 'erin']) expect(await home(user)).not.toContain(notice);
    // The list of every announcement (not only the unread) shows it no more either.
    const all = await as('alice', 'GET', '/api/announcements?limit=100');
    expect(all.body.items.map((item: { id: string }) => item.id)).not.toContain(notice);
    expect(
      (await waitForRun({ url: platform.platform.url, host: HOSTS.acme, token: tokens.alice ?? '' }, id))
        .status,
    ).toBe('succeeded');
  });

  it('of five runs, only the one still waiting stays on the home page', async () => {
    const name = unique('Wire money');
    const { skillId } = await wireMoney(name);
    const [approved, rejected, cancelled, alsoApproved, waiting] = [
      await request(skillId),
      await request(skillId),
      await request(skillId),
      await request(skillId),
      await request(skillId),
    ] as [string, string, string, string, string];
    for (const id of [approved, alsoApproved]) {
      await approve('carol', id);
      await approve('erin', id);
    }
    const rejection = await as('carol', 'POST', `/api/executions/${rejected}/reject`, { comment: 'no' });
    expect(rejection.status, rejection.text).toBe(200);
    const cancel = await as('bob', 'POST', `/api/executions/${cancelled}/cancel`, {});
    expect(cancel.status, cancel.text).toBe(200);

    for (const user of ['alice', 'carol', 'erin']) {
      const items = (await as(user, 'GET', '/api/announcements?unread=true&limit=50')).body.items as {
        id: string;
        title: string;
      }[];
      const needed = items.filter((item) => item.title === `Approval needed: ${name}`);
      expect(
        needed.map((item) => item.id),
        user,
      ).toEqual([`approval-${waiting}`]);
    }
    // The unread count in the front's header counts only what is shown.
    const counts = await as('erin', 'GET', '/api/notifications');
    expect(counts.status, counts.text).toBe(200);
    expect(counts.body.unreadAnnouncements).toBe((await home('erin')).length);
  });

  it('goes with its run when a script change invalidates it (ApprovalInvalidated)', async () => {
    const { skillId, scriptId } = await wireMoney(unique('Wire money'));
    const id = await request(skillId);
    expect(await home('carol')).toContain(`approval-${id}`);
    const version = await as('alice', 'POST', `/api/assets/scripts/${scriptId}/versions`, {
      source: 'def main(inputs, ctx):\n    return {"changed": True}\n',
      note: 'changed',
    });
    expect(version.status, version.text).toBe(201);
    const active = await as('alice', 'PUT', `/api/assets/scripts/${scriptId}/active`, {
      version: version.body.version,
    });
    expect(active.status, active.text).toBe(200);
    const run = await as('alice', 'GET', `/api/executions/${id}`);
    expect(run.body.status).toBe('cancelled');
    expect(run.body.error?.type).toBe('ApprovalInvalidated');
    for (const user of ['alice', 'carol', 'erin']) expect(await home(user)).not.toContain(`approval-${id}`);
  });
});

describe('a run whose job streams its log', () => {
  it('is running, since its first chunk, when the chunk is recorded before the `started` report', async () => {
    // The job's first `log` report and its `started` report both leave ~1 s in and race on the
    // results queue. A run waiting for a local agent that never comes stays `queued`: its chunk is
    // recorded as the recorder records a `log` report, and the `started` report never comes.
    const created = await as('alice', 'POST', '/api/agents', { name: 'idle-box' });
    expect(created.status, created.text).toBe(201);
    const script = await as('alice', 'POST', '/api/assets/scripts', {
      name: unique('ticks'),
      source: 'def main(inputs, ctx):\n    print("tick 0")\n    return {}\n',
    });
    expect(script.status, script.text).toBe(201);
    const skill = await as('alice', 'POST', '/api/skills', {
      name: unique('Ticks'),
      inputSchema: { type: 'object' },
      outputSchema: {},
      risk: 'low',
      asset: { kind: 'local-agent', id: script.body.id, version: 'active', agent: 'idle-box' },
      limits: { timeoutSeconds: 20 },
    });
    expect(skill.status, skill.text).toBe(201);
    const started = await as('alice', 'POST', `/api/skills/${skill.body.id}/executions`, { input: {} });
    expect(started.status, started.text).toBe(202);
    const id = String(started.body.id);
    const before = await as('alice', 'GET', `/api/executions/${id}`);
    expect(before.body.status).toBe('queued');
    expect(before.body.startedAt).toBeUndefined();

    const at = new Date().toISOString();
    const domain = (await platform.core.hosts.resolve(HOSTS.acme)) as TenantContext;
    expect(
      await platform.core.executions.appendLogChunks(domain, id, [
        { seq: 1, stream: 'stdout', text: 'tick 0\n', at },
      ]),
    ).toBe(1);

    const logs = await as('alice', 'GET', `/api/executions/${id}/logs`);
    expect(logs.body.chunks.map((chunk: { text: string }) => chunk.text)).toEqual(['tick 0\n']);
    expect(logs.body.status).toBe('running');
    const run = await as('alice', 'GET', `/api/executions/${id}`);
    expect(run.body.status).toBe('running');
    expect(run.body.startedAt).toBe(at);
    // Nothing was written: the stored run is still `queued`, for the `started` report to move.
    expect((await platform.core.executions.find(domain, id))?.status).toBe('queued');
    const cancel = await as('alice', 'POST', `/api/executions/${id}/cancel`, {});
    expect([200, 202], cancel.text).toContain(cancel.status);
  });

  it('is running, with a start, as soon as its first chunk is there', async () => {
    const { skillId } = await scriptSkill(
      (token, method, path, body) => platform.send({ host: HOSTS.acme, token, method, path, body }),
      tokens.alice ?? '',
      'import time\n\ndef main(inputs, ctx):\n    print("tick 0", flush=True)\n    time.sleep(3)\n    print("tick 1", flush=True)\n    return {}\n',
      { skill: { limits: { timeoutSeconds: 30 } } },
    );
    const started = await as('alice', 'POST', `/api/skills/${skillId}/executions`, { input: {} });
    expect(started.status, started.text).toBe(202);
    const id = String(started.body.id);
    const until = Date.now() + 20_000;
    let logs = await as('alice', 'GET', `/api/executions/${id}/logs`);
    while (logs.body.chunks.length === 0 && Date.now() < until) {
      await new Promise((resolve) => setTimeout(resolve, 20));
      logs = await as('alice', 'GET', `/api/executions/${id}/logs`);
    }
    const run = await as('alice', 'GET', `/api/executions/${id}`);
    expect(logs.body.chunks[0]?.text).toMatch(/tick 0/);
    // Read before the runtime's `started` report (~1 s in) could be recorded, both say running.
    expect(logs.body.status).toBe('running');
    expect(run.body.status).toBe('running');
    expect(typeof run.body.startedAt).toBe('string');
    expect(Date.parse(run.body.startedAt)).toBeLessThanOrEqual(Date.now());
    const ended = await waitForRun(
      { url: platform.platform.url, host: HOSTS.acme, token: tokens.alice ?? '' },
      id,
    );
    expect(ended.status).toBe('succeeded');
  });
});
