/**
 * The JSON Schema validator behind schemas.ts, which loads this module on its first compile:
 * @hyperjump/json-schema with its 2020-12 dialect, and the linear-time RE2 engine (patterns.ts) in
 * place of the regex-based keywords. Loading them builds the validator's URI grammar (large RegExps),
 * its dialects and RE2's Unicode tables, ~20 ms of a Lambda function's init (bench/RESULTS.md): a
 * function instance that never compiles a schema never pays it. Everything said of a compile (the
 * registry held by one schema at a time, remote references refused) is in schemas.ts. Each
 * validation has a budget of subschema evaluations, linear in its value (MIN_SCHEMA_EVALUATIONS).
 */
import * as Browser from '@hyperjump/browser';
import { registerSchema, unregisterSchema, validate } from '@hyperjump/json-schema/draft-2020-12';
import {
  addKeyword,
  BASIC,
  getKeywordName,
  type Keyword,
  Validation,
  type ValidationContext,
} from '@hyperjump/json-schema/experimental';
import * as Instance from '@hyperjump/json-schema/instance/experimental';
import { type CompiledPattern, compilePattern } from './patterns.ts';
import type { BasicOutput, JsonSchema } from './schemas.ts';

type Context = ValidationContext & { evaluatedProperties?: Set<string> };

/** Replaces the regex-based keywords with linear-time ones and removes network retrieval. */
function install(): void {
  Browser.removeUriSchemePlugin('http');
  Browser.removeUriSchemePlugin('https');
  // Never reached by a schema (they are refused first); defence in depth: nothing loads a file either.
  Browser.removeUriSchemePlugin('file');

  const pattern: Keyword<CompiledPattern, Context> = {
    id: 'https://json-schema.org/keyword/pattern',
    compile: async (schema) => compilePattern(Browser.value<string>(schema)),
    interpret: (compiled, instance) =>
      Instance.typeOf(instance) !== 'string' || compiled.test(Instance.value<string>(instance)),
  };
  const patternProperties: Keyword<[CompiledPattern, string][], Context> = {
    id: 'https://json-schema.org/keyword/patternProperties',
    simpleApplicator: true,
    compile: async (schema, ast) => {
      const compiled: [CompiledPattern, string][] = [];
      for await (const [source, subschema] of Browser.entries(schema)) {
        // Entries of a schema document are schema documents themselves.
        const child = subschema as typeof schema;
        compiled.push([compilePattern(source), await Validation.compile(child, ast, schema)]);
      }
      return compiled;
    },
    interpret: (compiled, instance, context) => {
      if (Instance.typeOf(instance) !== 'object') return true;
      let valid = true;
      for (const [test, subschema] of compiled) {
        for (const [nameNode, value] of Instance.entries(instance)) {
          const name = Instance.value<string>(nameNode);
          if (!test.test(name)) continue;
          if (!Validation.interpret(subschema, value, context)) valid = false;
          context.evaluatedProperties?.add(name);
        }
      }
      return valid;
    },
  };
  const additionalProperties: Keyword<[ReadonlySet<string>, CompiledPattern[], string], Context> = {
    id: 'https://json-schema.org/keyword/additionalProperties',
    simpleApplicator: true,
    compile: async (schema, ast, parent) => {
      const dialect = schema.document.dialectId;
      const properties = await Browser.step(
        getKeywordName(dialect, 'https://json-schema.org/keyword/properties'),
        parent,
      );
      const patterns = await Browser.step(
        getKeywordName(dialect, 'https://json-schema.org/keyword/patternProperties'),
        parent,
      );
      return [
        new Set(Browser.typeOf(properties) === 'object' ? [...Browser.keys(properties)] : []),
        Browser.typeOf(patterns) === 'object' ? [...Browser.keys(patterns)].map(compilePattern) : [],
        await Validation.compile(schema, ast, parent),
      ];
    },
    interpret: ([named, patterns, subschema], instance, context) => {
      if (Instance.typeOf(instance) !== 'object') return true;
      let valid = true;
      for (const [nameNode, value] of Instance.entries(instance)) {
        const name = Instance.value<string>(nameNode);
        if (named.has(name) || patterns.some((test) => test.test(name))) continue;
        if (!Validation.interpret(subschema, value, context)) valid = false;
        context.evaluatedProperties?.add(name);
      }
      return valid;
    },
  };
  addKeyword(pattern);
  addKeyword(patternProperties);
  addKeyword(additionalProperties);
}

/**
 * The subschema evaluations one validation may make: EVALUATIONS_PER_NODE for each node of the value
 * (its objects, arrays, their members and scalars), at least MIN_SCHEMA_EVALUATIONS. A few hundred
 * bytes of schema can ask for 2^N of them on any value (N levels of `$defs`, each an `allOf` of two
 * references to the next; `then` evaluates its `if` again), and the validator caches nothing and runs
 * synchronously: without a bound, one value held every request of the process for seconds to
 * minutes, and the errors of a failing leaf filled the heap. The bound keeps a validation's work
 * linear in the value it checks: 200,000 evaluations take 10–25 ms here, and a plain schema spends
 * 1–4 on a node (bench/schema-budget.ts). The value's nodes are counted only when a validation has
 * spent the minimum: most never do, and are not walked twice.
 */
export const MIN_SCHEMA_EVALUATIONS = 200_000;
export const EVALUATIONS_PER_NODE = 16;

/** Why a validation stopped: the schema asked for more evaluations than the value's budget. */
export class SchemaBudgetError extends Error {
  readonly budget: number;
  constructor(budget: number) {
    super(
      `checking this value against it takes more than ${budget} subschema evaluations (nested allOf, anyOf, oneOf, if/then or references that fan out): simplify the schema`,
    );
    this.name = 'SchemaBudgetError';
    this.budget = budget;
  }
}

/** Evaluations left to the validation running now; unbounded outside one (compiles, meta-validation). */
let evaluationsLeft = Number.POSITIVE_INFINITY;
/** The value the running validation checks, until its budget has been counted; then undefined. */
let uncounted: { readonly value: unknown } | undefined;
/** The budget of the running validation so far (for its error). */
let budget = Number.POSITIVE_INFINITY;

/**
 * Counts every subschema evaluation: each keyword reaches its subschemas through
 * `Validation.interpret` (a property read at each call), the `if` that `then` and `else` evaluate
 * again included. Validation is synchronous, so one counter serves the process.
 */
function installBudget(): void {
  const interpret = Validation.interpret;
  Validation.interpret = (url, instance, context) => {
    evaluationsLeft -= 1;
    if (evaluationsLeft < 0) extendOrStop();
    return interpret(url, instance, context);
  };
}

/** The minimum is spent: the value's own budget, counted once, or a SchemaBudgetError. */
function extendOrStop(): void {
  if (uncounted !== undefined) {
    const full = evaluationBudget(uncounted.value);
    uncounted = undefined;
    evaluationsLeft += full - budget;
    budget = full;
    if (evaluationsLeft >= 0) return;
  }
  throw new SchemaBudgetError(budget);
}

/** The nodes of a JSON value (every object, array and scalar in it). */
function nodeCount(value: unknown): number {
  let count = 0;
  const pending: unknown[] = [value];
  while (pending.length > 0) {
    const node = pending.pop();
    count += 1;
    // One push a child: a spread of a large array would overflow the call's arguments.
    if (Array.isArray(node)) for (const child of node) pending.push(child);
    else if (typeof node === 'object' && node !== null)
      for (const child of Object.values(node)) pending.push(child);
  }
  return count;
}

/** The evaluations `value` may cost (see MIN_SCHEMA_EVALUATIONS). */
export function evaluationBudget(value: unknown): number {
  return Math.max(MIN_SCHEMA_EVALUATIONS, EVALUATIONS_PER_NODE * nodeCount(value));
}

/** `check` of `value` within its evaluation budget: past it, a SchemaBudgetError. */
function withinBudget<T>(value: unknown, check: () => T): T {
  budget = MIN_SCHEMA_EVALUATIONS;
  evaluationsLeft = budget;
  uncounted = { value };
  try {
    return check();
  } finally {
    evaluationsLeft = Number.POSITIVE_INFINITY;
    uncounted = undefined;
  }
}

// Once, as this module is loaded (by the first compile).
install();
installBudget();

/**
 * Compiles `schema`, registered under `uri` in `dialect` for the compile only (the caller holds the
 * registry: one schema at a time): the validator, which answers the BASIC output.
 */
export async function compileRegistered(
  schema: JsonSchema,
  uri: string,
  dialect: string,
): Promise<(value: unknown) => BasicOutput> {
  registerSchema(schema as Parameters<typeof registerSchema>[0], uri, dialect);
  try {
    const validator = await validate(uri);
    return (value) =>
      withinBudget(value, () => validator(value as Parameters<typeof validator>[0], BASIC) as BasicOutput);
  } finally {
    unregisterSchema(uri);
  }
}
