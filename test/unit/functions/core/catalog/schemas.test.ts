/**
 * Skill schemas under hostile input: a curated selection of the official JSON Schema Test Suite
 * (fixture, MIT, source named in the file) from the first save, after cache eviction and after a
 * recompile; `$id`s that two Skills share; remote references; patterns that backtrack forever on a
 * backtracking engine; keys that are JavaScript property names; schemas whose references and
 * combinators fan out (2^N subschema evaluations from a few hundred bytes): each validation has a
 * budget of evaluations, linear in its value, and a schema that spends it on an empty value is
 * refused when saved.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  EVALUATIONS_PER_NODE,
  evaluationBudget,
  MIN_SCHEMA_EVALUATIONS,
} from '../../../../../functions/core/catalog/schema-engine.ts';
import {
  assertValidSchema,
  clearSchemaCache,
  compileSchema,
  type JsonSchema,
  schemaIssues,
} from '../../../../../functions/core/catalog/schemas.ts';
import { ValidationError } from '../../../../../functions/core/errors.ts';
import { parseJson } from '../../../../../functions/core/json.ts';
import { fanOut } from '../../../../support/fan-out.ts';

interface Group {
  readonly file: string;
  readonly description: string;
  readonly expect?: 'refused-at-save';
  readonly schema: JsonSchema;
  readonly tests: readonly { description: string; data: unknown; valid: boolean }[];
}

const fixture = parseJson(
  readFileSync(new URL('../../../../fixtures/json-schema-suite-2020-12.json', import.meta.url), 'utf8'),
) as { groups: Group[] };

async function refusal(schema: unknown): Promise<ValidationError> {
  try {
    await assertValidSchema(schema, 'inputSchema');
  } catch (error) {
    if (error instanceof ValidationError) return error;
    throw error;
  }
  throw new Error('the schema was accepted');
}

describe('the official suite (curated hostile cases)', () => {
  for (const [index, group] of fixture.groups.entries()) {
    it(`${group.file}: ${group.description}`, async () => {
      if (group.expect === 'refused-at-save') {
        const error = await refusal(group.schema);
        expect(error.issues.length).toBeGreaterThan(0);
        return;
      }
      await assertValidSchema(group.schema, 'inputSchema');
      const key = `suite/${index}`;
      for (const round of ['first save', 'after eviction', 'after recompiling']) {
        if (round !== 'first save') clearSchemaCache();
        const recompiled = round === 'after recompiling' ? await compileSchema(group.schema) : undefined;
        for (const test of group.tests) {
          const issues =
            recompiled?.issues(test.data, 'input.') ??
            (await schemaIssues(key, group.schema, test.data, 'input.'));
          expect(issues.length === 0, `${round}: ${test.description}`).toBe(test.valid);
        }
      }
    });
  }
});

describe('isolation', () => {
  it('compiles a schema with an $id any number of times (every run of it used to answer 500)', async () => {
    const schema = { $id: 'https://example.com/person', type: 'object', required: ['name'] };
    await assertValidSchema(schema, 'inputSchema');
    await assertValidSchema(schema, 'inputSchema');
    expect(await schemaIssues('t1/skl-a@1/in', schema, {}, 'input.')).toHaveLength(1);
    clearSchemaCache();
    expect(await schemaIssues('t1/skl-a@1/in', schema, { name: 'x' }, 'input.')).toEqual([]);
  });

  it("never resolves a reference to another Skill's (or tenant's) $id", async () => {
    const owner = { $id: 'urn:example:secret', type: 'string', pattern: '^s3cr3t' };
    await assertValidSchema(owner, 'inputSchema');
    await schemaIssues('tenant-a/skl-owner@1/in', owner, 'x', 'input.');
    const oracle = { type: 'object', properties: { probe: { $ref: 'urn:example:secret' } } };
    const error = await refusal(oracle);
    expect(error.issues[0]?.message).toMatch(/not inside the schema: remote references are not allowed/);
  });

  it('keeps two Skills with the same $id apart (no squatting)', async () => {
    const first = { $id: 'https://example.com/shared', $defs: { v: { type: 'string' } }, $ref: '#/$defs/v' };
    const second = {
      $id: 'https://example.com/shared',
      $defs: { v: { type: 'integer' } },
      $ref: '#/$defs/v',
    };
    const [a, b] = await Promise.all([compileSchema(first), compileSchema(second)]);
    expect(a.issues('text', '')).toEqual([]);
    expect(a.issues(1, '')).not.toEqual([]);
    expect(b.issues(1, '')).toEqual([]);
    expect(b.issues('text', '')).not.toEqual([]);
  });

  it('refuses remote references at save, naming them, and fetches nothing', async () => {
    for (const ref of [
      'https://example.com/other.json',
      'http://127.0.0.1:1/x',
      'file:///etc/passwd',
      'other.json',
    ]) {
      const error = await refusal({ type: 'object', properties: { a: { $ref: ref } } });
      expect(error.message).toMatch(/does not contain/);
    }
  });

  it('accepts a reference to the bundled 2020-12 meta-schema', async () => {
    const schema = { $ref: 'https://json-schema.org/draft/2020-12/schema' };
    await assertValidSchema(schema, 'outputSchema');
    const compiled = await compileSchema(schema);
    expect(compiled.issues({ type: 'string' }, '')).toEqual([]);
    expect(compiled.issues({ type: 12 }, '')).not.toEqual([]);
  });

  it('refuses another dialect and a schema that is not one', async () => {
    expect((await refusal({ $schema: 'http://json-schema.org/draft-07/schema#' })).message).toMatch(
      /2020-12/,
    );
    expect((await refusal({ type: 'nonsense' })).message).toMatch(/not a valid JSON Schema/);
    expect((await refusal([])).message).toMatch(/must be a JSON Schema object/);
  });
});

describe('patterns run in linear time', () => {
  it('matches the classic catastrophic pattern at once', async () => {
    const schema = { type: 'object', properties: { a: { type: 'string', pattern: '^(a+)+$' } } };
    const compiled = await compileSchema(schema);
    const started = performance.now();
    const issues = compiled.issues({ a: `${'a'.repeat(50_000)}!` }, 'input.');
    // Not a timing assertion (see bench/schema-validation.ts): a backtracking engine never returns here.
    expect(performance.now() - started).toBeGreaterThanOrEqual(0);
    expect(issues).toEqual([{ path: 'input.a', message: 'must match pattern "^(a+)+$"' }]);
    expect(compiled.issues({ a: 'aaaa' }, 'input.')).toEqual([]);
  });

  it('applies RE2 to patternProperties and to the names additionalProperties skips', async () => {
    const compiled = await compileSchema({
      type: 'object',
      patternProperties: { '^(x+)+y$': { type: 'integer' } },
      additionalProperties: false,
    });
    expect(compiled.issues({ xxy: 1 }, '')).toEqual([]);
    expect(compiled.issues({ [`${'x'.repeat(40_000)}`]: 1 }, '')).toEqual([
      { path: '', message: `must not have the property '${'x'.repeat(40_000)}'` },
    ]);
  });

  it('refuses backreferences and lookaround at save, saying why', async () => {
    for (const pattern of ['(a)\\1', '(?<n>a)\\k<n>', 'a(?=b)', '(?<!a)b', '[']) {
      const error = await refusal({ type: 'string', pattern });
      expect(error.issues[0]?.message).toMatch(/cannot be used/);
    }
  });

  it('understands ECMA-262 Unicode property names', async () => {
    const compiled = await compileSchema({ type: 'string', pattern: '^\\p{Letter}+$' });
    expect(compiled.issues('école', '')).toEqual([]);
    expect(compiled.issues('ecole1', '')).not.toEqual([]);
  });
});

describe('values with JavaScript property names and extreme numbers', () => {
  it('does not count inherited names as present for required', async () => {
    const schema = { type: 'object', required: ['toString', 'constructor', '__proto__'] };
    const issues = await schemaIssues('t/skl-req@1/in', schema, {}, 'input.');
    expect(issues.map((issue) => issue.message)).toEqual([
      "must have required property 'toString'",
      "must have required property 'constructor'",
      "must have required property '__proto__'",
    ]);
    const present = parseJson('{"toString":1,"constructor":2,"__proto__":3}');
    expect(await schemaIssues('t/skl-req@1/in', schema, present, 'input.')).toEqual([]);
  });

  it('validates big and tiny numbers by their value', async () => {
    const value = parseJson('{"big":123456789012345678901234567890,"tiny":1e-300,"negZero":-0}');
    const schema = {
      type: 'object',
      properties: {
        big: { type: 'integer', minimum: 1e29 },
        tiny: { type: 'number', exclusiveMinimum: 0 },
        negZero: { const: 0 },
      },
    };
    expect(await schemaIssues('t/skl-num@1/in', schema, value, 'input.')).toEqual([]);
  });

  it('names the offending field the way clients know', async () => {
    const schema = {
      type: 'object',
      properties: { a: { type: 'integer' }, b: { type: 'integer' } },
      required: ['a', 'b'],
      additionalProperties: false,
    };
    const issues = await schemaIssues('t/skl-msg@1/in', schema, { a: 'one', c: 1 }, 'input.');
    expect(issues).toEqual(
      expect.arrayContaining([
        { path: 'input.a', message: 'must be integer' },
        { path: 'input', message: "must have required property 'b'" },
        { path: 'input', message: "must not have the property 'c'" },
      ]),
    );
  });
});

/** `count` empty schemas: one evaluation each. */
const empties = (count: number) => Array.from({ length: count }, () => ({}));

describe('the evaluation budget', () => {
  it('refuses at save a schema that fans out on any value, through allOf, if/then or a failing leaf', async () => {
    for (const [name, schema] of [
      ['allOf', { $defs: fanOut(24), $ref: '#/$defs/d0' }],
      ['failing leaf', { $defs: fanOut(24, { type: 'string' }), $ref: '#/$defs/d0' }],
      ['if/then', { $defs: fanOut(22, {}, true), $ref: '#/$defs/d0' }],
    ] as const) {
      const refused = await assertValidSchema(schema, 'inputSchema').then(
        () => undefined,
        (error: unknown) => error,
      );
      expect(refused, name).toBeInstanceOf(ValidationError);
      expect((refused as ValidationError).message).toBe('inputSchema is too costly to check');
      expect((refused as ValidationError).issues[0]?.message).toMatch(/budget of subschema evaluations/);
    }
  });

  it('refuses, saying why, a value that reaches a fan-out the empty values do not', async () => {
    // Only a value with `x` reaches the fan-out: the schema is saved, and such a value is refused.
    const schema = { type: 'object', properties: { x: { $ref: '#/$defs/d0' } }, $defs: fanOut(30) };
    await assertValidSchema(schema, 'inputSchema');
    expect(await schemaIssues('t/skl-fan@1/in', schema, { y: 1 }, 'input.')).toEqual([]);
    const issues = await schemaIssues('t/skl-fan@1/in', schema, { x: 1 }, 'input.');
    expect(issues).toEqual([
      {
        path: 'input',
        message: expect.stringContaining(`takes more than ${MIN_SCHEMA_EVALUATIONS} subschema evaluations`),
      },
    ]);
  });

  it('allows exactly the budget of a small value and refuses one evaluation more', async () => {
    // 100 nulls under `items` with 1,998 empty schemas each: 1 + 100 × 1,999 evaluations, and `extra`
    // at the root: 199,901 + extra. The value has 101 nodes: its budget is the minimum, 200,000.
    const value = Array.from({ length: 100 }, () => null);
    expect(evaluationBudget(value)).toBe(MIN_SCHEMA_EVALUATIONS);
    const schema = (extra: number) => ({ allOf: empties(extra), items: { allOf: empties(1998) } });
    const atBudget = await compileSchema(schema(99));
    expect(atBudget.issues(value, 'input.')).toEqual([]);
    const over = await compileSchema(schema(100));
    expect(over.issues(value, 'input.')[0]?.message).toContain(
      `takes more than ${MIN_SCHEMA_EVALUATIONS} subschema evaluations`,
    );
  });

  it('grows with the value: EVALUATIONS_PER_NODE for each node of a large one', async () => {
    // 20,000 nulls under `items` with 15 empty schemas each: 1 + 20,000 × 16 evaluations and `extra`
    // at the root; the value's 20,001 nodes give it 320,016.
    const value = Array.from({ length: 20_000 }, () => null);
    const budget = EVALUATIONS_PER_NODE * 20_001;
    expect(evaluationBudget(value)).toBe(budget);
    const schema = (extra: number) => ({ allOf: empties(extra), items: { allOf: empties(15) } });
    expect((await compileSchema(schema(15))).issues(value, 'output.')).toEqual([]);
    expect((await compileSchema(schema(16))).issues(value, 'output.')[0]?.message).toContain(
      `takes more than ${budget} subschema evaluations`,
    );
    // The largest output a run may record, 256 KiB of small typed objects, is well inside its budget.
    const rows = Array.from({ length: 8000 }, (_, index) => ({ a: index, b: 'xx', c: true }));
    const typed = await compileSchema({
      type: 'array',
      items: {
        type: 'object',
        properties: { a: { type: 'number' }, b: { type: 'string' }, c: { type: 'boolean' } },
        required: ['a'],
      },
    });
    expect(typed.issues(rows, 'output.')).toEqual([]);
  });
});
