/**
 * Odd data and hostile schemas over real HTTP (issue 12): any JSON a client sends within the limits
 * is stored and returned exactly — big integers, 1e308, 1e-300, -0, keys such as `__proto__` — or
 * refused with a clear 422, never a 500; Skill schemas with `$id`s, URN ids, JavaScript property
 * names and catastrophic patterns save and run; a tenant cannot reach another tenant's `$id`; odd
 * values in a script's output end the run, never leave it `running`.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TestResponse } from '../support/http.ts';
import { expectProblem, HOSTS, problemType, startTestPlatform } from '../support/platform.ts';

const PASSWORD = 'fidelity-suite-password-1';
const t = await startTestPlatform(PASSWORD);
let alice: string;
let gina: string;

beforeAll(async () => {
  [alice, gina] = await Promise.all([t.login(HOSTS.acme, 'alice'), t.login(HOSTS.globex, 'gina')]);
});
afterAll(async () => {
  await t.stop();
});

function api(host: string, token: string, method: string, path: string, body?: unknown) {
  return t.send({ host, token, method, path, ...(body === undefined ? {} : { body }) });
}

/** Sends a JSON text as is (so numbers are not rounded by the test's own JSON.stringify). */
function raw(host: string, token: string, method: string, path: string, text: string) {
  return t.send({ host, token, method, path, body: text, headers: { 'content-type': 'application/json' } });
}

async function script(host: string, token: string, source: string): Promise<string> {
  const response = await api(host, token, 'POST', '/api/assets/scripts', { name: 'f.py', source });
  expect(response.status, response.text).toBe(201);
  return String(response.body.id);
}

/** Creates a Skill from a JSON text for its schemas; returns the answer. */
function skillFrom(host: string, token: string, assetId: string, inputSchema: string, outputSchema = '{}') {
  return raw(
    host,
    token,
    'POST',
    '/api/skills',
    `{"name":"Fidelity","description":"","inputSchema":${inputSchema},"outputSchema":${outputSchema},"risk":"low","asset":{"kind":"python-script","id":"${assetId}","version":"active"},"limits":{"timeoutSeconds":20}}`,
  );
}

async function finished(host: string, token: string, id: string): Promise<TestResponse> {
  for (let attempt = 0; attempt < 300; attempt++) {
    const response = await api(host, token, 'GET', `/api/executions/${id}`);
    if (!['requested', 'queued', 'running'].includes(response.body.status)) return response;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`execution ${id} never finished`);
}

const ODD_INPUT =
  '{"big":12345678901234567890,"negBig":-98765432109876543210987654321,"huge":1e308,"tiny":1e-300,"negZero":-0,"precise":0.1000000000000000055511151231257827,"__proto__":{"polluted":true},"constructor":1,"toString":"x","hasOwnProperty":[]}';

describe('run input', () => {
  let echo: string;
  beforeAll(async () => {
    const assetId = await script(
      HOSTS.acme,
      alice,
      'def main(inputs, ctx):\n    return {"keys": sorted(inputs)}\n',
    );
    const response = await skillFrom(HOSTS.acme, alice, assetId, '{"type":"object"}');
    expect(response.status, response.text).toBe(201);
    echo = String(response.body.id);
  });

  it('stores and returns odd values exactly, and they reach the script as keys of their own', async () => {
    const started = await raw(
      HOSTS.acme,
      alice,
      'POST',
      `/api/skills/${echo}/executions`,
      `{"input":${ODD_INPUT}}`,
    );
    expect(started.status, started.text).toBe(202);
    const run = await finished(HOSTS.acme, alice, String(started.body.id));
    // Same values; a number a double holds exactly is written the JavaScript way (1e308 → 1e+308).
    expect(run.text).toContain(`"input":${ODD_INPUT.replace('1e308', '1e+308')}`);
    expect(run.body.status, run.text).toBe('succeeded');
    expect(run.body.output.keys).toEqual(
      [
        '__proto__',
        'big',
        'constructor',
        'hasOwnProperty',
        'huge',
        'negBig',
        'negZero',
        'precise',
        'tiny',
        'toString',
      ].sort(),
    );
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it('refuses numbers no runtime can receive with a 422 naming them', async () => {
    const response = await raw(
      HOSTS.acme,
      alice,
      'POST',
      `/api/skills/${echo}/executions`,
      '{"input":{"a":[1e400]}}',
    );
    expectProblem(response, 422);
    expect(response.body.errors).toEqual([{ path: 'input.a.0', message: expect.stringMatching(/within/) }]);
  });
});

describe('hostile schemas', () => {
  let assetId: string;
  beforeAll(async () => {
    assetId = await script(HOSTS.acme, alice, 'def main(inputs, ctx):\n    return {"ok": True}\n');
  });

  it('saves and runs, again and again, a schema with an $id (every run used to answer 500)', async () => {
    const schema =
      '{"$id":"urn:example:acme:order","type":"object","properties":{"__proto__":{"type":"integer"},"constructor":{"const":12345678901234567890}},"required":["toString"],"$defs":{"x":{"$anchor":"x","type":"string"}}}';
    const saved = await skillFrom(HOSTS.acme, alice, assetId, schema);
    expect(saved.status, saved.text).toBe(201);
    expect(saved.text).toContain(`"inputSchema":${schema}`);
    const again = await skillFrom(HOSTS.acme, alice, assetId, schema);
    expect(again.status, again.text).toBe(201);
    for (let round = 0; round < 2; round++) {
      const missing = await api(HOSTS.acme, alice, 'POST', `/api/skills/${saved.body.id}/executions`, {
        input: {},
      });
      expectProblem(missing, 422);
      expect(missing.body.errors).toEqual([
        { path: 'input', message: "must have required property 'toString'" },
      ]);
      const ok = await raw(
        HOSTS.acme,
        alice,
        'POST',
        `/api/skills/${saved.body.id}/executions`,
        '{"input":{"toString":1,"__proto__":3,"constructor":12345678901234567890}}',
      );
      expect(ok.status, ok.text).toBe(202);
      const wrongProto = await raw(
        HOSTS.acme,
        alice,
        'POST',
        `/api/skills/${saved.body.id}/executions`,
        '{"input":{"toString":1,"__proto__":"x"}}',
      );
      expectProblem(wrongProto, 422);
      expect(wrongProto.body.errors).toContainEqual({ path: 'input.__proto__', message: 'must be integer' });
    }
  });

  it("never lets another tenant reference or squat a tenant's $id", async () => {
    const globexAsset = await script(HOSTS.globex, gina, 'def main(inputs, ctx):\n    return {}\n');
    const oracle = await skillFrom(
      HOSTS.globex,
      gina,
      globexAsset,
      '{"type":"object","properties":{"probe":{"$ref":"urn:example:acme:order"}}}',
    );
    expectProblem(oracle, 422);
    expect(oracle.body.type).toBe(problemType('validation-failed'));
    expect(oracle.body.errors[0].message).toMatch(/remote references are not allowed/);
    const squat = await skillFrom(
      HOSTS.globex,
      gina,
      globexAsset,
      '{"$id":"urn:example:acme:order","type":"string"}',
    );
    expect(squat.status, squat.text).toBe(201);
  });

  it('refuses remote references at save, clearly', async () => {
    const response = await skillFrom(
      HOSTS.acme,
      alice,
      assetId,
      '{"$ref":"https://example.com/schema.json"}',
    );
    expectProblem(response, 422);
    expect(response.body.errors[0]).toEqual({
      path: 'inputSchema',
      message: expect.stringContaining('"https://example.com/schema.json" is not inside the schema'),
    });
  });

  it('answers a catastrophic pattern on a long input at once, on one engine for every tenant', async () => {
    const saved = await skillFrom(
      HOSTS.acme,
      alice,
      assetId,
      '{"type":"object","properties":{"s":{"type":"string","pattern":"^(a+)+$"}}}',
    );
    expect(saved.status, saved.text).toBe(201);
    const response = await api(HOSTS.acme, alice, 'POST', `/api/skills/${saved.body.id}/executions`, {
      input: { s: `${'a'.repeat(30_000)}!` },
    });
    expectProblem(response, 422);
    expect(response.body.errors[0]).toEqual({ path: 'input.s', message: 'must match pattern "^(a+)+$"' });
    const lookahead = await skillFrom(HOSTS.acme, alice, assetId, '{"type":"string","pattern":"a(?=b)"}');
    expectProblem(lookahead, 422);
    expect(lookahead.body.errors[0].message).toMatch(/lookahead/);
  });
});

describe('script output', () => {
  it('ends a run whose output holds odd values — never leaves it running', async () => {
    const assetId = await script(
      HOSTS.acme,
      alice,
      'def main(inputs, ctx):\n    return {"tiny": 1e-300, "huge": 1e308, "keys": {"__proto__": 1, "constructor": 2, "toString": 3}}\n',
    );
    const saved = await skillFrom(
      HOSTS.acme,
      alice,
      assetId,
      '{"type":"object"}',
      '{"type":"object","required":["tiny"]}',
    );
    expect(saved.status, saved.text).toBe(201);
    const started = await api(HOSTS.acme, alice, 'POST', `/api/skills/${saved.body.id}/executions`, {
      input: {},
    });
    const run = await finished(HOSTS.acme, alice, String(started.body.id));
    expect(run.body.status, run.text).toBe('succeeded');
    expect(run.text).toContain(
      '"output":{"tiny":1e-300,"huge":1e+308,"keys":{"__proto__":1,"constructor":2,"toString":3}}',
    );
  });
});
