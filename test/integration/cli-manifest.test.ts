/**
 * The `execfabric` CLI, run as a child process against the embedded platform, on what a Skill
 * declares besides its definition: tags, egress (HTTP resources its script may call), collections
 * and parameters. `pull` writes them, `push --dry-run` shows their changes, `push` applies them (a
 * declaration left out means none), a pulled folder pushes as nothing to push, and an egress the
 * tenant is not granted comes back as the platform's 422, named as the manifest names it. Also: what
 * `login` says to a user whose role lacks `token:create`, and what `run` says to the requester of a
 * run that waits for approval.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { type CliSession, cliSession } from '../support/cli.ts';
import { HOSTS, startTestPlatform, type TestPlatform } from '../support/platform.ts';
import { type TempDir, tempDir } from '../support/scratch.ts';

const PASSWORD = 'cli-manifest-test-password';
let t: TestPlatform;
let acme: string;
let aliceSession: string;
let alice: CliSession;
let aliceHome: TempDir | undefined;
let workDir: TempDir | undefined;
let work: string;
/** An HTTP resource granted to acme, and one that is not. */
let granted: string;
let notGranted: string;

const send = (method: string, path: string, body?: unknown) =>
  t.send({ host: HOSTS.acme, token: aliceSession, method, path, ...(body === undefined ? {} : { body }) });

const manifestOf = (dir: string) => join(dir, 'execfabric.yaml');

async function skillByName(name: string): Promise<Record<string, unknown> | undefined> {
  const list = await t.send({ host: HOSTS.acme, path: '/api/skills', token: aliceSession });
  return (list.body.items as Record<string, unknown>[]).find((item) => item.name === name);
}

async function resource(admin: string, name: string, grant: boolean): Promise<string> {
  const created = await t.send({
    host: HOSTS.admin,
    token: admin,
    method: 'POST',
    path: '/api/http-resources',
    body: {
      name,
      baseUrl: 'http://127.0.0.1:9',
      methods: ['GET'],
      paths: ['/api/*'],
      writeAllowed: false,
      auth: { scheme: 'bearer' },
      localDevelopment: true,
    },
  });
  expect(created.status, created.text).toBe(201);
  const id = String(created.body.id);
  if (grant) {
    const grants = await t.send({
      host: HOSTS.admin,
      token: admin,
      method: 'POST',
      path: `/api/http-resources/${id}/grants`,
      body: { tenantIds: ['acme'] },
    });
    expect(grants.status, grants.text).toBe(200);
  }
  return id;
}

beforeAll(async () => {
  t = await startTestPlatform(PASSWORD);
  acme = `http://${HOSTS.acme}:${t.platform.port}`;
  aliceSession = await t.login(HOSTS.acme, 'alice');
  aliceHome = tempDir('execfabric-cli-');
  alice = cliSession(aliceHome.path);
  workDir = tempDir('execfabric-project-');
  work = workDir.path;
  const login = await alice.run(['login', '--host', acme, '--username', 'alice', '--password-stdin'], {
    input: `${PASSWORD}\n`,
  });
  expect(login.code, login.stderr).toBe(0);
  const admin = await t.login(HOSTS.admin, 'admin');
  granted = await resource(admin, 'billing-api', true);
  notGranted = await resource(admin, 'payroll-api', false);
  const collection = await send('POST', '/api/data/collections', {
    name: 'invoices',
    schema: { type: 'object' },
  });
  expect(collection.status, collection.text).toBe(201);
}, 120_000);

afterAll(async () => {
  try {
    await t?.stop();
  } finally {
    aliceHome?.remove();
    workDir?.remove();
  }
});

describe('a Skill’s tags, egress, collections and parameters in the manifest', { timeout: 120_000 }, () => {
  const readManifest = (dir: string) => parse(readFileSync(manifestOf(dir), 'utf8'));
  const writeManifest = (dir: string, document: unknown) =>
    writeFileSync(manifestOf(dir), stringify(document));

  it('pulls them, and the pulled folder pushes as nothing to push', async () => {
    const script = await send('POST', '/api/assets/scripts', {
      name: 'invoice',
      source: 'def main(inputs, ctx):\n    return {}\n',
    });
    expect(script.status, script.text).toBe(201);
    const skill = await send('POST', '/api/skills', {
      name: 'Invoice',
      inputSchema: { type: 'object' },
      outputSchema: { type: 'object' },
      risk: 'low',
      asset: { kind: 'python-script', id: script.body.id, version: 'active' },
      tags: ['reports', 'finance'],
      egress: [granted],
      collections: ['invoices'],
      parameters: ['currency'],
    });
    expect(skill.status, skill.text).toBe(201);

    const project = join(work, 'pulled');
    const pulled = await alice.run(['pull', project]);
    expect(pulled.code, pulled.stderr).toBe(0);
    expect(readManifest(project).skills.Invoice).toMatchObject({
      tags: ['finance', 'reports'],
      egress: [granted],
      collections: ['invoices'],
      parameters: ['currency'],
    });
    const again = await alice.run(['push', project]);
    expect(again.code, again.stderr).toBe(0);
    expect(again.stdout).toContain('nothing to push');
    expect(again.stdout).toContain('skill Invoice: unchanged');
  });

  it('creates a Skill with them, as a push to a fresh tenant does', async () => {
    const project = join(work, 'pulled');
    const document = readManifest(project);
    document.skills['Invoice copy'] = { ...document.skills.Invoice };
    writeManifest(project, document);
    const dry = await alice.run(['push', project, '--dry-run']);
    expect(dry.code, dry.stderr).toBe(0);
    expect(dry.stdout).toContain('+ skill Invoice copy: create');
    expect(dry.stdout).toContain(`+    "${granted}"`);
    const pushed = await alice.run(['push', project]);
    expect(pushed.code, pushed.stderr).toBe(0);
    expect(await skillByName('Invoice copy')).toMatchObject({
      tags: ['finance', 'reports'],
      egress: [granted],
      collections: ['invoices'],
      parameters: ['currency'],
    });
    expect((await alice.run(['push', project])).stdout).toContain('nothing to push');
  });

  it('shows their changes in the dry run, and a declaration left out is removed', async () => {
    const project = join(work, 'pulled');
    const document = readManifest(project);
    document.skills.Invoice.tags = ['finance'];
    delete document.skills.Invoice.egress;
    delete document.skills.Invoice.collections;
    writeManifest(project, document);
    const before = await skillByName('Invoice');
    const dry = await alice.run(['push', project, '--dry-run']);
    expect(dry.code, dry.stderr).toBe(0);
    expect(dry.stdout).toContain('~ skill Invoice: update tags, egress, collections (revision 1 → 2)');
    expect(dry.stdout).toContain(`-    "${granted}"`);
    expect(dry.stdout).toContain('-    "reports"');
    expect(dry.stdout).toContain('skill Invoice copy: unchanged');
    expect((await skillByName('Invoice'))?.revision).toBe(before?.revision);

    const pushed = await alice.run(['push', project]);
    expect(pushed.code, pushed.stderr).toBe(0);
    const after = await skillByName('Invoice');
    expect(after).toMatchObject({ revision: 2, tags: ['finance'], parameters: ['currency'] });
    expect(after?.egress).toBeUndefined();
    expect(after?.collections).toBeUndefined();
    expect((await alice.run(['push', project])).stdout).toContain('nothing to push');
  });

  it('refuses an egress the tenant is not granted with the platform’s 422, named as the manifest names it', async () => {
    const project = join(work, 'pulled');
    const document = readManifest(project);
    document.skills.Invoice.egress = [notGranted];
    writeManifest(project, document);
    const pushed = await alice.run(['push', project]);
    expect(pushed.code).toBe(1);
    expect(pushed.stderr).toContain('skill Invoice: update egress');
    expect(pushed.stderr).toContain('The Skill declares egress it is not granted');
    expect(pushed.stderr).toContain(
      `skills.Invoice.egress.0: ${notGranted} is not an HTTP resource granted to this tenant`,
    );
    expect(pushed.stderr).toContain('GET /api/http-resources lists those granted to this tenant');
    expect(pushed.stderr).toContain('Nothing was changed.');
    expect((await skillByName('Invoice'))?.egress).toBeUndefined();
  });

  it('checks them before sending anything, as the platform would', async () => {
    const project = join(work, 'bad-declarations');
    mkdirSync(join(project, 'scripts'), { recursive: true });
    writeFileSync(join(project, 'scripts', 'x.py'), 'def main(inputs, ctx):\n    return {}\n');
    writeFileSync(
      manifestOf(project),
      [
        'version: 1',
        'scripts:',
        '  x: { file: scripts/x.py }',
        'skills:',
        '  Bad:',
        '    script: x',
        '    inputSchema: { type: object }',
        '    outputSchema: { type: object }',
        '    risk: low',
        '    tags: [Finance]',
        '    parameters: [1st]',
        `    egress: [${Array.from({ length: 17 }, (_, index) => `hr-${String(index).padStart(12, '0')}`).join(', ')}]`,
        '',
      ].join('\n'),
    );
    const pushed = await alice.run(['push', project]);
    expect(pushed.code).toBe(2);
    expect(pushed.stderr).toContain('skills.Bad.tags.0: a-z, 0-9 and hyphens');
    expect(pushed.stderr).toContain('skills.Bad.parameters.0: a parameter key');
    expect(pushed.stderr).toContain('skills.Bad.egress: at most 16 HTTP resources');
    expect(await skillByName('Bad')).toBeUndefined();
  });
});

describe('what the CLI says to users who cannot do it themselves', { timeout: 120_000 }, () => {
  it('tells a user whose role lacks token:create that login needs it, and whom to ask', async () => {
    const role = await send('POST', '/api/roles', {
      name: 'runner-only',
      permissions: ['skill:read', 'skill:run'],
    });
    expect(role.status, role.text).toBe(201);
    const user = await send('POST', '/api/users', {
      username: 'rita',
      password: PASSWORD,
      roles: ['runner-only'],
    });
    expect(user.status, user.text).toBe(201);
    const rita = cliSession();
    const login = await rita.run(['login', '--host', acme, '-u', 'rita', '--password-stdin'], {
      input: PASSWORD,
    });
    expect(login.code).toBe(1);
    expect(login.stderr).toContain('rita may not create access tokens on acme.localhost');
    expect(login.stderr).toContain('needs the permission token:create');
    expect(login.stderr).toContain('Users & roles');
  });

  it('tells the requester of a run waiting for approval that others approve it, and how to follow it', async () => {
    const project = join(work, 'guarded');
    mkdirSync(join(project, 'scripts'), { recursive: true });
    writeFileSync(join(project, 'scripts', 'guarded.py'), 'def main(inputs, ctx):\n    return {}\n');
    writeFileSync(
      manifestOf(project),
      'version: 1\nscripts:\n  guarded:\n    file: scripts/guarded.py\nskills:\n  Guarded:\n    script: guarded\n    inputSchema: { type: object }\n    outputSchema: { type: object }\n    risk: medium\n',
    );
    expect((await alice.run(['push', project])).code).toBe(0);
    const bob = cliSession();
    const login = await bob.run(['login', '--host', acme, '-u', 'bob', '--password-stdin'], {
      input: PASSWORD,
    });
    expect(login.code, login.stderr).toBe(0);
    const ran = await bob.run(['run', 'Guarded', '--timeout', '2']);
    expect(ran.code).toBe(1);
    const id = /\[(ex-[0-9a-z]+)\]/.exec(ran.stderr)?.[1] ?? '';
    expect(ran.stderr).toContain(
      `waiting for 1 approval by users other than bob (nobody approves their own run); \`execfabric logs ${id} --follow\` follows it`,
    );
    expect(ran.stderr).not.toContain('execfabric approvals');
  });
});
