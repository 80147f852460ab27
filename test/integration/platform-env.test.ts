/**
 * The local platform configures its functions explicitly and never writes `process.env`: after two
 * platforms have started in this one process, `process.env` holds none of their configuration (table
 * names, message keys, AWS credentials, secrets), and each platform's functions serve its own
 * table, sign with its own keys and accept only its own sessions — including functions first loaded
 * after the second platform started (the lazy load that used to read whichever platform wrote
 * `process.env` last).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ENV } from '../../functions/core/env.ts';
import { messageKeyEnv } from '../../functions/core/messages/keys.ts';
import { type LocalPlatform, startLocalPlatform } from '../../lib/local/platform.ts';
import { call } from '../support/http.ts';
import { HOSTS } from '../support/platform.ts';
import { signIn, waitForRun } from '../support/session.ts';

const PASSWORDS = { first: 'env-first-password', second: 'env-second-password' } as const;

/** The configuration a platform must keep to itself. */
const PRIVATE_KEYS = [
  ENV.tableName,
  ENV.claimsTableName,
  ENV.dynamodbEndpoint,
  ENV.sqsEndpoint,
  ENV.lambdaEndpoint,
  ENV.originSecret,
  ENV.tokenSecret,
  ENV.credentialStoreDir,
  messageKeyEnv('jobs').value,
  messageKeyEnv('reports').value,
  'AWS_ACCESS_KEY_ID',
  'AWS_SECRET_ACCESS_KEY',
];

/** Those made fresh at every start (the table names are fixed words). */
const PER_START_KEYS = PRIVATE_KEYS.filter((key) => key !== ENV.tableName && key !== ENV.claimsTableName);

const before = { ...process.env };
let first: LocalPlatform;
let second: LocalPlatform;

const start = (password: string) =>
  startLocalPlatform({
    port: 0,
    dataDir: null,
    schedules: false,
    demoPassword: password,
    log: () => undefined,
  });

beforeAll(async () => {
  // One after the other, as a test file or a restart does; no Node function is loaded until both are up.
  first = await start(PASSWORDS.first);
  second = await start(PASSWORDS.second);
}, 180_000);

afterAll(async () => {
  await second?.stop();
  await first?.stop();
});

describe("the local platform's configuration", () => {
  it('stays out of process.env: no key, no value of either platform is there', () => {
    for (const platform of [first, second]) {
      for (const key of PRIVATE_KEYS) {
        expect(platform.env[key], key).toBeTruthy();
        expect(process.env[key], key).toBe(before[key]);
      }
    }
    expect(process.env).toEqual(before);
    // No value of theirs either, under any name (table names are fixed words, so only the per-start ones).
    const values = new Set(
      [first, second].flatMap((platform) => PER_START_KEYS.map((key) => platform.env[key])),
    );
    for (const [name, value] of Object.entries(process.env)) expect(values.has(value), name).toBe(false);
  });

  it("is each platform's own, and read-only", () => {
    for (const key of PER_START_KEYS) expect(first.env[key], key).not.toBe(second.env[key]);
    expect(Object.isFrozen(first.env)).toBe(true);
    expect(() => {
      (first.env as Record<string, string>)[ENV.tableName] = 'elsewhere';
    }).toThrow(TypeError);
  });

  it("serves each platform's own table and sessions, from functions loaded after both started", async () => {
    // Same demo users on both, each with its own password: each API reads its own table.
    const tokens = {
      first: await signIn(first.url, HOSTS.acme, 'alice', PASSWORDS.first),
      second: await signIn(second.url, HOSTS.acme, 'alice', PASSWORDS.second),
    };
    for (const [platform, wrong] of [
      [first, PASSWORDS.second],
      [second, PASSWORDS.first],
    ] as const) {
      const refused = await call(platform.url, {
        host: HOSTS.acme,
        method: 'POST',
        path: '/api/auth/login',
        body: { username: 'alice', password: wrong },
      });
      expect(refused.status).toBe(401);
    }
    // A session is good only on the platform that signed it (each has its own token secret).
    const crossed = await call(second.url, {
      host: HOSTS.acme,
      token: tokens.first,
      method: 'GET',
      path: '/api/me',
    });
    expect(crossed.status).toBe(401);
  });

  it("runs a Skill on each through that platform's own queues, keys and recorder", async () => {
    for (const [platform, password] of [
      [first, PASSWORDS.first],
      [second, PASSWORDS.second],
    ] as const) {
      const signed = {
        url: platform.url,
        host: HOSTS.acme,
        token: await signIn(platform.url, HOSTS.acme, 'alice', password),
      };
      const skills = await call(platform.url, { ...signed, method: 'GET', path: '/api/skills' });
      expect(skills.status, skills.text).toBe(200);
      const greet = (skills.body.items as { id: string; name: string }[]).find(
        (skill) => skill.name === 'Greet',
      );
      expect(greet).toBeDefined();
      const requested = await call(platform.url, {
        ...signed,
        method: 'POST',
        path: `/api/skills/${greet?.id}/executions`,
        body: { input: { name: 'env' } },
      });
      expect(requested.status, requested.text).toBe(202);
      const run = await waitForRun(signed, String(requested.body.id));
      expect(run).toMatchObject({ status: 'succeeded', output: { greeting: 'Hello, env!' } });
    }
  }, 120_000);
});
