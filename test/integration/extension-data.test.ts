/**
 * Issue 17, extension data and ctx.params through the real platform: a script reads and
 * conditionally writes its declared collection (numbers come back as written), a concurrent
 * conditional write loses cleanly (one winner, the loser told the current version, usage exact),
 * parameters appear in ctx.params only when declared; collections and records over the API (schema
 * changes audited, limits at their edge, NDJSON export) with problem+json for every refusal.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { VersionConflictError } from '../../functions/core/data/errors.ts';
import { PayloadTooLargeError, QuotaExceededError } from '../../functions/core/errors.ts';
import type { TenantContext } from '../../functions/core/tenancy/domain.ts';
import { tenantContext } from '../../functions/core/tenancy/hosts.ts';
import {
  expectProblem,
  HOSTS,
  problemType,
  startTestPlatform,
  type TestPlatform,
} from '../support/platform.ts';
import { type Runner, runner } from '../support/runs.ts';

const PASSWORD = 'extension-data-test-password';

const COUNTER_SCRIPT = `
import execfabric

def main(inputs, ctx):
    counters = ctx.data.collection("counters")
    first = counters.get("visits")
    v1 = counters.put("visits", {"count": 1, "big": 12345678901234567890}, expected_version=0)
    try:
        counters.put("visits", {"count": 99}, expected_version=0)
        stale = "written"
    except execfabric.ConflictError as error:
        stale = ["conflict", error.current_version]
    v2 = counters.put("visits", {"count": 2, "big": 12345678901234567890}, expected_version=v1)
    again = counters.get("visits")
    counters.put("visits-archive-1", {"count": 0})
    counters.put("other", {"count": 5})
    page = counters.query("visits", limit=1)
    rest = counters.query("visits", limit=1, cursor=page.cursor)
    gone = counters.delete("other")
    missing = counters.delete("other")
    try:
        counters.put("bad", {"count": "many"})
        invalid = "written"
    except execfabric.DataError as error:
        invalid = [error.type, error.issues[0]["path"]]
    return {
        "first": first,
        "v1": v1,
        "v2": v2,
        "stale": stale,
        "again": {"count": again.value["count"], "version": again.version, "bigExact": again.value["big"] == 12345678901234567890},
        "pages": [[record.key for record in page], page.cursor is not None, [record.key for record in rest], rest.cursor],
        "deleted": [gone, missing],
        "invalid": invalid,
    }
`;

const RACE_SCRIPT = `
import time

def main(inputs, ctx):
    counters = ctx.data.collection("counters")
    record = counters.get("race")
    time.sleep(inputs["pause"])
    try:
        version = counters.put("race", {"count": record.value["count"] + 1}, expected_version=record.version)
        return {"won": version}
    except Exception as error:
        return {"lost": type(error).__name__, "current": getattr(error, "current_version", None)}
`;

const PARAMS_SCRIPT = `
def main(inputs, ctx):
    try:
        ctx.params["greeting"] = "changed"
        mutable = True
    except TypeError:
        mutable = False
    return {"params": dict(ctx.params), "mutable": mutable}
`;

describe('extension data and ctx.params', { timeout: 120_000 }, () => {
  let test: TestPlatform;
  let alice: string;
  let bob: string;
  let gina: string;
  let acme: Runner;
  let acmeDomain: TenantContext;

  const api = (host: string, token: string, method: string, path: string, body?: unknown) =>
    test.send({ host, token, method, path, ...(body === undefined ? {} : { body }) });

  beforeAll(async () => {
    test = await startTestPlatform(PASSWORD);
    alice = await test.login(HOSTS.acme, 'alice');
    bob = await test.login(HOSTS.acme, 'bob');
    gina = await test.login(HOSTS.globex, 'gina');
    acme = runner(test, HOSTS.acme, alice, bob);
    acmeDomain = (await tenantContext(test.core.table, 'acme')) as TenantContext;
    const counters = {
      name: 'counters',
      description: 'visit counters',
      schema: {
        type: 'object',
        properties: { count: { type: 'integer', minimum: 0 }, big: { type: 'integer' } },
        required: ['count'],
      },
    };
    for (const [host, token] of [
      [HOSTS.acme, alice],
      [HOSTS.globex, gina],
    ] as const) {
      const created = await api(host, token, 'POST', '/api/data/collections', counters);
      expect(created.status, created.text).toBe(201);
    }
    const globexRecord = await api(
      HOSTS.globex,
      gina,
      'PUT',
      '/api/data/collections/counters/records/visits',
      {
        value: { count: 4242 },
      },
    );
    expect(globexRecord.status, globexRecord.text).toBe(201);
  }, 120_000);

  afterAll(async () => {
    await test?.stop();
  });

  it('a script reads and conditionally writes its declared collection; values come back exactly', async () => {
    const skillId = await acme.skill(COUNTER_SCRIPT, { collections: ['counters'] });
    const run = await acme.run(skillId);
    expect(run.status, JSON.stringify(run.error ?? run.logs)).toBe('succeeded');
    expect(run.output).toEqual({
      first: null,
      v1: 1,
      v2: 2,
      stale: ['conflict', 1],
      again: { count: 2, version: 2, bigExact: true },
      pages: [['visits'], true, ['visits-archive-1'], null],
      deleted: [true, false],
      invalid: ['InvalidRecord', 'value.count'],
    });
    // The API answers the record as it was written (a 20-digit integer survives), and who wrote it.
    const record = await api(HOSTS.acme, alice, 'GET', '/api/data/collections/counters/records/visits');
    expect(record.status).toBe(200);
    expect(record.text).toContain('"big":12345678901234567890');
    expect(record.body).toMatchObject({
      key: 'visits',
      version: 2,
      updatedBy: `execution:${run.id}`,
      matchesSchema: true,
    });
    // Globex's record of the same name is untouched and unseen.
    const foreign = await api(HOSTS.globex, gina, 'GET', '/api/data/collections/counters/records/visits');
    expect(foreign.body).toMatchObject({ version: 1, value: { count: 4242 } });
  });

  it('a concurrent conditional write loses cleanly: one winner, the loser told the current version', async () => {
    const seeded = await api(HOSTS.acme, alice, 'PUT', '/api/data/collections/counters/records/race', {
      value: { count: 10 },
    });
    expect(seeded.status).toBe(201);
    const before = (await api(HOSTS.acme, alice, 'GET', '/api/data/usage')).body;
    const skillId = await acme.skill(RACE_SCRIPT, { collections: ['counters'] });
    // Both runs read version 1, then both write expecting it.
    const ids = await Promise.all([acme.request(skillId, { pause: 2 }), acme.request(skillId, { pause: 2 })]);
    const runs = await Promise.all(ids.map((id) => acme.wait(id)));
    const outputs = runs.map((run) => run.output);
    expect(outputs).toContainEqual({ won: 2 });
    expect(outputs).toContainEqual({ lost: 'ConflictError', current: 2 });
    const record = await api(HOSTS.acme, alice, 'GET', '/api/data/collections/counters/records/race');
    expect(record.body).toMatchObject({ version: 2, value: { count: 11 } });
    const after = (await api(HOSTS.acme, alice, 'GET', '/api/data/usage')).body;
    expect(after.records).toBe(before.records);

    // And at the store itself, many writers at once: exactly one wins each version.
    const collection = await test.core.collections.get(acmeDomain, 'counters');
    const outcomes = await Promise.allSettled(
      Array.from({ length: 8 }, (_, index) =>
        test.core.records.put(acmeDomain, collection, 'race', JSON.stringify({ count: 100 + index }), {
          expectedVersion: 2,
          by: 'test',
        }),
      ),
    );
    const won = outcomes.filter((outcome) => outcome.status === 'fulfilled');
    expect(won).toHaveLength(1);
    for (const outcome of outcomes) {
      if (outcome.status === 'rejected') {
        expect(outcome.reason).toBeInstanceOf(VersionConflictError);
        expect((outcome.reason as VersionConflictError).currentVersion).toBe(3);
      }
    }
    const usage = await test.core.collections.usage(acmeDomain);
    expect(usage.records).toBe(after.records);
  });

  it('parameters appear in ctx.params only when declared, and read-only', async () => {
    for (const [key, value] of [
      ['greeting', 'bonjour'],
      ['undeclared', 'not for this script'],
    ]) {
      const set = await api(HOSTS.acme, alice, 'POST', '/api/parameters', { key, value });
      expect(set.status, set.text).toBe(201);
    }
    const declared = await acme.skill(PARAMS_SCRIPT, { parameters: ['greeting', 'not-set-yet'] });
    const run = await acme.run(declared);
    expect(run.output).toEqual({ params: { greeting: 'bonjour' }, mutable: false });
    const none = await acme.skill(PARAMS_SCRIPT);
    expect((await acme.run(none)).output).toEqual({ params: {}, mutable: false });
  });

  it('collections and parameters are part of what approvals bind to', async () => {
    const script = await api(HOSTS.acme, alice, 'POST', '/api/assets/scripts', {
      name: 'hash-check',
      source: 'def main(inputs, ctx):\n    return 1\n',
    });
    const body = {
      name: 'hash-check',
      inputSchema: { type: 'object' },
      outputSchema: {},
      risk: 'low',
      asset: { kind: 'python-script', id: script.body.id, version: 'active' },
    };
    const plain = await api(HOSTS.acme, alice, 'POST', '/api/skills', body);
    const withData = await api(HOSTS.acme, alice, 'PUT', `/api/skills/${plain.body.id}`, {
      ...body,
      collections: ['counters'],
    });
    const withParams = await api(HOSTS.acme, alice, 'PUT', `/api/skills/${plain.body.id}`, {
      ...body,
      collections: ['counters'],
      parameters: ['greeting'],
    });
    const hashes = new Set([
      plain.body.definitionHash,
      withData.body.definitionHash,
      withParams.body.definitionHash,
    ]);
    expect(hashes.size).toBe(3);
    expect(withParams.body).toMatchObject({ collections: ['counters'], parameters: ['greeting'] });

    // A definition that leaves them out declares none: they are removed, not kept from before.
    const without = await api(HOSTS.acme, alice, 'PUT', `/api/skills/${plain.body.id}`, {
      ...body,
      parameters: [],
    });
    expect(without.status, without.text).toBe(200);
    const read = await api(HOSTS.acme, alice, 'GET', `/api/skills/${plain.body.id}`);
    for (const answer of [without.body, read.body]) {
      expect(answer.collections).toBeUndefined();
      expect(answer.parameters).toBeUndefined();
    }
    expect(without.body.definitionHash).toBe(plain.body.definitionHash);
  });

  it('refuses declarations that cannot hold, naming the field', async () => {
    const script = await api(HOSTS.acme, alice, 'POST', '/api/assets/scripts', {
      name: 'decl',
      source: 'def main(inputs, ctx):\n    return 1\n',
    });
    const base = {
      name: 'decl',
      inputSchema: { type: 'object' },
      outputSchema: {},
      risk: 'low',
      asset: { kind: 'python-script', id: script.body.id, version: 'active' },
    };
    const missing = await api(HOSTS.acme, alice, 'POST', '/api/skills', {
      ...base,
      collections: ['counters', 'nope'],
    });
    expectProblem(missing, 422);
    expect(missing.body.errors).toContainEqual({
      path: 'collections.1',
      message: 'no collection named nope',
    });
    const badParameter = await api(HOSTS.acme, alice, 'POST', '/api/skills', {
      ...base,
      parameters: ['9bad'],
    });
    expectProblem(badParameter, 422);
    expect(badParameter.body.errors[0].path).toBe('parameters.0');
    const tooMany = await api(HOSTS.acme, alice, 'POST', '/api/skills', {
      ...base,
      parameters: Array.from({ length: 33 }, (_, index) => `p${index}`),
    });
    expectProblem(tooMany, 422);
  });

  it('collections over the API: validation, conflicts, audit of schema changes, deletion rules', async () => {
    for (const [body, path] of [
      [{ name: 'Bad Name', schema: {} }, 'name'],
      [{ name: 'ok', schema: { type: 'nonsense' } }, 'schema'],
      [{ name: 'ok', schema: {}, key: { field: 'no spaces' } }, 'key.field'],
      [{ name: 'ok', schema: {}, key: { schema: { pattern: '(' } } }, 'key.schema'],
    ] as const) {
      const refused = await api(HOSTS.acme, alice, 'POST', '/api/data/collections', body);
      expectProblem(refused, 422, JSON.stringify(body));
      expect(refused.body.errors.map((error: { path: string }) => error.path).join(',')).toContain(path);
    }
    const duplicate = await api(HOSTS.acme, alice, 'POST', '/api/data/collections', {
      name: 'counters',
      schema: {},
    });
    expectProblem(duplicate, 409);
    const denied = await api(HOSTS.acme, bob, 'POST', '/api/data/collections', { name: 'mine', schema: {} });
    expectProblem(denied, 403);

    // Property names that objects have too are data: a schema with a `constructor` property was a map
    // the marshaller took for a class instance (a 500 on create and on update).
    const named = await api(HOSTS.acme, alice, 'POST', '/api/data/collections', {
      name: 'parts',
      schema: {
        type: 'object',
        properties: { constructor: { type: 'string' }, toString: { type: 'number' } },
      },
      key: { schema: { type: 'string', not: { const: 'constructor' } } },
    });
    expect(named.status, named.text).toBe(201);
    const readBack = await api(HOSTS.acme, alice, 'GET', '/api/data/collections/parts');
    expect(readBack.body.schema.properties.constructor).toEqual({ type: 'string' });
    expect(readBack.body.key.schema).toEqual({ type: 'string', not: { const: 'constructor' } });
    const refusedPart = await api(HOSTS.acme, alice, 'PUT', '/api/data/collections/parts/records/p1', {
      value: { constructor: 7 },
    });
    expectProblem(refusedPart, 422);
    expect(refusedPart.body.errors).toContainEqual(expect.objectContaining({ path: 'value.constructor' }));
    const renamed = await api(HOSTS.acme, alice, 'PUT', '/api/data/collections/parts', {
      schema: { type: 'object', properties: { constructor: { type: 'number' } } },
      revision: readBack.body.revision,
    });
    expect(renamed.status, renamed.text).toBe(200);

    const created = await api(HOSTS.acme, alice, 'POST', '/api/data/collections', {
      name: 'customers',
      schema: { type: 'object', properties: { id: { type: 'string' } }, required: ['id'] },
      key: { field: 'id', schema: { type: 'string', pattern: '^cust-[0-9]+$' } },
    });
    expect(created.status, created.text).toBe(201);
    const wrongKey = await api(HOSTS.acme, alice, 'PUT', '/api/data/collections/customers/records/alice', {
      value: { id: 'alice' },
    });
    expectProblem(wrongKey, 422);
    expect(wrongKey.body.errors[0].path).toMatch(/^key/);
    const mismatch = await api(HOSTS.acme, alice, 'PUT', '/api/data/collections/customers/records/cust-1', {
      value: { id: 'cust-2' },
    });
    expectProblem(mismatch, 422);
    expect(mismatch.body.errors).toContainEqual(expect.objectContaining({ path: 'value.id' }));
    const ok = await api(HOSTS.acme, alice, 'PUT', '/api/data/collections/customers/records/cust-1', {
      value: { id: 'cust-1' },
    });
    expect(ok.status, ok.text).toBe(201);
    const stale = await api(HOSTS.acme, alice, 'PUT', '/api/data/collections/customers/records/cust-1', {
      value: { id: 'cust-1', note: 'x' },
      expectedVersion: 0,
    });
    expectProblem(stale, 409);
    expect(stale.body).toMatchObject({ type: problemType('version-conflict'), currentVersion: 1 });

    // A schema change is a new revision, audited with both hashes; an old record no longer matching is flagged.
    const changed = await api(HOSTS.acme, alice, 'PUT', '/api/data/collections/customers', {
      schema: { type: 'object', required: ['id', 'email'] },
      key: { field: 'id' },
      revision: 1,
    });
    expect(changed.status, changed.text).toBe(200);
    expect(changed.body.revision).toBe(2);
    const listed = await api(HOSTS.acme, alice, 'GET', '/api/data/collections/customers/records');
    expect(listed.body.items[0]).toMatchObject({ key: 'cust-1', matchesSchema: false });
    const audit = await api(HOSTS.acme, alice, 'GET', '/api/audit?limit=50');
    const entry = audit.body.items.find(
      (item: { action: string; target: string }) =>
        item.action === 'data.collection.updated' && item.target === 'collection:customers',
    );
    expect(entry?.details).toMatchObject({ revision: 2, previousRevision: 1, schemaChanged: true });

    // Not while it holds records, nor while a Skill declares it.
    expectProblem(await api(HOSTS.acme, alice, 'DELETE', '/api/data/collections/customers'), 409);
    const removed = await api(HOSTS.acme, alice, 'DELETE', '/api/data/collections/customers/records/cust-1');
    expect(removed.status).toBe(204);
    expect((await api(HOSTS.acme, alice, 'DELETE', '/api/data/collections/customers')).status).toBe(204);
    const inUse = await api(HOSTS.acme, alice, 'DELETE', '/api/data/collections/counters');
    expectProblem(inUse, 409);
    expect(inUse.body.type).toBe(problemType('collection-in-use'));
  });

  it('holds the per-record and per-tenant limits of the plan at their edge', async () => {
    const created = await api(HOSTS.acme, alice, 'POST', '/api/data/collections', {
      name: 'blobs',
      schema: { type: 'string' },
    });
    expect(created.status).toBe(201);
    const limit = (await api(HOSTS.acme, alice, 'GET', '/api/data/usage')).body.limits.recordBytes;
    // A JSON string of n characters is n + 2 bytes of JSON.
    const atLimit = await api(HOSTS.acme, alice, 'PUT', '/api/data/collections/blobs/records/max', {
      value: 'x'.repeat(limit - 2),
    });
    expect(atLimit.status, atLimit.text).toBe(201);
    const over = await api(HOSTS.acme, alice, 'PUT', '/api/data/collections/blobs/records/over', {
      value: 'x'.repeat(limit - 1),
    });
    expectProblem(over, 413);

    // The free plan: three collections, then a clear refusal; records of at most 16 KiB. (The API reads
    // a tenant's plan from its host cache, so the core is asked directly with the plan in force.)
    const globex = (await tenantContext(test.core.table, 'globex')) as TenantContext;
    const free: TenantContext = { ...globex, tenant: { ...globex.tenant, plan: 'free' } };
    const gina = {
      username: 'gina',
      roles: ['admin'],
      permissions: new Set<string>(),
      superAdmin: false,
      via: 'session' as const,
      credentialId: 'test',
    };
    for (const name of ['two', 'three']) await test.core.collections.create(free, { name, schema: {} }, gina);
    await expect(
      test.core.collections.create(free, { name: 'four', schema: {} }, gina),
    ).rejects.toBeInstanceOf(QuotaExceededError);
    const two = await test.core.collections.get(free, 'two');
    await expect(
      test.core.records.put(free, two, 'big', JSON.stringify('y'.repeat(16 * 1024 - 2)), { by: 'gina' }),
    ).resolves.toMatchObject({ version: 1 });
    await expect(
      test.core.records.put(free, two, 'bigger', JSON.stringify('y'.repeat(16 * 1024 - 1)), { by: 'gina' }),
    ).rejects.toBeInstanceOf(PayloadTooLargeError);
  });

  it('exports a collection as NDJSON, page by page', async () => {
    await api(HOSTS.acme, alice, 'POST', '/api/data/collections', { name: 'events', schema: {} });
    const events = await test.core.collections.get(acmeDomain, 'events');
    for (let index = 0; index < 130; index++) {
      await test.core.records.put(
        acmeDomain,
        events,
        `e-${String(index).padStart(3, '0')}`,
        JSON.stringify({ index }),
        {
          by: 'alice',
        },
      );
    }
    const lines: string[] = [];
    let cursor: string | undefined;
    do {
      const page = await api(
        HOSTS.acme,
        bob,
        'GET',
        `/api/data/collections/events/export${cursor === undefined ? '' : `?cursor=${cursor}`}`,
      );
      expect(page.status, page.text).toBe(200);
      expect(page.headers['content-type']).toBe('application/x-ndjson');
      lines.push(...page.text.split('\n').filter((line) => line !== ''));
      cursor = page.headers['x-execfabric-next-cursor'];
    } while (cursor !== undefined);
    expect(lines).toHaveLength(130);
    expect(JSON.parse(lines[129] as string)).toMatchObject({
      key: 'e-129',
      value: { index: 129 },
      version: 1,
    });
    const forged = await api(
      HOSTS.acme,
      bob,
      'GET',
      `/api/data/collections/events/records?prefix=e-1&cursor=${Buffer.from('zz').toString('base64url')}`,
    );
    expectProblem(forged, 422);
  });
});
