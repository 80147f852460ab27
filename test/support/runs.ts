/**
 * Helpers for suites that run tenant scripts through the real platform: make a script and a Skill
 * bound to it (as a tenant admin, on any platform the suite sends to), request a run and wait until
 * it ends.
 */
import { expect } from 'vitest';
import { call, type TestResponse } from './http.ts';
import { HOSTS, type TestPlatform } from './platform.ts';
import { waitForRun } from './session.ts';

export { FINISHED } from './session.ts';

export function unique(prefix: string): string {
  return `${prefix}-${Math.random().toString(36).slice(2, 10)}`;
}

/** One API request as `token`, on a host the caller has bound (a platform's `send`, or `call`). */
export type Send = (token: string, method: string, path: string, body?: unknown) => Promise<TestResponse>;

export interface ScriptSkillOptions {
  /** The script's name. @default a unique `script-…` */
  readonly scriptName?: string;
  /** Fields of the Skill's body, over the defaults (a unique name, an object input, any output, low risk). */
  readonly skill?: Record<string, unknown>;
}

/**
 * Makes a Python script of `source` and a Skill bound to its active version, as `token` (a tenant
 * admin), each checked created; answers both ids.
 */
export async function scriptSkill(
  send: Send,
  token: string,
  source: string,
  options: ScriptSkillOptions = {},
): Promise<{ readonly skillId: string; readonly scriptId: string }> {
  const script = await send(token, 'POST', '/api/assets/scripts', {
    name: options.scriptName ?? unique('script'),
    source,
  });
  expect(script.status, script.text).toBe(201);
  const skill = await send(token, 'POST', '/api/skills', {
    name: unique('skill'),
    inputSchema: { type: 'object' },
    outputSchema: {},
    risk: 'low',
    asset: { kind: 'python-script', id: script.body.id, version: 'active' },
    ...options.skill,
  });
  expect(skill.status, skill.text).toBe(201);
  return { skillId: String(skill.body.id), scriptId: String(script.body.id) };
}

export interface Runner {
  skill(source: string, extra?: Record<string, unknown>): Promise<string>;
  request(skillId: string, input?: unknown): Promise<string>;
  wait(executionId: string): Promise<TestResponse['body']>;
  run(skillId: string, input?: unknown): Promise<TestResponse['body']>;
}

/** A runner on `host`: `admin` makes scripts and Skills, `user` runs them. */
export function runner(test: TestPlatform, host: string, admin: string, user: string = admin): Runner {
  const api = (token: string, method: string, path: string, body?: unknown) =>
    test.send({ host, token, method, path, ...(body === undefined ? {} : { body }) });
  const self: Runner = {
    async skill(source, extra = {}) {
      const made = await scriptSkill(api, admin, source, {
        skill: { limits: { timeoutSeconds: 60 }, ...extra },
      });
      return made.skillId;
    },
    async request(skillId, input = {}) {
      const started = await api(user, 'POST', `/api/skills/${skillId}/executions`, { input });
      expect(started.status, started.text).toBe(202);
      return String(started.body.id);
    },
    async wait(executionId) {
      return waitForRun({ url: test.platform.url, host, token: user }, executionId);
    },
    async run(skillId, input = {}) {
      return self.wait(await self.request(skillId, input));
    },
  };
  return self;
}

/**
 * The other tenant of an attack suite (globex, signed in as gina) with a quick Skill of its own:
 * what an attack on acme, or from it, must leave served.
 */
export interface Bystander {
  /** gina's session token on globex. */
  readonly token: string;
  readonly runner: Runner;
  /** globex's quick Skill: it answers `{ tenant: 'globex' }`. */
  readonly skillId: string;
  /** globex is still served, end to end: its host answers and a run of its Skill succeeds. */
  stillServed(): Promise<void>;
}

export async function bystander(test: TestPlatform): Promise<Bystander> {
  const token = await test.login(HOSTS.globex, 'gina');
  const globex = runner(test, HOSTS.globex, token);
  const skillId = await globex.skill('def main(inputs, ctx):\n    return {"tenant": "globex"}\n');
  return {
    token,
    runner: globex,
    skillId,
    async stillServed() {
      const health = await call(test.platform.url, { host: HOSTS.globex, path: '/api/health' });
      expect(health.status, health.text).toBe(200);
      const run = await globex.run(skillId);
      expect(run.status, JSON.stringify(run.error ?? run.logs)).toBe('succeeded');
      expect(run.output).toEqual({ tenant: 'globex' });
    },
  };
}
