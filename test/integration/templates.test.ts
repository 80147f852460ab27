/**
 * Platform templates through the local platform: authored and distributed on the admin host,
 * offered only to the chosen tenants, installed by a tenant admin with provenance, updated when a
 * newer version appears.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type LocalPlatform, startLocalPlatform } from '../../lib/local/platform.ts';
import { call } from '../support/http.ts';
import { signIn } from '../support/session.ts';

const PASSWORD = 'templates-test-password';
let platform: LocalPlatform;
const tokens: Record<string, string> = {};

function login(host: string, username: string): Promise<string> {
  return signIn(platform.url, host, username, PASSWORD);
}

function as(user: string, host: string, method: string, path: string, body?: unknown) {
  return call(platform.url, { host, token: tokens[user], method, path, body });
}

const skill = {
  name: 'Double',
  description: 'doubles a number',
  inputSchema: { type: 'object', properties: { n: { type: 'integer' } }, required: ['n'] },
  outputSchema: { type: 'object', properties: { value: { type: 'integer' } }, required: ['value'] },
  risk: 'low',
};

async function runToEnd(skillId: string, input: unknown) {
  const started = await as('bob', 'acme.localhost', 'POST', `/api/skills/${skillId}/executions`, { input });
  expect(started.status, started.text).toBe(202);
  for (let attempt = 0; attempt < 200; attempt++) {
    const execution = await as('bob', 'acme.localhost', 'GET', `/api/executions/${started.body.id}`);
    if (!['requested', 'queued', 'running'].includes(execution.body.status)) return execution.body;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error('run did not finish');
}

beforeAll(async () => {
  platform = await startLocalPlatform({
    port: 0,
    dataDir: null,
    schedules: false,
    demoPassword: PASSWORD,
    log: () => undefined,
  });
  tokens.admin = await login('admin.localhost', 'admin');
  tokens.alice = await login('acme.localhost', 'alice');
  tokens.bob = await login('acme.localhost', 'bob');
  tokens.gina = await login('globex.localhost', 'gina');
});

afterAll(async () => {
  await platform?.stop();
});

describe('templates', () => {
  let templateId: string;

  it('are authored on the admin host with a checked script', async () => {
    const broken = await as('admin', 'admin.localhost', 'POST', '/api/templates', {
      skill,
      source: 'def main(:\n',
    });
    expect(broken.status).toBe(422);
    const created = await as('admin', 'admin.localhost', 'POST', '/api/templates', {
      skill,
      source: 'def main(inputs, ctx):\n    return {"value": inputs["n"] * 2}\n',
    });
    expect(created.status, created.text).toBe(201);
    expect(created.body).toMatchObject({ name: 'Double', version: 1 });
    templateId = created.body.id;
    // A tenant admin cannot author or distribute (no such route on a tenant host).
    expect(
      (await as('alice', 'acme.localhost', 'POST', '/api/templates', { skill, source: 'x' })).status,
    ).toBe(405);
    expect(
      (await as('alice', 'acme.localhost', 'POST', `/api/templates/${templateId}/distribute`, { all: true }))
        .status,
    ).toBe(404);
  });

  it('are offered only to the tenants they were distributed to', async () => {
    const distributed = await as(
      'admin',
      'admin.localhost',
      'POST',
      `/api/templates/${templateId}/distribute`,
      {
        tenantIds: ['acme'],
      },
    );
    expect(distributed.body.tenants).toEqual(['acme']);
    const acme = await as('alice', 'acme.localhost', 'GET', '/api/templates');
    expect(acme.body.items).toEqual([
      expect.objectContaining({
        id: templateId,
        latestVersion: 1,
        installedVersion: null,
        updateAvailable: false,
      }),
    ]);
    const globex = await as('gina', 'globex.localhost', 'GET', '/api/templates');
    expect(globex.body.items).toEqual([]);
    expect(
      (await as('gina', 'globex.localhost', 'POST', `/api/templates/${templateId}/install`)).status,
    ).toBe(404);
    expect((await as('bob', 'acme.localhost', 'POST', `/api/templates/${templateId}/install`)).status).toBe(
      403,
    );
  });

  it('install as a Skill with provenance, and update to a newer version', async () => {
    const installed = await as('alice', 'acme.localhost', 'POST', `/api/templates/${templateId}/install`);
    expect(installed.status, installed.text).toBe(200);
    expect(installed.body).toMatchObject({ installedVersion: 1, updateAvailable: false });
    const skillId: string = installed.body.skillId;
    const skillView = await as('alice', 'acme.localhost', 'GET', `/api/skills/${skillId}`);
    expect(skillView.body.provenance).toMatchObject({ templateId, version: 1 });
    // The script's version is noted with the template's name, as the Skill form's Version list shows
    // it (the id means nothing to the tenant).
    const scriptId: string = skillView.body.asset.id;
    const notes = async () =>
      (
        (await as('alice', 'acme.localhost', 'GET', `/api/assets/scripts/${scriptId}/versions`)).body
          .items as { version: number; note: string }[]
      )
        .sort((a, b) => a.version - b.version)
        .map((item) => item.note);
    expect(await notes()).toEqual(['template "Double" v1']);
    expect((await runToEnd(skillId, { n: 21 })).output).toEqual({ value: 42 });
    expect((await as('alice', 'acme.localhost', 'POST', `/api/templates/${templateId}/install`)).status).toBe(
      409,
    );

    const v2 = await as('admin', 'admin.localhost', 'POST', `/api/templates/${templateId}/versions`, {
      skill,
      source: 'def main(inputs, ctx):\n    return {"value": inputs["n"] * 3}\n',
      note: 'triple',
    });
    expect(v2.status, v2.text).toBe(201);
    const offered = await as('alice', 'acme.localhost', 'GET', '/api/templates');
    expect(offered.body.items[0]).toMatchObject({
      latestVersion: 2,
      installedVersion: 1,
      updateAvailable: true,
    });
    const updated = await as('alice', 'acme.localhost', 'POST', `/api/templates/${templateId}/install`);
    expect(updated.body).toMatchObject({ installedVersion: 2, updateAvailable: false, skillId });
    expect((await runToEnd(skillId, { n: 2 })).output).toEqual({ value: 6 });
    expect(await notes()).toEqual(['template "Double" v1', 'template "Double" v2']);
    const audit = await as('admin', 'admin.localhost', 'GET', '/api/audit?limit=50');
    expect(audit.body.items.map((entry: { action: string }) => entry.action)).toEqual(
      expect.arrayContaining(['template.created', 'template.distributed', 'template.version.created']),
    );
  });

  it('show the console where they stand with each tenant, a page of tenants at a time', async () => {
    await as('admin', 'admin.localhost', 'POST', `/api/templates/${templateId}/distribute`, {
      tenantIds: ['globex'],
    });
    const whole = await as(
      'admin',
      'admin.localhost',
      'GET',
      `/api/templates/${templateId}/tenants?limit=100`,
    );
    expect(whole.status, whole.text).toBe(200);
    expect(whole.body.cursor).toBeUndefined();
    expect(whole.body.items).toEqual([
      {
        tenantId: 'acme',
        tenantName: expect.any(String),
        offeredAt: expect.any(String),
        offeredBy: 'admin',
        installedVersion: 2,
        installedAt: expect.any(String),
        skillId: expect.stringMatching(/^skl-/),
        updateAvailable: false,
      },
      expect.objectContaining({
        tenantId: 'globex',
        installedVersion: null,
        installedAt: null,
        skillId: null,
      }),
    ]);

    // One tenant a page: a page holds the offered tenants among its one, so some are empty; walked to
    // the end they hold the same list.
    const walked: unknown[] = [];
    let cursor: string | undefined;
    let pages = 0;
    do {
      const query = cursor === undefined ? '' : `&cursor=${encodeURIComponent(cursor)}`;
      const page = await as(
        'admin',
        'admin.localhost',
        'GET',
        `/api/templates/${templateId}/tenants?limit=1${query}`,
      );
      expect(page.status, page.text).toBe(200);
      expect(page.body.items.length).toBeLessThanOrEqual(1);
      walked.push(...page.body.items);
      cursor = page.body.cursor;
      pages++;
    } while (cursor !== undefined && pages < 50);
    expect(walked).toEqual(whole.body.items);
    expect(pages).toBeGreaterThan(walked.length);

    // A newer version: acme has an update waiting.
    await as('admin', 'admin.localhost', 'POST', `/api/templates/${templateId}/versions`, {
      skill,
      source: 'def main(inputs, ctx):\n    return {"value": inputs["n"] * 4}\n',
    });
    const after = await as('admin', 'admin.localhost', 'GET', `/api/templates/${templateId}/tenants`);
    expect(after.body.items[0]).toMatchObject({
      tenantId: 'acme',
      installedVersion: 2,
      updateAvailable: true,
    });

    expect(
      (await as('admin', 'admin.localhost', 'GET', '/api/templates/tpl-000000000000/tenants')).status,
    ).toBe(404);
    const forged = await as(
      'admin',
      'admin.localhost',
      'GET',
      `/api/templates/${templateId}/tenants?cursor=bm9wZQ`,
    );
    expect(forged.status, forged.text).toBe(422);
    // A tenant's admin sees its own offers (GET /api/templates), never where a template stands elsewhere.
    expect((await as('alice', 'acme.localhost', 'GET', `/api/templates/${templateId}/tenants`)).status).toBe(
      404,
    );
  });
});
