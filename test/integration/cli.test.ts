/**
 * The `execfabric` CLI, run as a child process against the embedded platform: sign-in and the
 * stored profile, init → push → run → logs, idempotent pushes that upload only what changed, dry
 * runs that change nothing, pull, listings as JSON, approvals, and the clear errors (with non-zero
 * exit codes) of bad manifests, wrong hosts and revoked or foreign tokens.
 */
import { chmodSync, existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type CliSession, cliSession } from '../support/cli.ts';
import { startTestPlatform, type TestPlatform } from '../support/platform.ts';
import { type TempDir, tempDir } from '../support/scratch.ts';

const PASSWORD = 'cli-test-password';
let t: TestPlatform;
let acme: string;
let globex: string;
let alice: CliSession;
let aliceSession: string;
let work: string;
/** Alice's configuration folder and the projects' folder, both removed in afterAll. */
let aliceHome: TempDir | undefined;
let workDir: TempDir | undefined;

async function scriptByName(name: string) {
  const list = await t.send({
    host: 'acme.localhost',
    path: '/api/assets/scripts?limit=100',
    token: aliceSession,
  });
  return (
    list.body.items as { id: string; name: string; activeVersion: number; latestVersion: number }[]
  ).find((item) => item.name === name);
}

async function skillByName(name: string) {
  const list = await t.send({ host: 'acme.localhost', path: '/api/skills', token: aliceSession });
  return (list.body.items as { id: string; name: string; revision: number }[]).find(
    (item) => item.name === name,
  );
}

beforeAll(async () => {
  t = await startTestPlatform(PASSWORD);
  acme = `http://acme.localhost:${t.platform.port}`;
  globex = `http://globex.localhost:${t.platform.port}`;
  aliceSession = await t.login('acme.localhost', 'alice');
  aliceHome = tempDir('execfabric-cli-');
  alice = cliSession(aliceHome.path);
  workDir = tempDir('execfabric-project-');
  work = workDir.path;
  const login = await alice.run(['login', '--host', acme, '--username', 'alice', '--password-stdin'], {
    input: `${PASSWORD}\n`,
  });
  expect(login.code, login.stderr).toBe(0);
});

afterAll(async () => {
  try {
    await t?.stop();
  } finally {
    aliceHome?.remove();
    workDir?.remove();
  }
});

describe('execfabric login, whoami, logout', () => {
  it('keeps one owner-only profile per host holding an access token, never the password', async () => {
    const file = join(alice.configHome, 'execfabric', 'config.json');
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(statSync(join(alice.configHome, 'execfabric')).mode & 0o777).toBe(0o700);
    const text = readFileSync(file, 'utf8');
    expect(text).not.toContain(PASSWORD);
    const config = JSON.parse(text);
    expect(Object.keys(config.profiles)).toEqual([acme]);
    expect(config.profiles[acme]).toMatchObject({ username: 'alice', host: acme });
    expect(config.profiles[acme].token).toMatch(/^efp_/);

    const who = await alice.run(['whoami']);
    expect(who.code, who.stderr).toBe(0);
    expect(who.stdout).toContain('alice on acme.localhost');
    expect(who.stdout).toContain('tenant acme');
    const json = await alice.run(['whoami', '--json']);
    expect(JSON.parse(json.stdout)).toMatchObject({
      username: 'alice',
      via: 'personal-access-token',
      host: acme,
    });

    // The password session used to mint the token was ended: only the token remains.
    const tokens = await t.send({ host: 'acme.localhost', path: '/api/tokens', token: aliceSession });
    expect((tokens.body.items as { revoked: boolean }[]).filter((token) => !token.revoked)).toHaveLength(1);
  });

  it('signs in again in place, revokes what it replaced, and logs out by revoking the token', async () => {
    const bob = cliSession();
    const first = await bob.run(['login', '--host', acme, '-u', 'bob', '--password-stdin'], {
      input: PASSWORD,
    });
    expect(first.code, first.stderr).toBe(0);
    const firstToken = JSON.parse(readFileSync(join(bob.configHome, 'execfabric', 'config.json'), 'utf8'))
      .profiles[acme].token as string;
    const second = await bob.run(['login', '--host', acme, '-u', 'bob', '--password-stdin'], {
      input: PASSWORD,
    });
    expect(second.code, second.stderr).toBe(0);
    const replaced = await bob.run(['skills'], {
      env: { EXECFABRIC_TOKEN: firstToken, EXECFABRIC_HOST: acme },
    });
    expect(replaced.code).toBe(1);

    const out = await bob.run(['logout']);
    expect(out.code, out.stderr).toBe(0);
    expect(out.stdout).toContain('revoked');
    const after = await bob.run(['whoami', '--host', acme]);
    expect(after.code).toBe(3);
    expect(after.stderr).toContain('Not signed in to acme.localhost');
  });

  it('refuses a wrong password, an unbound host and a host nobody listens on, with clear errors', async () => {
    const session = cliSession();
    const wrong = await session.run(['login', '--host', acme, '-u', 'alice', '--password-stdin'], {
      input: 'not-the-password',
    });
    expect(wrong.code).toBe(1);
    expect(wrong.stderr).toContain('wrong username or password');

    const unbound = await session.run(
      ['login', '--host', `http://initech.localhost:${t.platform.port}`, '-u', 'alice', '--password-stdin'],
      { input: PASSWORD },
    );
    expect(unbound.code).toBe(1);
    expect(unbound.stderr).toContain(`No ExecFabric domain is bound to initech.localhost:${t.platform.port}`);

    const closed = await session.run(
      ['login', '--host', 'http://acme.localhost:1', '-u', 'alice', '--password-stdin'],
      {
        input: PASSWORD,
      },
    );
    expect(closed.code).toBe(1);
    expect(closed.stderr).toContain('Cannot reach http://acme.localhost:1: connection refused');

    const noHost = await session.run(['login', '-u', 'alice', '--password-stdin'], { input: PASSWORD });
    expect(noHost.code).toBe(2);
    expect(noHost.stderr).toContain('--host');
    expect(existsSync(join(session.configHome, 'execfabric', 'config.json'))).toBe(false);
  });

  it('refuses a revoked token and a token used on another tenant’s host', async () => {
    const bob = cliSession();
    expect(
      (await bob.run(['login', '--host', acme, '-u', 'bob', '--password-stdin'], { input: PASSWORD })).code,
    ).toBe(0);
    const profile = JSON.parse(readFileSync(join(bob.configHome, 'execfabric', 'config.json'), 'utf8'))
      .profiles[acme];

    const foreign = await bob.run(['skills'], {
      env: { EXECFABRIC_TOKEN: profile.token, EXECFABRIC_HOST: globex },
    });
    expect(foreign.code).toBe(1);
    expect(foreign.stderr).toContain(`${globex} refused the access token`);

    const revoke = await t.send({
      host: 'acme.localhost',
      method: 'DELETE',
      path: `/api/tokens/${profile.tokenId}`,
      token: aliceSession,
    });
    expect(revoke.status, revoke.text).toBe(204);
    const refused = await bob.run(['skills']);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('Invalid or expired credentials');
    expect(refused.stderr).toContain(`execfabric login --host ${acme}`);
  });

  it('acts from EXECFABRIC_TOKEN and EXECFABRIC_HOST alone (CI), with no stored sign-in', async () => {
    const profile = JSON.parse(readFileSync(join(alice.configHome, 'execfabric', 'config.json'), 'utf8'))
      .profiles[acme];
    const ci = cliSession();
    const who = await ci.run(['whoami', '--json'], {
      env: { EXECFABRIC_TOKEN: profile.token, EXECFABRIC_HOST: acme },
    });
    expect(who.code, who.stderr).toBe(0);
    expect(JSON.parse(who.stdout)).toMatchObject({ username: 'alice', credential: 'environment' });
    expect(existsSync(join(ci.configHome, 'execfabric'))).toBe(false);
  });

  it('refuses a configuration file other users may read', async () => {
    const session = cliSession();
    expect(
      (await session.run(['login', '--host', acme, '-u', 'bob', '--password-stdin'], { input: PASSWORD }))
        .code,
    ).toBe(0);
    const file = join(session.configHome, 'execfabric', 'config.json');
    chmodSync(file, 0o644);
    const refused = await session.run(['whoami']);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('chmod 600');
  });
});

describe('execfabric init, push, run, logs', () => {
  it('creates a project, pushes it, runs its Skill and shows its logs', async () => {
    const project = join(work, 'hello');
    const init = await alice.run(['init', project]);
    expect(init.code, init.stderr).toBe(0);
    for (const file of ['execfabric.yaml', 'scripts/hello.py', 'schemas/hello.input.json']) {
      expect(existsSync(join(project, file)), file).toBe(true);
    }
    const again = await alice.run(['init', project]);
    expect(again.code).toBe(2);
    expect(again.stderr).toContain('already holds');

    const dry = await alice.run(['push', project, '--dry-run']);
    expect(dry.code, dry.stderr).toBe(0);
    expect(dry.stdout).toContain('+ script hello: create');
    expect(dry.stdout).toContain('+    return {"message": f"Hello, {name}!"}');
    expect(dry.stdout).toContain('Dry run: nothing was changed');
    expect(await scriptByName('hello')).toBeUndefined();
    expect(await skillByName('Hello')).toBeUndefined();

    const pushed = await alice.run(['push', project]);
    expect(pushed.code, pushed.stderr).toBe(0);
    expect(pushed.stdout).toContain('2 steps applied');
    // Without a terminal each step is said once, with what it made: not once in a plan, once as
    // progress and once more in the summary.
    for (const step of ['script hello: create from scripts/hello.py', 'skill Hello: create']) {
      expect(`${pushed.stdout}${pushed.stderr}`.split(step), step).toHaveLength(2);
    }
    expect(pushed.stdout).toMatch(/^\+ script hello: create from scripts\/hello\.py .* → scr-\S+ v1$/m);
    expect(pushed.stdout).toMatch(
      /^\+ skill Hello: create \(script hello, low risk\) → skl-\S+ revision 1$/m,
    );
    const script = await scriptByName('hello');
    expect(script).toMatchObject({ activeVersion: 1, latestVersion: 1 });
    expect(await skillByName('Hello')).toMatchObject({ revision: 1 });

    const ran = await alice.run(['run', 'Hello', '--input', '{"name":"Ada"}']);
    expect(ran.code, ran.stderr).toBe(0);
    expect(JSON.parse(ran.stdout)).toEqual({ message: 'Hello, Ada!' });
    expect(ran.stderr).toContain('saying hello to Ada');
    expect(ran.stderr).toMatch(/\[(ex-[0-9a-z]+)\] succeeded/);
    const id = /\[(ex-[0-9a-z]+)\]/.exec(ran.stderr)?.[1] ?? '';

    const logs = await alice.run(['logs', id]);
    expect(logs.code, logs.stderr).toBe(0);
    expect(logs.stdout).toBe('saying hello to Ada\n');
    const followed = await alice.run(['logs', id, '--follow', '--json']);
    expect(JSON.parse(followed.stdout)).toMatchObject({
      id,
      status: 'succeeded',
      logs: { stdout: 'saying hello to Ada\n' },
    });

    const inputFile = join(work, 'input.json');
    writeFileSync(inputFile, '{"name":"Grace"}');
    const fromFile = await alice.run(['run', 'Hello', '--input', `@${inputFile}`, '--json']);
    expect(fromFile.code, fromFile.stderr).toBe(0);
    expect(JSON.parse(fromFile.stdout)).toMatchObject({
      status: 'succeeded',
      output: { message: 'Hello, Grace!' },
    });
    const fromStdin = await alice.run(['run', 'Hello', '--input', '@-'], { input: '{"name":"Linus"}' });
    expect(JSON.parse(fromStdin.stdout)).toEqual({ message: 'Hello, Linus!' });
  });

  it('pushes nothing when nothing changed, and only the changed script as a new version', async () => {
    const project = join(work, 'hello');
    const second = await alice.run(['push', project]);
    expect(second.code, second.stderr).toBe(0);
    expect(second.stdout).toContain('nothing to push');
    expect(await scriptByName('hello')).toMatchObject({ activeVersion: 1, latestVersion: 1 });
    expect(await skillByName('Hello')).toMatchObject({ revision: 1 });

    const file = join(project, 'scripts', 'hello.py');
    const original = readFileSync(file, 'utf8');
    writeFileSync(file, original.replace('Hello, {name}!', 'Hi there, {name}!'));
    const dry = await alice.run(['push', project, '--dry-run']);
    expect(dry.code, dry.stderr).toBe(0);
    expect(dry.stdout).toContain('~ script hello: upload v2');
    expect(dry.stdout).toContain('-    return {"message": f"Hello, {name}!"}');
    expect(dry.stdout).toContain('+    return {"message": f"Hi there, {name}!"}');
    expect(dry.stdout).toContain('skill Hello: unchanged');
    expect(await scriptByName('hello')).toMatchObject({ activeVersion: 1, latestVersion: 1 });

    const pushed = await alice.run(['push', project, '--json']);
    expect(pushed.code, pushed.stderr).toBe(0);
    expect(JSON.parse(pushed.stdout).steps).toEqual([expect.objectContaining({ kind: 'upload-version' })]);
    expect(await scriptByName('hello')).toMatchObject({ activeVersion: 2, latestVersion: 2 });
    expect(await skillByName('Hello')).toMatchObject({ revision: 1 });

    const ran = await alice.run(['run', 'Hello', '--input', '{"name":"Ada"}', '--json']);
    expect(ran.code, ran.stderr).toBe(0);
    expect(JSON.parse(ran.stdout)).toMatchObject({
      output: { message: 'Hi there, Ada!' },
      asset: { version: 2 },
    });

    // Back to the first content: that version is activated again, nothing is uploaded.
    writeFileSync(file, original);
    const back = await alice.run(['push', project]);
    expect(back.code, back.stderr).toBe(0);
    expect(back.stdout).toContain('activate v1 again');
    expect(await scriptByName('hello')).toMatchObject({ activeVersion: 1, latestVersion: 2 });
  });

  it('updates a Skill only where its definition changed', async () => {
    const project = join(work, 'hello');
    const manifest = join(project, 'execfabric.yaml');
    writeFileSync(
      manifest,
      readFileSync(manifest, 'utf8').replace('Says hello to someone.', 'Greets a person.'),
    );
    const dry = await alice.run(['push', project, '--dry-run']);
    expect(dry.stdout).toContain('~ skill Hello: update description (revision 1 → 2)');
    expect(dry.stdout).toContain('-  "description": "Says hello to someone.",');
    expect((await skillByName('Hello'))?.revision).toBe(1);
    const pushed = await alice.run(['push', project]);
    expect(pushed.code, pushed.stderr).toBe(0);
    expect((await skillByName('Hello'))?.revision).toBe(2);
    expect((await alice.run(['push', project])).stdout).toContain('nothing to push');
  });

  it('exits non-zero with the run’s error when a run fails', async () => {
    const project = join(work, 'failing');
    mkdirSync(join(project, 'scripts'), { recursive: true });
    writeFileSync(
      join(project, 'scripts', 'boom.py'),
      'def main(inputs, ctx):\n    raise ValueError("no luck")\n',
    );
    writeFileSync(
      join(project, 'execfabric.json'),
      JSON.stringify({
        version: 1,
        scripts: { boom: { file: 'scripts/boom.py' } },
        skills: { Boom: { script: 'boom', inputSchema: { type: 'object' }, outputSchema: {}, risk: 'low' } },
      }),
    );
    expect((await alice.run(['push', project])).code).toBe(0);
    const ran = await alice.run(['run', 'Boom']);
    expect(ran.code).toBe(1);
    expect(ran.stderr).toMatch(/Run ex-[0-9a-z]+ failed: ValueError: no luck/);
    const bad = await alice.run(['run', 'Boom', '--input', '{not json']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('--input is not JSON');
    // A run whose output breaks the Skill's output schema says what is wrong, as the run records it.
    writeFileSync(
      join(project, 'scripts', 'boom.py'),
      'def main(inputs, ctx):\n    return {"greeting": 1}\n',
    );
    writeFileSync(
      join(project, 'execfabric.json'),
      JSON.stringify({
        version: 1,
        scripts: { boom: { file: 'scripts/boom.py' } },
        skills: {
          Boom: {
            script: 'boom',
            inputSchema: { type: 'object' },
            outputSchema: { type: 'object', required: ['message'], additionalProperties: false },
            risk: 'low',
          },
        },
      }),
    );
    expect((await alice.run(['push', project])).code).toBe(0);
    const violated = await alice.run(['run', 'Boom']);
    expect(violated.code).toBe(1);
    expect(violated.stderr).toMatch(/Run ex-[0-9a-z]+ failed: OutputSchemaViolation: /);
    expect(violated.stderr).toContain("output: must have required property 'message'");
    expect(violated.stderr).toContain("output: must not have the property 'greeting'");
    const missing = await alice.run(['run', 'Nope']);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain('No Skill named "Nope"');
  });

  it('shows a failed run’s logs with its stderr and error, and exits 1 as `run` does', async () => {
    const project = join(work, 'noisy');
    mkdirSync(join(project, 'scripts'), { recursive: true });
    writeFileSync(
      join(project, 'scripts', 'noisy.py'),
      'import sys\n\n\ndef main(inputs, ctx):\n    print("about to fail")\n    print("a warning on stderr", file=sys.stderr)\n    raise ValueError("no luck")\n',
    );
    writeFileSync(
      join(project, 'execfabric.yaml'),
      'version: 1\nscripts:\n  noisy:\n    file: scripts/noisy.py\nskills:\n  Noisy:\n    script: noisy\n    inputSchema: { type: object }\n    outputSchema: { type: object }\n    risk: low\n',
    );
    expect((await alice.run(['push', project])).code).toBe(0);
    const ran = await alice.run(['run', 'Noisy']);
    expect(ran.code).toBe(1);
    const id = /\[(ex-[0-9a-z]+)\]/.exec(ran.stderr)?.[1] ?? '';
    const failure = `error: Run ${id} failed: ValueError: no luck`;
    expect(ran.stderr).toContain(failure);

    for (const args of [
      ['logs', id],
      ['logs', id, '--follow'],
    ]) {
      const logs = await alice.run(args);
      expect(logs.code, args.join(' ')).toBe(1);
      expect(logs.stdout, args.join(' ')).toBe('about to fail\n');
      expect(logs.stderr, args.join(' ')).toContain('a warning on stderr\n');
      expect(logs.stderr, args.join(' ')).toContain(failure);
      // The script's traceback, as `run` shows it.
      expect(logs.stderr, args.join(' ')).toContain('raise ValueError("no luck")');
    }
    const json = await alice.run(['logs', id, '--json']);
    expect(json.code).toBe(1);
    expect(JSON.parse(json.stdout)).toMatchObject({
      id,
      status: 'failed',
      logs: { stdout: 'about to fail\n', stderr: expect.stringContaining('a warning on stderr') },
      error: { type: 'ValueError', message: 'no luck' },
    });
    expect(json.stderr).toContain(failure);

    const help = await alice.run(['logs', '--help']);
    expect(help.stdout).toMatch(/\nExit codes:\n {2}0 +the run succeeded/);
    expect(help.stdout).toMatch(/\n {2}1 +it failed, was rejected, was cancelled or timed out/);
  });
});

describe('execfabric push refuses a bad manifest whole', () => {
  function project(name: string, manifest: string, file = 'execfabric.yaml'): string {
    const dir = join(work, name);
    mkdirSync(join(dir, 'scripts'), { recursive: true });
    writeFileSync(join(dir, 'scripts', 'ok.py'), 'def main(inputs, ctx):\n    return {}\n');
    writeFileSync(join(dir, file), manifest);
    return dir;
  }

  it('names the file, line, column and field of each problem, and sends nothing', async () => {
    const dir = project(
      'bad-fields',
      [
        'version: 1',
        'scripts:',
        '  bad-one:',
        '    file: scripts/ok.py',
        'skills:',
        '  Bad:',
        '    script: bad-one',
        '    inputSchema: { type: object }',
        '    outputSchema: { type: object }',
        '    risk: extreme',
        '    limits: { timeoutSeconds: 9999 }',
        '    colour: blue',
        '',
      ].join('\n'),
    );
    const result = await alice.run(['push', dir]);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain(
      'execfabric.yaml is not a valid ExecFabric manifest (3 problems); nothing was sent',
    );
    expect(result.stderr).toMatch(/execfabric\.yaml:10:11: skills\.Bad\.risk: Invalid option/);
    expect(result.stderr).toMatch(/execfabric\.yaml:11:31: skills\.Bad\.limits\.timeoutSeconds: Too big/);
    expect(result.stderr).toMatch(/execfabric\.yaml:12:5: skills\.Bad\.colour: unknown field/);
    expect(await scriptByName('bad-one')).toBeUndefined();
  });

  it('refuses YAML that does not parse, missing files, unknown scripts and rules the platform would refuse', async () => {
    const syntax = await alice.run(['push', project('bad-yaml', 'version: 1\nscripts: [\n')]);
    expect(syntax.code).toBe(2);
    expect(syntax.stderr).toMatch(/execfabric\.yaml:\d+:\d+: /);

    const refs = await alice.run([
      'push',
      project(
        'bad-refs',
        [
          'version: 1',
          'scripts:',
          '  ghost-script:',
          '    file: scripts/missing.py',
          '  escape:',
          '    file: ../../etc/passwd',
          'skills:',
          '  Risky:',
          '    script: nowhere',
          '    inputSchema: schemas/none.json',
          '    outputSchema: { type: 12 }',
          '    risk: high',
          '    approval: one',
          '',
        ].join('\n'),
      ),
    ]);
    expect(refs.code).toBe(2);
    expect(refs.stderr).toContain(
      'execfabric.yaml:4:11: scripts.ghost-script.file: scripts/missing.py does not exist',
    );
    expect(refs.stderr).toContain(
      'execfabric.yaml:6:11: scripts.escape.file: must be a path inside the project folder',
    );
    expect(refs.stderr).toContain('execfabric.yaml:9:13: skills.Risky.script: no script named "nowhere"');
    expect(refs.stderr).toContain('skills.Risky.approval: a high-risk Skill needs at least 2 approvals');
    expect(refs.stderr).toContain('skills.Risky.inputSchema: schemas/none.json does not exist');
    expect(refs.stderr).toContain('skills.Risky.outputSchema:');
    expect(await scriptByName('ghost-script')).toBeUndefined();

    const json = await alice.run([
      'push',
      project('bad-json', '{\n  "version": 2,\n  "scripts": {}\n}\n', 'execfabric.json'),
    ]);
    expect(json.code).toBe(2);
    expect(json.stderr).toContain('execfabric.json:2:14: version: must be 1');

    const none = await alice.run(['push', join(work, 'no-such-project')]);
    expect(none.code).toBe(2);
    expect(none.stderr).toContain('No manifest in');
  });
});

describe('execfabric listings, approvals and pull', () => {
  it('lists Skills and runs as tables and as JSON, filtered by status and Skill', async () => {
    const skills = await alice.run(['skills', '--json']);
    expect(skills.code, skills.stderr).toBe(0);
    expect((JSON.parse(skills.stdout) as { name: string }[]).map((skill) => skill.name)).toEqual(
      expect.arrayContaining(['Greet', 'Hello']),
    );
    const table = await alice.run(['skills']);
    expect(table.stdout).toMatch(/^NAME\s+ID\s+RISK/);

    const runs = await alice.run([
      'runs',
      '--json',
      '--skill',
      'Hello',
      '--status',
      'succeeded',
      '--limit',
      '2',
    ]);
    expect(runs.code, runs.stderr).toBe(0);
    const items = JSON.parse(runs.stdout) as { skillName: string; status: string }[];
    expect(items).toHaveLength(2);
    expect(items.every((item) => item.skillName === 'Hello' && item.status === 'succeeded')).toBe(true);
    const failed = await alice.run(['runs', '--json', '--status', 'failed']);
    expect(
      new Set((JSON.parse(failed.stdout) as { skillName: string }[]).map((item) => item.skillName)),
    ).toEqual(new Set(['Boom', 'Noisy']));
    const badStatus = await alice.run(['runs', '--status', 'exploded']);
    expect(badStatus.code).toBe(2);
  });

  it('shows a run waiting for approval, and approves or rejects it', async () => {
    const project = join(work, 'guarded');
    mkdirSync(join(project, 'scripts'), { recursive: true });
    writeFileSync(
      join(project, 'scripts', 'guarded.py'),
      'def main(inputs, ctx):\n    print("guarded ran")\n    return {"ok": True}\n',
    );
    writeFileSync(
      join(project, 'execfabric.yaml'),
      'version: 1\nscripts:\n  guarded:\n    file: scripts/guarded.py\nskills:\n  Guarded:\n    script: guarded\n    inputSchema: { type: object }\n    outputSchema: { type: object }\n    risk: medium\n',
    );
    expect((await alice.run(['push', project])).code).toBe(0);

    const bob = cliSession();
    expect(
      (await bob.run(['login', '--host', acme, '-u', 'bob', '--password-stdin'], { input: PASSWORD })).code,
    ).toBe(0);
    const first = await bob.run(['run', 'Guarded', '--no-wait']);
    expect(first.code, first.stderr).toBe(0);
    const second = await bob.run(['run', 'Guarded', '--no-wait']);
    const [approveId, rejectId] = [first.stdout.trim(), second.stdout.trim()];
    expect(approveId).toMatch(/^ex-/);

    const inbox = await alice.run(['approvals', '--json']);
    expect(inbox.code, inbox.stderr).toBe(0);
    expect((JSON.parse(inbox.stdout) as { id: string }[]).map((item) => item.id)).toEqual(
      expect.arrayContaining([approveId, rejectId]),
    );
    // The inbox is paged, oldest first: `-n` stops after that many.
    const oldest = await alice.run(['approvals', '--json', '-n', '1']);
    expect(oldest.code, oldest.stderr).toBe(0);
    expect(JSON.parse(oldest.stdout)).toHaveLength(1);
    const own = await bob.run(['approve', approveId]);
    expect(own.code).toBe(1);
    // A rule, not a role: no hint that a permission is missing.
    expect(own.stderr).toContain('Nobody approves or rejects their own run');
    expect(own.stderr).not.toContain('lacks the permission');

    const approved = await alice.run(['approve', approveId, '--comment', 'fine']);
    expect(approved.code, approved.stderr).toBe(0);
    const followed = await bob.run(['logs', approveId, '--follow']);
    expect(followed.code, followed.stderr).toBe(0);
    expect(followed.stdout).toContain('guarded ran');

    const rejected = await alice.run(['reject', rejectId, '--json']);
    expect(JSON.parse(rejected.stdout)).toMatchObject({ id: rejectId, status: 'rejected' });
    // A rejected run did not succeed: its logs say so and exit 1, as `run` would have.
    const waited = await bob.run(['logs', rejectId]);
    expect(waited.code).toBe(1);
    expect(waited.stderr).toContain(`error: Run ${rejectId} rejected`);
  });

  it('pulls the tenant into a folder that then pushes as up to date', async () => {
    const target = join(work, 'pulled');
    const dry = await alice.run(['pull', target, '--dry-run']);
    expect(dry.code, dry.stderr).toBe(0);
    expect(dry.stdout).toContain('+ execfabric.yaml');
    expect(existsSync(join(target, 'execfabric.yaml'))).toBe(false);

    const pulled = await alice.run(['pull', target]);
    expect(pulled.code, pulled.stderr).toBe(0);
    expect(readFileSync(join(target, 'scripts', 'hello.py'), 'utf8')).toContain('Hello, {name}!');
    const again = await alice.run(['push', target]);
    expect(again.code, again.stderr).toBe(0);
    expect(again.stdout).toContain('nothing to push');
    expect((await alice.run(['pull', target])).stdout).toContain('Up to date');
  });

  it('stops when two tenant scripts share a manifest name, and changes nothing', async () => {
    for (let copy = 0; copy < 2; copy++) {
      const created = await t.send({
        host: 'acme.localhost',
        method: 'POST',
        path: '/api/assets/scripts',
        token: aliceSession,
        body: { name: 'twin', source: 'def main(inputs, ctx):\n    return {}\n' },
      });
      expect(created.status, created.text).toBe(201);
    }
    const project = join(work, 'twins');
    mkdirSync(join(project, 'scripts'), { recursive: true });
    writeFileSync(
      join(project, 'scripts', 'twin.py'),
      'def main(inputs, ctx):\n    return {"changed": True}\n',
    );
    writeFileSync(
      join(project, 'execfabric.yaml'),
      'version: 1\nscripts:\n  twin:\n    file: scripts/twin.py\n',
    );
    const pushed = await alice.run(['push', project]);
    expect(pushed.code).toBe(1);
    expect(pushed.stderr).toContain('The tenant has 2 scripts named "twin"');
    const list = await t.send({
      host: 'acme.localhost',
      path: '/api/assets/scripts?limit=100',
      token: aliceSession,
    });
    const twins = (list.body.items as { id: string; name: string; latestVersion: number }[]).filter(
      (item) => item.name === 'twin',
    );
    expect(twins.map((item) => item.latestVersion)).toEqual([1, 1]);

    // The refusal names both ids and a way out that exists: rename in the front or the API, or archive.
    for (const twin of twins) expect(pushed.stderr).toContain(twin.id);
    expect(pushed.stderr).toContain('Scripts → the script → Rename');
    expect(pushed.stderr).toContain('PATCH /api/assets/scripts/{id}');
    expect(pushed.stderr).toContain('or archive it');
    const [kept, other] = twins as [(typeof twins)[number], (typeof twins)[number]];
    const renamed = await t.send({
      host: 'acme.localhost',
      method: 'PATCH',
      path: `/api/assets/scripts/${other.id}`,
      token: aliceSession,
      body: { name: 'twin-old' },
    });
    expect(renamed.status, renamed.text).toBe(200);
    const again = await alice.run(['push', project]);
    expect(again.code, again.stderr).toBe(0);
    expect(await scriptByName('twin')).toMatchObject({ id: kept.id, latestVersion: 2 });
  });

  it('says of what pull leaves out that another item has its name, naming both ids', async () => {
    const source = 'def main(inputs, ctx):\n    return {}\n';
    const ids: string[] = [];
    for (let copy = 0; copy < 2; copy++) {
      const created = await t.send({
        host: 'acme.localhost',
        method: 'POST',
        path: '/api/assets/scripts',
        token: aliceSession,
        body: { name: 'pair', source },
      });
      expect(created.status, created.text).toBe(201);
      ids.push(created.body.id);
    }
    const skill = async (name: string, scriptId: string) => {
      const created = await t.send({
        host: 'acme.localhost',
        method: 'POST',
        path: '/api/skills',
        token: aliceSession,
        body: {
          name,
          inputSchema: { type: 'object' },
          outputSchema: { type: 'object' },
          risk: 'low',
          asset: { kind: 'python-script', id: scriptId, version: 'active' },
        },
      });
      expect(created.status, created.text).toBe(201);
      return String(created.body.id);
    };
    const [first, second] = ids as [string, string];
    const onFirst = await skill('On pair', first);
    const onSecond = await skill('On pair', second);
    const solo = await t.send({
      host: 'acme.localhost',
      method: 'POST',
      path: '/api/assets/scripts',
      token: aliceSession,
      body: { name: 'solo', source },
    });
    expect(solo.status, solo.text).toBe(201);
    const twinOne = await skill('Twin Skill', solo.body.id);
    const twinTwo = await skill('Twin Skill', solo.body.id);

    const pulled = await alice.run(['pull', join(work, 'pairs')]);
    expect(pulled.code, pulled.stderr).toBe(0);
    // Which of two items of one name is pulled follows the listing's order; the other is named.
    const script = /skipped script (scr-\w+): script (scr-\w+) has the same name "pair"/.exec(pulled.stderr);
    expect(script, pulled.stderr).not.toBeNull();
    const [, leftOut, taken] = script as RegExpExecArray;
    expect(new Set([leftOut, taken])).toEqual(new Set(ids));
    const bound = leftOut === first ? onFirst : onSecond;
    expect(pulled.stderr).toContain(
      `skipped Skill "On pair" (${bound}): bound to script ${leftOut}, which was left out: script ${taken} has the same name "pair"`,
    );
    const twin = /skipped Skill "Twin Skill" \((skl-\w+)\): Skill (skl-\w+) has the same name/.exec(
      pulled.stderr,
    );
    expect(twin, pulled.stderr).not.toBeNull();
    expect(new Set(twin?.slice(1))).toEqual(new Set([twinOne, twinTwo]));
    expect(pulled.stderr).toContain('rename or archive one of them');
    expect(pulled.stderr).not.toMatch(/(On pair|Twin Skill).*which the manifest does not describe/);
  });
});
