/**
 * `execfabric password`, run as a child process against the embedded platform: a user changes their
 * own password from standard input or on a terminal (a pseudo-terminal, prompts without echo). The
 * old password stops signing in and the new one works; the CLI's own token, ended by the change, is
 * replaced by a new one under its name and the ended one revoked. A wrong current password, the
 * password policy and a mismatched confirmation are refused clearly and change nothing, and no
 * password is ever taken from the command line or printed. On a terminal nothing typed for a password
 * is shown, however it is edited (`login`'s prompt too), and `-u` in another case is the same user.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Profile } from '../../lib/cli/config.ts';
import { type CliResult, type CliSession, cliSession, runCliOnTerminal } from '../support/cli.ts';
import { caller, HOSTS, startTestPlatform, type TestPlatform } from '../support/platform.ts';

const PASSWORD = 'cli-password-suite-1';
const NEW_PASSWORD = 'a brand new secret 7';
let t: TestPlatform;
let acme: string;
let alice: string;

beforeAll(async () => {
  t = await startTestPlatform(PASSWORD);
  acme = `http://acme.localhost:${t.platform.port}`;
  alice = await t.login(HOSTS.acme, 'alice');
});

afterAll(async () => {
  await t?.stop();
});

async function newUser(
  username: string,
  roles: readonly string[] = ['operator'],
  password = PASSWORD,
): Promise<void> {
  const created = await caller(t, HOSTS.acme, alice)('POST', '/api/users', { username, password, roles });
  expect(created.status, created.text).toBe(201);
}

/** Whether `password` signs `username` in on acme (401 when it does not). */
async function signsIn(username: string, password: string): Promise<boolean> {
  const answer = await t.send({
    host: HOSTS.acme,
    method: 'POST',
    path: '/api/auth/login',
    body: { username, password },
  });
  expect([200, 401], answer.text).toContain(answer.status);
  return answer.status === 200;
}

/** A CLI signed in to acme as `username`, with a token named `tokenName`. */
async function signedIn(username: string, tokenName = 'laptop', password = PASSWORD): Promise<CliSession> {
  const session = cliSession();
  const login = await session.run(
    ['login', '--host', acme, '-u', username, '--password-stdin', '--token-name', tokenName],
    { input: `${password}\n` },
  );
  expect(login.code, login.stderr).toBe(0);
  return session;
}

function configText(session: CliSession): string {
  return readFileSync(join(session.configHome, 'execfabric', 'config.json'), 'utf8');
}

function profileOf(session: CliSession): Profile {
  return JSON.parse(configText(session)).profiles[acme] as Profile;
}

/** Neither password is in what the command printed. */
function printsNoPassword(result: CliResult, ...passwords: readonly string[]): void {
  for (const password of passwords) {
    expect(result.stdout).not.toContain(password);
    expect(result.stderr).not.toContain(password);
  }
}

/** No three characters in a row of any of `secrets` are in `transcript`. */
function showsNoFragment(transcript: string, ...secrets: readonly string[]): void {
  for (const secret of secrets) {
    const chars = Array.from(secret);
    for (let at = 0; at + 3 <= chars.length; at += 1) {
      const fragment = chars.slice(at, at + 3).join('');
      expect(transcript, `a fragment of a secret, ${JSON.stringify(fragment)}`).not.toContain(fragment);
    }
  }
}

describe('execfabric password', () => {
  it('changes the password from standard input and keeps the CLI signed in with a new token', async () => {
    await newUser('nora');
    const nora = await signedIn('nora', 'nora laptop');
    const before = profileOf(nora);

    const changed = await nora.run(['password', '--password-stdin'], {
      input: `${PASSWORD}\n${NEW_PASSWORD}\n`,
    });
    expect(changed.code, changed.stderr).toBe(0);
    expect(changed.stdout).toContain(`Password changed for nora on acme.localhost:${t.platform.port}`);
    expect(changed.stdout).toContain(`replaces ${before.tokenId}`);
    printsNoPassword(changed, PASSWORD, NEW_PASSWORD);

    expect(await signsIn('nora', PASSWORD)).toBe(false);
    expect(await signsIn('nora', NEW_PASSWORD)).toBe(true);

    // The CLI goes on: a new token in the profile, the ended one refused and revoked.
    const after = profileOf(nora);
    expect(after).toMatchObject({ host: acme, username: 'nora' });
    expect(after.tokenId).not.toBe(before.tokenId);
    expect(configText(nora)).not.toContain(NEW_PASSWORD);
    const who = await nora.run(['whoami']);
    expect(who.code, who.stderr).toBe(0);
    expect(who.stdout).toContain('nora on acme.localhost');
    const old = await nora.run(['whoami'], { env: { EXECFABRIC_TOKEN: before.token } });
    expect(old.code).toBe(1);

    const session = await t.login(HOSTS.acme, 'nora', NEW_PASSWORD);
    const tokens = await caller(t, HOSTS.acme, session)('GET', '/api/tokens');
    const items = tokens.body.items as { id: string; name: string; revoked: boolean }[];
    const byId = (id: string) => items.find((token) => token.id === id);
    expect(byId(after.tokenId)).toMatchObject({ name: 'nora laptop', revoked: false });
    expect(byId(before.tokenId)).toMatchObject({ revoked: true });
  });

  it('refuses a wrong current password, and nothing changes', async () => {
    await newUser('owen');
    const owen = await signedIn('owen');
    const before = profileOf(owen);
    const wrong = await owen.run(['password', '--password-stdin'], {
      input: `not my password 1\n${NEW_PASSWORD}\n`,
    });
    expect(wrong.code).toBe(1);
    expect(wrong.stderr).toContain('The current password for owen');
    expect(wrong.stderr).toContain('is wrong');
    expect(wrong.stderr).toContain('nothing was changed');
    printsNoPassword(wrong, 'not my password 1', NEW_PASSWORD);
    expect(await signsIn('owen', PASSWORD)).toBe(true);
    expect(profileOf(owen)).toEqual(before);
    expect((await owen.run(['whoami'])).code).toBe(0);
  });

  it('shows the policy’s refusal with its field message: too short, or holding the username', async () => {
    await newUser('oliver');
    const oliver = await signedIn('oliver');
    const before = profileOf(oliver);
    const refusals: [string, string][] = [
      ['short', 'new password: 10 to 256 characters'],
      ['i am OLIVER, really', 'new password: must not contain your username'],
    ];
    for (const [weak, message] of refusals) {
      const refused = await oliver.run(['password', '--password-stdin'], { input: `${PASSWORD}\n${weak}\n` });
      expect(refused.code, refused.stderr).toBe(1);
      expect(refused.stderr).toContain(`acme.localhost:${t.platform.port} refused the change`);
      expect(refused.stderr).toContain('refused the change: Password does not meet the policy;');
      expect(refused.stderr).toContain(message);
      printsNoPassword(refused, PASSWORD, weak);
    }
    expect(await signsIn('oliver', PASSWORD)).toBe(true);
    expect(profileOf(oliver)).toEqual(before);
    expect((await oliver.run(['whoami'])).code).toBe(0);
  });

  it('on a terminal asks without echo, refuses a mismatched confirmation, then changes it', async () => {
    await newUser('petra');
    const petra = await signedIn('petra');
    const env = { XDG_CONFIG_HOME: petra.configHome };
    const current = { prompt: 'Current password for petra: ', answer: PASSWORD };
    const mismatched = await runCliOnTerminal(
      ['password'],
      [
        current,
        { prompt: 'New password: ', answer: NEW_PASSWORD },
        { prompt: 'New password again: ', answer: 'a brand new secret 8' },
      ],
      { env },
    );
    expect(mismatched.code, mismatched.transcript).toBe(2);
    expect(mismatched.transcript).toContain('New password again: ');
    expect(mismatched.transcript).toContain('The new passwords do not match; nothing was changed');
    for (const typed of [PASSWORD, NEW_PASSWORD, 'a brand new secret 8']) {
      expect(mismatched.transcript).not.toContain(typed);
    }
    expect(await signsIn('petra', PASSWORD)).toBe(true);

    const changed = await runCliOnTerminal(
      ['password'],
      [
        current,
        { prompt: 'New password: ', answer: NEW_PASSWORD },
        { prompt: 'New password again: ', answer: NEW_PASSWORD },
      ],
      { env },
    );
    expect(changed.code, changed.transcript).toBe(0);
    expect(changed.transcript).toContain('Password changed for petra');
    expect(changed.transcript).not.toContain(PASSWORD);
    expect(changed.transcript).not.toContain(NEW_PASSWORD);
    expect(await signsIn('petra', NEW_PASSWORD)).toBe(true);
    expect((await petra.run(['whoami'])).code).toBe(0);
  });

  it('stops with "Cancelled" on Ctrl-C or Ctrl-D at a prompt, and nothing changes', async () => {
    await newUser('piet');
    const piet = await signedIn('piet');
    const current = { prompt: 'Current password for piet: ', answer: PASSWORD };
    for (const key of ['\u0003', '\u0004']) {
      const stopped = await runCliOnTerminal(
        ['password'],
        [current, { prompt: 'New password: ', answer: key }],
        {
          env: { XDG_CONFIG_HOME: piet.configHome },
        },
      );
      expect(stopped.code, stopped.transcript).toBe(1);
      expect(stopped.transcript).toContain('error: Cancelled');
      expect(stopped.transcript).not.toContain('unsettled top-level await');
    }
    expect(await signsIn('piet', PASSWORD)).toBe(true);
    expect((await piet.run(['whoami'])).code).toBe(0);
  });

  it('takes no password from the command line, and standard input only as two lines', async () => {
    await newUser('quentin');
    const quentin = await signedIn('quentin');
    for (const args of [
      ['password', '--password', PASSWORD],
      ['password', '--new-password', NEW_PASSWORD],
      ['password', PASSWORD, NEW_PASSWORD],
    ]) {
      const refused = await quentin.run(args, { input: `${PASSWORD}\n${NEW_PASSWORD}\n` });
      expect(refused.code, args.join(' ')).toBe(2);
    }
    const help = await quentin.run(['password', '--help']);
    expect(help.code).toBe(0);
    // Every option of the command is a flag: none takes a value but the username.
    expect(help.stdout.match(/^ {2}-.*<\w+>/gm)).toEqual([expect.stringContaining('--username <name>')]);

    for (const input of [`${PASSWORD}\n`, `${PASSWORD}\n${NEW_PASSWORD}\n${NEW_PASSWORD}\n`]) {
      const refused = await quentin.run(['password', '--password-stdin'], { input });
      expect(refused.code, refused.stderr).toBe(2);
      expect(refused.stderr).toContain('--password-stdin reads two lines');
    }
    const noTerminal = await quentin.run(['password'], { input: `${PASSWORD}\n${NEW_PASSWORD}\n` });
    expect(noTerminal.code).toBe(2);
    expect(noTerminal.stderr).toContain('Pass --password-stdin');
    expect(await signsIn('quentin', PASSWORD)).toBe(true);
  });

  it('changes the password of a user the CLI is not signed in as, storing nothing', async () => {
    await newUser('rhea', ['viewer']);
    const nobody = cliSession();
    const changed = await nobody.run(['password', '--host', acme, '-u', 'rhea', '--password-stdin'], {
      input: `${PASSWORD}\n${NEW_PASSWORD}\n`,
    });
    expect(changed.code, changed.stderr).toBe(0);
    expect(changed.stdout).toContain('Password changed for rhea');
    expect(changed.stdout).not.toContain('Signed in again');
    expect(await signsIn('rhea', NEW_PASSWORD)).toBe(true);
    expect(existsSync(join(nobody.configHome, 'execfabric', 'config.json'))).toBe(false);
  });

  it('forgets the ended token and says to sign in again when no new one may be made', async () => {
    await newUser('sam');
    const sam = await signedIn('sam');
    // An admin takes token:create away after sam signed in.
    const demoted = await caller(t, HOSTS.acme, alice)('PATCH', '/api/users/sam', { roles: ['viewer'] });
    expect(demoted.status, demoted.text).toBe(200);
    const changed = await sam.run(['password', '--password-stdin'], {
      input: `${PASSWORD}\n${NEW_PASSWORD}\n`,
    });
    expect(changed.code, changed.stderr).toBe(0);
    expect(changed.stdout).toContain('Password changed for sam');
    expect(changed.stderr).toContain('could not be renewed');
    expect(changed.stderr).toContain('token:create');
    expect(changed.stderr).toContain(`execfabric login --host ${acme} -u sam`);
    expect(JSON.parse(configText(sam)).profiles[acme]).toBeUndefined();
    expect(await signsIn('sam', NEW_PASSWORD)).toBe(true);
  });
});

describe('passwords typed on a terminal', () => {
  // Any three characters in a row of these hold a sign nothing the commands print holds, so a
  // fragment in the transcript is a leak of what was typed.
  const CURRENT = 'Q#v!7%K&p#Z!x';
  const NEXT = 'é=Y+8 ~b^w=9+R';
  /** Typed, then taken back with Ctrl-U and Ctrl-W. */
  const TAKEN_BACK = ['W#r!o%n', 'o%o^p'];

  it('password: nothing typed is shown, however it is edited, and the edited password is the one sent', async () => {
    await newUser('tess', ['operator'], CURRENT);
    const tess = await signedIn('tess', 'laptop', CURRENT);
    const changed = await runCliOnTerminal(
      ['password'],
      [
        {
          prompt: 'Current password for tess: ',
          // Backspace, arrows (one split between two writes, one SS3), then the rest pasted.
          answer: [
            'Q',
            '#',
            'v',
            '!',
            '7',
            'X',
            '\u007f',
            '%',
            '\u001b[D',
            '\u001b',
            '[C',
            '\u001bOA',
            'K&p#Z!x',
          ],
        },
        {
          prompt: 'New password: ',
          // Ctrl-U clears the wrong start, Ctrl-W takes back a word.
          answer: ['W#r!o%n', '\u0015', 'é=Y+8 ', 'o%o^p', '\u0017', '~b^w=9+R'],
        },
        // A paste, a stray key, Delete (nothing after the cursor) and Backspace.
        { prompt: 'New password again: ', answer: [NEXT, '@', '\u001b[3~', '\u007f'] },
      ],
      { env: { XDG_CONFIG_HOME: tess.configHome } },
    );
    showsNoFragment(changed.transcript, CURRENT, NEXT, ...TAKEN_BACK);
    expect(changed.code, changed.transcript).toBe(0);
    expect(changed.transcript).toContain('Password changed for tess');
    expect(await signsIn('tess', NEXT)).toBe(true);
    expect(await signsIn('tess', CURRENT)).toBe(false);
    expect((await tess.run(['whoami'])).code).toBe(0);
  });

  it('password: what is typed ahead while the CLI signs in is not shown, and counts for the next question', async () => {
    const AHEAD = 'é=Y+8 ~b';
    await newUser('tyra', ['operator'], CURRENT);
    const changed = await runCliOnTerminal(
      ['password', '--host', acme, '-u', 'tyra'],
      [
        // The sign-in with the current password takes a moment (its hash): the user types on.
        { prompt: 'Current password for tyra: ', answer: CURRENT, typeAhead: AHEAD },
        { prompt: 'New password: ', answer: '^w=9+R' },
        { prompt: 'New password again: ', answer: NEXT },
      ],
    );
    showsNoFragment(changed.transcript, CURRENT, NEXT);
    expect(changed.code, changed.transcript).toBe(0);
    expect(await signsIn('tyra', NEXT)).toBe(true);
  });

  it('password: Ctrl-C typed while the CLI signs in stops it cleanly, and nothing changes', async () => {
    await newUser('tilda', ['operator'], CURRENT);
    const stopped = await runCliOnTerminal(
      ['password', '--host', acme, '-u', 'tilda'],
      [{ prompt: 'Current password for tilda: ', answer: CURRENT, typeAhead: 'half\u0003' }],
    );
    expect(stopped.code, stopped.transcript).toBe(1);
    expect(stopped.transcript).toContain('error: Cancelled');
    expect(stopped.transcript).not.toContain('New password');
    showsNoFragment(stopped.transcript, CURRENT);
    expect(await signsIn('tilda', CURRENT)).toBe(true);
  });

  it('login: the username is echoed, the password never, and the profile holds the platform’s name', async () => {
    await newUser('vera', ['operator'], CURRENT);
    const vera = cliSession();
    const login = await runCliOnTerminal(
      ['login', '--host', acme],
      [
        { prompt: `Username on acme.localhost:${t.platform.port}: `, answer: ' VERA' },
        // Arrows move no cursor: the x goes at the end.
        { prompt: 'Password for VERA: ', answer: ['Q#v!7%K&p#Z!', 'y', '\u007f', '\u001b[D', 'x'] },
      ],
      { env: { XDG_CONFIG_HOME: vera.configHome } },
    );
    showsNoFragment(login.transcript, CURRENT);
    expect(login.code, login.transcript).toBe(0);
    expect(login.transcript).toContain(' VERA');
    expect(login.transcript).toContain(
      `Signed in to acme.localhost:${t.platform.port} (tenant acme) as vera.`,
    );
    expect(profileOf(vera)).toMatchObject({ host: acme, username: 'vera' });
    const who = await vera.run(['whoami']);
    expect(who.code, who.stderr).toBe(0);
  });
});

describe('whose password: the name as the platform has it', () => {
  it('renews the CLI’s sign-in when -u names its user in another case, and says the name', async () => {
    await newUser('uma');
    const uma = await signedIn('uma');
    const before = profileOf(uma);
    const changed = await uma.run(['password', '-u', 'UMA', '--password-stdin'], {
      input: `${PASSWORD}\n${NEW_PASSWORD}\n`,
    });
    expect(changed.code, changed.stderr).toBe(0);
    expect(changed.stdout).toContain(`Password changed for uma on acme.localhost:${t.platform.port}`);
    expect(changed.stdout).toContain(`replaces ${before.tokenId}`);
    const after = profileOf(uma);
    expect(after).toMatchObject({ username: 'uma' });
    expect(after.tokenId).not.toBe(before.tokenId);
    const who = await uma.run(['whoami']);
    expect(who.code, who.stderr).toBe(0);
  });
});
