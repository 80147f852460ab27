/**
 * The embedded platform on disk: a restart keeps the data (and does not seed again), one process
 * owns a data folder at a time, and runs left waiting when the platform stopped are re-dispatched.
 */
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { startLocalPlatform } from '../../lib/local/platform.ts';
import { call } from '../support/http.ts';
import { signIn } from '../support/session.ts';

const dataDir = mkdtempSync(join(tmpdir(), 'execfabric-restart-'));
const PASSWORD = 'restart-test-password';
const KEPT_SCHEMA =
  '{"$id":"urn:example:kept","type":"object","required":["constructor"],"properties":{"__proto__":{"type":"integer"}}}';
const KEPT_INPUT = '{"constructor":12345678901234567890,"__proto__":-0,"tiny":1e-300}';
let keptSkill = '';
let keptRun = '';

afterAll(() => {
  rmSync(dataDir, { recursive: true, force: true });
});

function login(url: string): Promise<string> {
  return signIn(url, 'acme.localhost', 'alice', PASSWORD);
}

describe('the platform on disk', () => {
  it('keeps its data across a restart and refuses a second process on the same folder', async () => {
    const first = await startLocalPlatform({
      port: 0,
      dataDir,
      schedules: false,
      demoPassword: PASSWORD,
      log: () => undefined,
    });
    let stopped = false;
    try {
      expect(first.seeded).toBe(true);
      expect(statSync(join(dataDir, 'secrets.json')).mode & 0o777).toBe(0o600);
      const token = await login(first.url);
      const created = await call(first.url, {
        host: 'acme.localhost',
        token,
        method: 'POST',
        path: '/api/parameters',
        body: { key: 'region', value: 'eu-west-1' },
      });
      expect(created.status).toBe(201);
      // A Skill whose schema has an $id and JavaScript property names, and a run with odd values:
      // after the restart the schema compiles again (no 500) and the input comes back exactly.
      const asset = await call(first.url, {
        host: 'acme.localhost',
        token,
        method: 'POST',
        path: '/api/assets/scripts',
        body: { name: 'keep.py', source: 'def main(inputs, ctx):\n    return {}\n' },
      });
      const skill = await call(first.url, {
        host: 'acme.localhost',
        token,
        method: 'POST',
        path: '/api/skills',
        body: `{"name":"Kept","inputSchema":${KEPT_SCHEMA},"outputSchema":{},"risk":"low","asset":{"kind":"python-script","id":"${asset.body.id}","version":"active"}}`,
        headers: { 'content-type': 'application/json' },
      });
      expect(skill.status, skill.text).toBe(201);
      keptSkill = String(skill.body.id);
      const run = await call(first.url, {
        host: 'acme.localhost',
        token,
        method: 'POST',
        path: `/api/skills/${keptSkill}/executions`,
        body: `{"input":${KEPT_INPUT}}`,
        headers: { 'content-type': 'application/json' },
      });
      expect(run.status, run.text).toBe(202);
      keptRun = String(run.body.id);
      await expect(
        startLocalPlatform({
          port: 0,
          dataDir,
          schedules: false,
          demoPassword: PASSWORD,
          log: () => undefined,
        }),
      ).rejects.toThrow(/Another ExecFabric process/);
      await first.stop();
      stopped = true;
    } finally {
      if (!stopped) await first.stop();
    }

    const second = await startLocalPlatform({ port: 0, dataDir, schedules: false, log: () => undefined });
    try {
      expect(second.seeded).toBe(false);
      // The demo password was kept (owner-only) in the data folder, so the same users sign in.
      const token = await login(second.url);
      const parameters = await call(second.url, { host: 'acme.localhost', token, path: '/api/parameters' });
      expect(parameters.body.items).toContainEqual(
        expect.objectContaining({ key: 'region', value: 'eu-west-1' }),
      );
      // A session issued before the restart is still valid: the signing key lives in the data folder.
      const me = await call(second.url, { host: 'acme.localhost', token, path: '/api/me' });
      expect(me.body.username).toBe('alice');
      const kept = await call(second.url, {
        host: 'acme.localhost',
        token,
        path: `/api/executions/${keptRun}`,
      });
      expect(kept.text).toContain(`"input":${KEPT_INPUT}`);
      const missing = await call(second.url, {
        host: 'acme.localhost',
        token,
        method: 'POST',
        path: `/api/skills/${keptSkill}/executions`,
        body: { input: {} },
      });
      expect(missing.status, missing.text).toBe(422);
      expect(missing.body.errors).toEqual([
        { path: 'input', message: "must have required property 'constructor'" },
      ]);
    } finally {
      await second.stop();
    }
  }, 120_000);
});

describe('stopping with runs in flight', () => {
  it('records the runs in flight before stopping and finishes the waiting ones after a restart', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'execfabric-inflight-'));
    try {
      const first = await startLocalPlatform({
        port: 0,
        dataDir: dir,
        schedules: false,
        demoPassword: PASSWORD,
        log: () => undefined,
      });
      const token = await login(first.url);
      const skills = await call(first.url, { host: 'acme.localhost', token, path: '/api/skills' });
      const greet = skills.body.items.find((skill: { name: string }) => skill.name === 'Greet').id;
      const ids: string[] = [];
      for (let index = 0; index < 5; index++) {
        const run = await call(first.url, {
          host: 'acme.localhost',
          token,
          method: 'POST',
          path: `/api/skills/${greet}/executions`,
          body: { input: { name: `n${index}` } },
        });
        ids.push(run.body.id);
      }
      await first.stop();

      const second = await startLocalPlatform({
        port: 0,
        dataDir: dir,
        schedules: false,
        log: () => undefined,
      });
      try {
        const again = await login(second.url);
        const statuses: string[] = [];
        for (const id of ids) {
          let status = '';
          for (let attempt = 0; attempt < 150; attempt++) {
            status = (
              await call(second.url, { host: 'acme.localhost', token: again, path: `/api/executions/${id}` })
            ).body.status;
            if (!['requested', 'queued', 'running'].includes(status)) break;
            await new Promise((resolve) => setTimeout(resolve, 100));
          }
          statuses.push(status);
        }
        expect(statuses).toEqual(['succeeded', 'succeeded', 'succeeded', 'succeeded', 'succeeded']);
      } finally {
        await second.stop();
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 180_000);
});
