/**
 * Names are labels, ids are identity: a script is renamed through `PATCH /api/assets/scripts/{id}`
 * (same name rules as its creation, audited, its Skills following it by id), and creating or saving a
 * script or a Skill under a name another live item of the tenant has is allowed, the answer naming
 * that other item in `sameNameAs` (what `execfabric push` would stop on). A name, and every other
 * label people read (announcements' titles, tenants', customers', AI clients' and tokens' names),
 * refuses control, invisible and bidirectional formatting characters and line separators, so no
 * lookalike name slips past that warning.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isDisplayable, NOT_DISPLAYABLE_MESSAGE } from '../../functions/contract/names.ts';
import { signUp } from '../support/free.ts';
import type { TestResponse } from '../support/http.ts';
import {
  expectProblem,
  HOSTS,
  problemType,
  startTestPlatform,
  type TestPlatform,
} from '../support/platform.ts';
import { waitForRun } from '../support/session.ts';

const PASSWORD = 'script-names-test-password';
const SOURCE = 'def main(inputs, ctx):\n    return {"ok": True}\n';
const SCHEMAS = { inputSchema: { type: 'object' }, outputSchema: { type: 'object' } };

let t: TestPlatform;
let alice: string;
let bob: string;
let gina: string;

function acme(method: string, path: string, body?: unknown, token = alice): Promise<TestResponse> {
  return t.send({ host: HOSTS.acme, token, method, path, ...(body === undefined ? {} : { body }) });
}

async function newScript(name: string): Promise<TestResponse> {
  const created = await acme('POST', '/api/assets/scripts', { name, source: SOURCE });
  expect(created.status, created.text).toBe(201);
  return created;
}

async function newSkill(name: string, scriptId: string): Promise<TestResponse> {
  const created = await acme('POST', '/api/skills', {
    name,
    ...SCHEMAS,
    risk: 'low',
    asset: { kind: 'python-script', id: scriptId, version: 'active' },
  });
  expect(created.status, created.text).toBe(201);
  return created;
}

beforeAll(async () => {
  t = await startTestPlatform(PASSWORD);
  [alice, bob, gina] = await Promise.all([
    t.login(HOSTS.acme, 'alice'),
    t.login(HOSTS.acme, 'bob'),
    t.login(HOSTS.globex, 'gina'),
  ]);
});

afterAll(async () => {
  await t?.stop();
});

describe('renaming a script', () => {
  it('renames it, audits the change, and its Skill runs on under the new name', async () => {
    const script = (await newScript('report-old')).body;
    const skill = (await newSkill('Report', script.id)).body;

    const renamed = await acme('PATCH', `/api/assets/scripts/${script.id}`, { name: '  report-new  ' });
    expect(renamed.status, renamed.text).toBe(200);
    expect(renamed.body).toMatchObject({ id: script.id, name: 'report-new', activeVersion: 1 });
    expect(renamed.body.sameNameAs).toBeUndefined();
    expect((await acme('GET', `/api/assets/scripts/${script.id}`)).body.name).toBe('report-new');

    // The same name again changes nothing and records nothing.
    expect((await acme('PATCH', `/api/assets/scripts/${script.id}`, { name: 'report-new' })).status).toBe(
      200,
    );
    const audit = await acme('GET', '/api/audit?limit=100');
    const entries = (audit.body.items as { action: string; target: string; details: unknown }[]).filter(
      (entry) => entry.action === 'asset.renamed' && entry.target === `asset:${script.id}`,
    );
    expect(entries).toEqual([expect.objectContaining({ details: { from: 'report-old', to: 'report-new' } })]);

    // The Skill holds the script's id: it runs, and the run records the script's name of now.
    const started = await acme('POST', `/api/skills/${skill.id}/executions`, { input: {} });
    expect(started.status, started.text).toBe(202);
    const run = await waitForRun({ url: t.platform.url, host: HOSTS.acme, token: alice }, started.body.id, {
      timeoutMs: 30_000,
    });
    expect(run).toMatchObject({ status: 'succeeded', assetName: 'report-new', asset: { id: script.id } });
  });

  it('refuses a bad name with the rules of creation, as problem+json', async () => {
    const script = (await newScript('named')).body;
    for (const body of [
      { name: '' },
      { name: '   ' },
      { name: 'x'.repeat(121) },
      { name: 'ok', source: SOURCE },
      {},
      // Escape sequences for another admin's terminal (the CLI prints names), and a reordering override.
      { name: 'a\u001b[31mred\u001b]8;;http://evil\u0007link' },
      { name: 'csi\u009b2J' },
      { name: 'txt.\u202eyp' },
      // Bidirectional marks, invisible format characters, zero-width ones, tags and line separators.
      { name: 'a\u200fb' },
      { name: 'inv\u200fo\u2028ice\u061c\ufeff\u200b\u{E0041}x' },
      { name: 'word\u2060joined' },
      { name: 'para\u2029graph' },
      { name: 'lone\ud800surrogate' },
    ]) {
      const refused = await acme('PATCH', `/api/assets/scripts/${script.id}`, body);
      expectProblem(refused, 422, JSON.stringify(body));
      expect(refused.body.type).toBe(problemType('validation-failed'));
    }
    const created = await acme('POST', '/api/assets/scripts', { name: 'x'.repeat(121), source: SOURCE });
    expectProblem(created, 422, 'the same name at creation');
    const escaped = await acme('POST', '/api/assets/scripts', { name: 'a\u001b[2Jb', source: SOURCE });
    expectProblem(escaped, 422, 'a control character at creation');
    const invisible = await acme('POST', '/api/assets/scripts', {
      name: 'inv\u200fo\u2028ice\u061c\ufeff\u200b\u{E0041}x',
      source: SOURCE,
    });
    expectProblem(invisible, 422, 'invisible characters at creation');
    expect(invisible.body.errors).toEqual([{ path: 'name', message: NOT_DISPLAYABLE_MESSAGE }]);
    const skill = await acme('POST', '/api/skills', {
      name: 'Greet\u202e',
      inputSchema: { type: 'object' },
      outputSchema: true,
      risk: 'low',
      asset: { kind: 'python-script', id: script.id, version: 'active' },
    });
    expectProblem(skill, 422, 'an override in a Skill name');
    // Any other character a name may need is taken.
    const kind = await acme('PATCH', `/api/assets/scripts/${script.id}`, { name: 'Café ☕ 名前 – v2' });
    expect(kind.status, kind.text).toBe(200);
    await acme('PATCH', `/api/assets/scripts/${script.id}`, { name: 'named' });
    expect((await acme('GET', `/api/assets/scripts/${script.id}`)).body.name).toBe('named');
  });

  it("answers 404 for an unknown id and another tenant's script, and 403 without asset:manage", async () => {
    expectProblem(await acme('PATCH', '/api/assets/scripts/scr-000000000000', { name: 'x' }), 404);
    expectProblem(await acme('PATCH', '/api/assets/scripts/not-an-id', { name: 'x' }), 404);
    const theirs = await t.send({
      host: HOSTS.globex,
      token: gina,
      method: 'POST',
      path: '/api/assets/scripts',
      body: { name: 'globex-only', source: SOURCE },
    });
    expect(theirs.status, theirs.text).toBe(201);
    const cross = await acme('PATCH', `/api/assets/scripts/${theirs.body.id}`, { name: 'stolen' });
    expectProblem(cross, 404);
    expect(cross.text).not.toContain('globex-only');

    const mine = (await newScript('operator-cannot')).body;
    expectProblem(await acme('PATCH', `/api/assets/scripts/${mine.id}`, { name: 'x' }, bob), 403);
  });

  it('renames an archived script too: a state pauses runs, it does not freeze the script', async () => {
    const script = (await newScript('to-archive')).body;
    const archived = await acme('PUT', `/api/assets/scripts/${script.id}/state`, { state: 'archived' });
    expect(archived.status, archived.text).toBe(200);
    const renamed = await acme('PATCH', `/api/assets/scripts/${script.id}`, { name: 'archived-renamed' });
    expect(renamed.status, renamed.text).toBe(200);
    expect(renamed.body).toMatchObject({ name: 'archived-renamed', state: 'archived' });
  });
});

describe('a name another live item has', () => {
  it('creates the script, and the answer names the live ones with that name (not archived ones)', async () => {
    const first = (await newScript('twin')).body;
    expect(first.sameNameAs).toBeUndefined();
    const gone = (await newScript('twin')).body;
    expect(gone.sameNameAs).toEqual([first.id]);
    await acme('PUT', `/api/assets/scripts/${gone.id}/state`, { state: 'archived' });

    const second = (await newScript('twin')).body;
    expect(second.sameNameAs).toEqual([first.id]);

    // Renaming into a taken name says so too; renaming out of it says nothing.
    const other = (await newScript('single')).body;
    const into = await acme('PATCH', `/api/assets/scripts/${other.id}`, { name: 'twin' });
    expect([...into.body.sameNameAs].sort()).toEqual([first.id, second.id].sort());
    const out = await acme('PATCH', `/api/assets/scripts/${second.id}`, { name: 'twin-2' });
    expect(out.body.sameNameAs).toBeUndefined();
  });

  it('cannot be dodged with an invisible character: a lookalike name is refused, not created apart', async () => {
    const lookalike = await acme('POST', '/api/assets/scripts', {
      name: 'Payroll\u200b export',
      source: SOURCE,
    });
    expectProblem(lookalike, 422, 'a zero-width space in a name');
    const first = (await newScript('Payroll export')).body;
    expect(first.sameNameAs).toBeUndefined();
    for (const name of [
      'Payroll\u200b export',
      'Payroll\u2060 export',
      'Pay\u200droll export',
      'Payroll export\u200e!',
    ]) {
      const renamed = await acme('PATCH', `/api/assets/scripts/${first.id}`, { name });
      expectProblem(renamed, 422, JSON.stringify(name));
    }
    const second = (await newScript('Payroll export')).body;
    expect(second.sameNameAs).toEqual([first.id]);
  });

  it('creates the Skill, and the answers to creating and saving name the live Skills with that name', async () => {
    const script = (await newScript('greeter')).body;
    const first = (await newSkill('Greeting', script.id)).body;
    expect(first.sameNameAs).toBeUndefined();
    const second = (await newSkill('Greeting', script.id)).body;
    expect(second.sameNameAs).toEqual([first.id]);

    const saved = await acme('PUT', `/api/skills/${first.id}`, {
      name: 'Greeting',
      description: 'edited',
      ...SCHEMAS,
      risk: 'low',
      asset: { kind: 'python-script', id: script.id, version: 'active' },
    });
    expect(saved.status, saved.text).toBe(200);
    expect(saved.body.sameNameAs).toEqual([second.id]);

    const archived = await acme('PUT', `/api/skills/${second.id}/state`, { state: 'archived' });
    expect(archived.status, archived.text).toBe(200);
    expect((await newSkill('Greeting', script.id)).body.sameNameAs).toEqual([first.id]);
  });
});

describe('every other label people read', () => {
  // An OSC 8 hyperlink for a terminal, then an override: what an announcement's title was stored with.
  const HOSTILE = 't\u001b]8;;http://evil/\u0007click\u001b]8;;\u0007\u202eevil';
  const INVISIBLE = 'Main\u200btenance\u2028tonight';
  let admin: string;

  function governance(method: string, path: string, body: unknown): Promise<TestResponse> {
    return t.send({ host: HOSTS.admin, token: admin, method, path, body });
  }

  /** A 422 naming the field with the rule's message. */
  function expectRefused(response: TestResponse, path: string, context: string) {
    expectProblem(response, 422, context);
    expect(response.body.type, context).toBe(problemType('validation-failed'));
    expect(response.body.errors, context).toContainEqual({ path, message: NOT_DISPLAYABLE_MESSAGE });
  }

  beforeAll(async () => {
    admin = await t.login(HOSTS.admin, 'admin');
  });

  it("refuses them in a tenant announcement's title, and takes an ordinary one", async () => {
    for (const title of [HOSTILE, INVISIBLE, 'Read\u202bme', 'tag\u{E0065}ged']) {
      const posted = await acme('POST', '/api/announcements', { title, body: 'Body text' });
      expectRefused(posted, 'title', JSON.stringify(title));
    }
    const posted = await acme('POST', '/api/announcements', {
      title: 'Pause café 🌙 – 今夜',
      body: 'Body\ntext',
    });
    expect(posted.status, posted.text).toBe(201);
    const listed = await acme('GET', '/api/announcements?limit=100');
    const titles = (listed.body.items as { title: string }[]).map((item) => item.title);
    expect(titles).toContain('Pause café 🌙 – 今夜');
    expect(titles.filter((title) => !isDisplayable(title))).toEqual([]);
  });

  it("refuses them in a platform announcement's title", async () => {
    for (const title of [HOSTILE, INVISIBLE]) {
      const posted = await governance('POST', '/api/announcements', { title, body: 'x', tenants: ['acme'] });
      expectRefused(posted, 'title', JSON.stringify(title));
    }
  });

  it("refuses them in a tenant's, a customer's and a contact's name and in a branding's display name", async () => {
    expectRefused(await governance('PATCH', '/api/tenants/acme', { name: 'Ac\u200bme' }), 'name', 'tenant');
    const customer = await governance('POST', '/api/customers', {
      name: 'Initech\u200f',
      contacts: [{ name: 'Bill\u2028Lumbergh', role: 'V\u200dP' }],
    });
    expectRefused(customer, 'name', 'customer');
    expectRefused(customer, 'contacts.0.name', 'contact');
    expectRefused(customer, 'contacts.0.role', 'contact role');
    const clean = { name: 'Initech', contacts: [{ name: 'Bill Lumbergh', role: 'VP' }] };
    const created = await governance('POST', '/api/customers', clean);
    expect(created.status, created.text).toBe(201);
    const branding = await governance('PUT', '/api/tenants/acme/branding', {
      branding: { displayName: 'Ac\u2066me' },
    });
    expectRefused(branding, 'displayName', 'branding');
    expect((await governance('GET', '/api/tenants/acme', undefined)).body.name).not.toContain('\u200b');
  });

  it("refuses them in an MCP client's name and an access token's name, whose bodies are otherwise taken", async () => {
    const client = { tags: ['reports'] };
    expectRefused(
      await acme('POST', '/api/mcp-clients', { ...client, name: 'Claude\u200b desktop' }),
      'name',
      'MCP',
    );
    const made = await acme('POST', '/api/mcp-clients', { ...client, name: 'Claude desktop' });
    expect(made.status, made.text).toBe(201);
    const renamed = await acme('PATCH', `/api/mcp-clients/${made.body.id}`, { name: 'Claude\u2028desktop' });
    expectRefused(renamed, 'name', 'MCP rename');

    const token = { scopes: ['skill:run'] };
    expectRefused(await acme('POST', '/api/tokens', { ...token, name: 'ci\u202etoken' }), 'name', 'token');
    const issued = await acme('POST', '/api/tokens', { ...token, name: 'ci token' });
    expect(issued.status, issued.text).toBe(201);
  });

  it('refuses them in the name a sign-up gives a personal space', async () => {
    const signedUp = await signUp(
      t,
      {
        handle: 'invisible-name',
        email: 'invisible@example.com',
        password: PASSWORD,
        name: 'My\u200b space',
      },
      '127.0.0.77',
    );
    expectRefused(signedUp, 'name', 'sign-up');
  });
});
