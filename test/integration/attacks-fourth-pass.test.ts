/**
 * A fourth attacker's pass, from a tenant admin's schemas and a tenant's script.
 *
 * - Schemas that fan out: N levels of `$defs`, each an `allOf` of two references to the next (or an
 *   `if` and a `then` of it), cost 2^N subschema evaluations on any value, from ~1.5 KB of schema.
 *   The validator runs synchronously on the process that serves every tenant: one run request froze
 *   the whole platform for 48 s at N = 28, and a failing leaf filled the heap until the process died;
 *   a script reached the same through `ctx.data` puts and its own output, an operator by running the
 *   Skill, an anonymous visitor through a free space. Every validation now has a budget of
 *   evaluations, linear in its value (catalog/schema-engine.ts), and a schema that spends it on an
 *   empty value is refused when it is saved. Each case fails without the budget: its requests hang
 *   and globex's host stops answering.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MIN_SCHEMA_EVALUATIONS } from '../../functions/core/catalog/schema-engine.ts';
import { fanOut } from '../support/fan-out.ts';
import { HOSTS, startTestPlatform } from '../support/platform.ts';
import { type Bystander, bystander, type Runner, runner, unique } from '../support/runs.ts';

const PASSWORD = 'attacks-fourth-pass-password';

const t = await startTestPlatform(PASSWORD);
let alice: string;
let acme: Runner;
let globex: Bystander;

beforeAll(async () => {
  alice = await t.login(HOSTS.acme, 'alice');
  acme = runner(t, HOSTS.acme, alice);
  globex = await bystander(t);
}, 200_000);

afterAll(async () => {
  await t.stop();
});

/** Reached only by a value with `x`: saved, and refused when such a value comes. */
const HIDDEN = { type: 'object', properties: { x: { $ref: '#/$defs/d0' } }, $defs: fanOut(40) };
const BUDGET_MESSAGE = `takes more than ${MIN_SCHEMA_EVALUATIONS} subschema evaluations`;

const api = (method: string, path: string, body?: unknown) =>
  t.send({ host: HOSTS.acme, token: alice, method, path, ...(body === undefined ? {} : { body }) });

describe('schemas that fan out', () => {
  it('refuses at save a Skill or collection schema that fans out on any value', async () => {
    const script = await api('POST', '/api/assets/scripts', {
      name: unique('script'),
      source: 'def main(inputs, ctx):\n    return {}\n',
    });
    expect(script.status, script.text).toBe(201);
    for (const schema of [
      { $defs: fanOut(40), $ref: '#/$defs/d0' },
      { $defs: fanOut(40, { type: 'string' }), $ref: '#/$defs/d0' },
      { $defs: fanOut(40, {}, true), $ref: '#/$defs/d0' },
    ]) {
      const name = unique('fan');
      const skill = await api('POST', '/api/skills', {
        name,
        inputSchema: schema,
        outputSchema: {},
        risk: 'low',
        asset: { kind: 'python-script', id: script.body.id, version: 'active' },
      });
      expect(skill.status, skill.text).toBe(422);
      expect(skill.headers['content-type']).toMatch(/^application\/problem\+json/);
      expect(skill.text).toContain('inputSchema is too costly to check');
      const collection = await api('POST', '/api/data/collections', { name, schema });
      expect(collection.status, collection.text).toBe(422);
      expect(collection.text).toContain('too costly to check');
      // Nothing of either was written.
      const skills = await api('GET', '/api/skills');
      expect(skills.body.items.map((item: { name: string }) => item.name)).not.toContain(name);
      expect((await api('GET', `/api/data/collections/${name}`)).status).toBe(404);
    }
    await globex.stillServed();
  });

  it("refuses a run's input that reaches a fan-out, and the platform keeps serving", async () => {
    const skillId = await acme.skill('def main(inputs, ctx):\n    return {"ok": True}\n', {
      inputSchema: HIDDEN,
    });
    const refused = await api('POST', `/api/skills/${skillId}/executions`, { input: { x: 1 } });
    expect(refused.status, refused.text).toBe(422);
    expect(refused.text).toContain(BUDGET_MESSAGE);
    expect((await acme.run(skillId, { y: 1 })).status).toBe('succeeded');
    await globex.stillServed();
  });

  it("fails a run whose output reaches a fan-out of the Skill's output schema", async () => {
    const skillId = await acme.skill('def main(inputs, ctx):\n    return {"x": 1}\n', {
      outputSchema: HIDDEN,
    });
    const run = await acme.run(skillId);
    expect(run).toMatchObject({ status: 'failed', error: { type: 'OutputSchemaViolation' } });
    expect(JSON.stringify(run.error)).toContain(BUDGET_MESSAGE);
    await globex.stillServed();
  });

  it("refuses a script's ctx.data puts that reach a fan-out of the collection's schema", async () => {
    const name = unique('fanned').replace(/-/g, '_');
    const created = await api('POST', '/api/data/collections', { name, schema: HIDDEN });
    expect(created.status, created.text).toBe(201);
    const skillId = await acme.skill(
      `
import execfabric

def main(inputs, ctx):
    records = ctx.data.collection("${name}")
    refused = []
    for attempt in range(20):
        try:
            records.put("k%d" % attempt, {"x": attempt})
            refused.append("written")
        except execfabric.DataError as error:
            refused.append(error.issues[0]["message"])
    records.put("plain", {"y": 1})
    return {"refused": refused, "plain": records.get("plain").value}
`,
      { collections: [name] },
    );
    const run = await acme.run(skillId);
    expect(run.status, JSON.stringify(run.error ?? run.logs)).toBe('succeeded');
    const output = run.output as { refused: string[]; plain: unknown };
    expect(output.refused).toHaveLength(20);
    for (const message of output.refused) expect(message).toContain(BUDGET_MESSAGE);
    expect(output.plain).toEqual({ y: 1 });
    await globex.stillServed();
  });

  it('refuses, naming where, a collection schema holding a number a table map cannot store (found by the fuzz suite: a 500)', async () => {
    for (const number of ['1e+21', '12345678901234567890', '0.1000000000000000055511151231257827']) {
      const name = unique('exponent').replace(/-/g, '_');
      const refused = await t.send({
        host: HOSTS.acme,
        token: alice,
        method: 'POST',
        path: '/api/data/collections',
        body: `{"name":"${name}","schema":{"":[{"":${number}}]}}`,
        headers: { 'content-type': 'application/json' },
      });
      expect(refused.status, refused.text).toBe(422);
      expect(refused.body.errors, refused.text).toEqual([
        { path: 'schema..0.', message: expect.stringContaining('within ±2^53') },
      ]);
      expect((await api('GET', `/api/data/collections/${name}`)).status).toBe(404);
    }
  });
});
