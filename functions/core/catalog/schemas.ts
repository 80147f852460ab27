/**
 * JSON Schema (2020-12) for Skill inputs and outputs, each schema compiled in isolation.
 *
 * The validator is @hyperjump/json-schema (it passes every required case of the official 2020-12
 * suite that does not need a remote document; see docs/decisions/skill-schemas.md and
 * bench/RESULTS.md). Its schema registry is process-wide, so a compile holds a lock, registers the
 * schema under a fresh URN, compiles it and unregisters it before the next compile starts: no
 * `$id`, anchor or compiled resource of one Skill is ever visible to another Skill or tenant, and a
 * schema can be compiled any number of times (first save, cache eviction, a new process).
 *
 * - Remote references are refused at save: nothing is ever fetched (the http and https retrieval
 *   plugins are removed), and a reference to a document the schema does not embed is a 422 naming it.
 *   The 2020-12 meta-schemas are bundled and may be referenced.
 * - `pattern`, `patternProperties` and `additionalProperties` match with RE2 semantics in linear
 *   time (patterns.ts); a pattern the engine cannot run is a 422 at save.
 * - `format` is an annotation (the 2020-12 default): it is never asserted.
 * - Values are validated through `numericView`: big integers and extreme floats kept losslessly are
 *   compared as their nearest double; keys are own properties (`required: ["toString"]` needs an own
 *   `toString`).
 */
import { type FieldIssue, ValidationError } from '../errors.ts';
import { isJsonObject, numericView } from '../json.ts';
import type { UnsupportedPatternError } from './patterns.ts';

/** Largest schema accepted (serialised JSON bytes). */
export const MAX_SCHEMA_BYTES = 64 * 1024;
/** Compiled validators kept per process (least recently used are dropped first). */
export const CACHE_LIMIT = 500;
/** Problems reported per validation. */
const MAX_ISSUES = 20;
export const DIALECT = 'https://json-schema.org/draft/2020-12/schema';

export type JsonSchema = Record<string, unknown> | boolean;

export interface OutputUnit {
  readonly keyword: string;
  readonly absoluteKeywordLocation: string;
  readonly instanceLocation: string;
}

/** A validation's result in the BASIC output format. */
export interface BasicOutput {
  readonly valid: boolean;
  readonly errors?: OutputUnit[];
}

export interface CompiledSchema {
  /** Problems of `value` (empty when valid), paths prefixed with `prefix` (e.g. `input.`). */
  issues(value: unknown, prefix: string): FieldIssue[];
  /** Whether checking `value` takes more subschema evaluations than its budget (schema-engine.ts). */
  tooCostly(value: unknown): boolean;
}

/**
 * Values a schema is checked against when it is saved: one of each JSON type. A schema whose
 * references and combinators fan out exponentially costs its whole budget on any of them, and is
 * refused then rather than at every run; a costly branch only a particular value reaches is caught by
 * the budget when that value comes.
 */
const PROBES: readonly unknown[] = [null, true, 0, '', [], {}];

/**
 * The validator itself (schema-engine.ts: @hyperjump/json-schema, the RE2 engine), loaded by the
 * first compile: building its URI grammar, dialects and RE2's tables takes ~20 ms, and a function
 * instance that never validates (most requests of the APIs, a lifecycle scan) never pays it.
 */
let engine: Promise<typeof import('./schema-engine.ts')> | undefined;
let sequence = 0;
let lock: Promise<unknown> = Promise.resolve();

/** Runs `task` after every compile started before it: one schema in the registry at a time. */
function serialised<T>(task: () => Promise<T>): Promise<T> {
  const run = lock.then(task);
  lock = run.catch(() => undefined);
  return run;
}

const FILE_SCHEME = 'file:';
const REBASED_SCHEME = 'execfabric-file:';

/**
 * The registry refuses `file:` base URIs. Identifiers and references inside one schema only have to
 * agree with each other, so every `file:` URI in `$id`, `$ref` and `$dynamicRef` moves, consistently,
 * to a scheme of our own with the same path.
 */
function rebaseFileUris(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(rebaseFileUris);
  if (!isJsonObject(value)) return value;
  const copy: Record<string, unknown> = {};
  for (const [key, child] of Object.entries(value)) {
    const rebased =
      (key === '$id' || key === '$ref' || key === '$dynamicRef') &&
      typeof child === 'string' &&
      child.startsWith(FILE_SCHEME)
        ? `${REBASED_SCHEME}${child.slice(FILE_SCHEME.length)}`
        : rebaseFileUris(child);
    Object.defineProperty(copy, key, {
      value: rebased,
      enumerable: true,
      writable: true,
      configurable: true,
    });
  }
  return copy;
}

/** The keyword's value in the root resource of `schema`, by its absolute location; undefined elsewhere. */
function keywordValue(schema: JsonSchema, baseUri: string, location: string): unknown {
  if (!location.startsWith(`${baseUri}#`)) return undefined;
  return at(schema, location.slice(baseUri.length + 1));
}

/** The value at a JSON pointer (URI fragment form), or undefined. */
function at(document: unknown, pointer: string): unknown {
  if (pointer === '') return document;
  let current: unknown = document;
  for (const raw of pointer.slice(1).split('/')) {
    let token: string;
    try {
      token = decodeURIComponent(raw).replace(/~1/g, '/').replace(/~0/g, '~');
    } catch {
      return undefined;
    }
    if (Array.isArray(current)) current = current[Number(token)];
    else if (isJsonObject(current) && Object.hasOwn(current, token)) current = current[token];
    else return undefined;
  }
  return current;
}

function pathOf(prefix: string, pointer: string): string {
  const tokens = pointer === '' ? [] : pointer.slice(1).split('/');
  const decoded = tokens.map((raw) => {
    try {
      return decodeURIComponent(raw).replace(/~1/g, '/').replace(/~0/g, '~');
    } catch {
      return raw;
    }
  });
  return decoded.length === 0 ? prefix.replace(/\.$/, '') : `${prefix}${decoded.join('.')}`;
}

function lastToken(location: string): string {
  const fragment = location.slice(location.indexOf('#') + 1);
  const tokens = fragment.split('/');
  return tokens[tokens.length - 1] ?? '';
}

const SHORT = 100;
function show(value: unknown): string {
  const text = JSON.stringify(value) ?? String(value);
  return text.length > SHORT ? `${text.slice(0, SHORT)}…` : text;
}

/** Human messages in the wording clients already know (`must have required property 'b'`). */
function describe(unit: OutputUnit, schema: JsonSchema, baseUri: string, value: unknown, prefix: string) {
  const pointer = unit.instanceLocation.replace(/^#/, '');
  const path = pathOf(prefix, pointer);
  const keyword = unit.keyword.slice(unit.keyword.lastIndexOf('/') + 1);
  const given = keywordValue(schema, baseUri, unit.absoluteKeywordLocation);
  const instance = at(value, pointer);
  if (keyword === 'validate') {
    // A subschema that is `false`: a property that is not allowed, or a value that is not.
    const parent = pointer.slice(0, pointer.lastIndexOf('/'));
    const property = pathOf('', pointer).split('.').pop() ?? '';
    const owner = lastToken(unit.absoluteKeywordLocation);
    if (owner === 'additionalProperties' || owner === 'unevaluatedProperties') {
      return [{ path: pathOf(prefix, parent), message: `must not have the property '${property}'` }];
    }
    return [{ path, message: 'is not allowed here' }];
  }
  switch (keyword) {
    case 'required': {
      const names = Array.isArray(given) ? given.map(String) : [];
      const missing = isJsonObject(instance) ? names.filter((name) => !Object.hasOwn(instance, name)) : [];
      if (missing.length === 0) return [{ path, message: 'is missing a required property' }];
      return missing.map((name) => ({ path, message: `must have required property '${name}'` }));
    }
    case 'type':
      return [
        {
          path,
          message: `must be ${Array.isArray(given) ? given.join(' or ') : String(given ?? 'of another type')}`,
        },
      ];
    case 'minimum':
      return [{ path, message: `must be >= ${show(given)}` }];
    case 'maximum':
      return [{ path, message: `must be <= ${show(given)}` }];
    case 'exclusiveMinimum':
      return [{ path, message: `must be > ${show(given)}` }];
    case 'exclusiveMaximum':
      return [{ path, message: `must be < ${show(given)}` }];
    case 'multipleOf':
      return [{ path, message: `must be a multiple of ${show(given)}` }];
    case 'minLength':
      return [{ path, message: `must NOT have fewer than ${show(given)} characters` }];
    case 'maxLength':
      return [{ path, message: `must NOT have more than ${show(given)} characters` }];
    case 'pattern':
      return [{ path, message: `must match pattern ${show(given)}` }];
    case 'enum':
      return [{ path, message: 'must be equal to one of the allowed values' }];
    case 'const':
      return [{ path, message: 'must be equal to the constant' }];
    case 'minItems':
      return [{ path, message: `must NOT have fewer than ${show(given)} items` }];
    case 'maxItems':
      return [{ path, message: `must NOT have more than ${show(given)} items` }];
    case 'uniqueItems':
      return [{ path, message: 'must NOT have duplicate items' }];
    case 'minProperties':
      return [{ path, message: `must NOT have fewer than ${show(given)} properties` }];
    case 'maxProperties':
      return [{ path, message: `must NOT have more than ${show(given)} properties` }];
    default:
      return [{ path, message: `must satisfy ${keyword}${given === undefined ? '' : ` ${show(given)}`}` }];
  }
}

function schemaError(field: string, message: string, issues: FieldIssue[]): ValidationError {
  return new ValidationError(`${field} ${message}`, issues.length > 0 ? issues : [{ path: field, message }]);
}

/** Turns a compile failure into the 422 that says what to change. */
function compileFailure(error: unknown, field: string): ValidationError {
  // By name: patterns.ts (and its RE2 engine) is loaded with the validator, not with this module.
  if ((error as Error | undefined)?.name === 'UnsupportedPatternError') {
    return schemaError(field, 'has a pattern the platform cannot run', [
      { path: field, message: (error as UnsupportedPatternError).message },
    ]);
  }
  const message = (error as Error | undefined)?.message ?? String(error);
  if ((error as Error | undefined)?.name === 'InvalidSchemaError') {
    const output = (error as { output?: { errors?: OutputUnit[] } }).output;
    const issues = (output?.errors ?? []).slice(0, MAX_ISSUES).map((unit) => ({
      path: pathOf(`${field}.`, unit.instanceLocation.replace(/^#/, '')),
      message: `does not satisfy the meta-schema (${unit.keyword.slice(unit.keyword.lastIndexOf('/') + 1)})`,
    }));
    return schemaError(field, 'is not a valid JSON Schema 2020-12', issues);
  }
  const unresolved = /Unable to load resource '([^']*)'/.exec(message);
  if (unresolved !== null) {
    const target = (unresolved[1] ?? '').replace(REBASED_SCHEME, FILE_SCHEME);
    return schemaError(field, 'refers to a schema it does not contain', [
      {
        path: field,
        message: `the reference ${JSON.stringify(target)} is not inside the schema: remote references are not allowed; define it under $defs`,
      },
    ]);
  }
  return schemaError(field, 'cannot be compiled', [{ path: field, message: message.slice(0, 500) }]);
}

/** Compiles a schema on its own (see the module header); a ValidationError on `field` when it cannot. */
export async function compileSchema(schema: JsonSchema, field = 'schema'): Promise<CompiledSchema> {
  engine ??= import('./schema-engine.ts');
  const { compileRegistered } = await engine;
  // Keywords compare with doubles: a number kept losslessly counts as its nearest double here.
  const prepared = rebaseFileUris(numericView(schema)) as JsonSchema;
  const uri = `urn:execfabric:schema:${process.pid}:${++sequence}`;
  const validator = await serialised(async () => {
    try {
      return await compileRegistered(prepared, uri, DIALECT);
    } catch (error) {
      throw compileFailure(error, field);
    }
  });
  const rootId = isJsonObject(prepared) && typeof prepared.$id === 'string' ? prepared.$id : undefined;
  return {
    tooCostly(value) {
      try {
        validator(numericView(value));
        return false;
      } catch (error) {
        return (error as Error).name === 'SchemaBudgetError';
      }
    },
    issues(value, prefix) {
      const view = numericView(value);
      let output: BasicOutput;
      try {
        output = validator(view);
      } catch (error) {
        // A schema that compiled but cannot evaluate this value: the value is refused, saying why.
        return [
          {
            path: prefix.replace(/\.$/, ''),
            message: `cannot be validated against this schema: ${String((error as Error).message).slice(0, 300)}`,
          },
        ];
      }
      if (output.valid) return [];
      const units = output.errors ?? [];
      const issues: FieldIssue[] = [];
      for (const unit of units) {
        const base = rootId !== undefined && unit.absoluteKeywordLocation.startsWith(rootId) ? rootId : uri;
        issues.push(...describe(unit, prepared, base, view, prefix));
        if (issues.length >= MAX_ISSUES) break;
      }
      return issues.length > 0
        ? issues.slice(0, MAX_ISSUES)
        : [{ path: prefix.replace(/\.$/, ''), message: 'is invalid' }];
    },
  };
}

/** Throws a ValidationError unless `schema` is a valid, compilable JSON Schema 2020-12 we accept. */
export async function assertValidSchema(schema: unknown, field: string): Promise<JsonSchema> {
  if (typeof schema !== 'boolean' && !isJsonObject(schema)) {
    throw new ValidationError(`${field} must be a JSON Schema object`, [
      { path: field, message: 'must be an object' },
    ]);
  }
  if (Buffer.byteLength(JSON.stringify(schema), 'utf8') > MAX_SCHEMA_BYTES) {
    throw new ValidationError(`${field} is too large`, [
      { path: field, message: `at most ${MAX_SCHEMA_BYTES} bytes` },
    ]);
  }
  const dialect = typeof schema === 'object' ? schema.$schema : undefined;
  if (dialect !== undefined && dialect !== DIALECT && dialect !== `${DIALECT}#`) {
    throw new ValidationError(`${field} must use JSON Schema 2020-12`, [
      { path: `${field}.$schema`, message: `must be ${DIALECT} or absent` },
    ]);
  }
  const compiled = await compileSchema(schema, field);
  if (PROBES.some((probe) => compiled.tooCostly(probe))) {
    throw new ValidationError(`${field} is too costly to check`, [
      {
        path: field,
        message:
          "checking even an empty value against it exceeds the validator's budget of subschema evaluations (references or allOf, anyOf, oneOf, if/then that fan out at each level): simplify the schema",
      },
    ]);
  }
  return schema;
}

/** Compiled validators by key (e.g. `<tenant>/<skill>@<revision>/in`), least recently used dropped first. */
const cache = new Map<string, Promise<CompiledSchema>>();

export function validatorFor(cacheKey: string, schema: JsonSchema): Promise<CompiledSchema> {
  const cached = cache.get(cacheKey);
  if (cached !== undefined) {
    cache.delete(cacheKey);
    cache.set(cacheKey, cached);
    return cached;
  }
  const compiled = compileSchema(schema);
  // A failed compile is not kept: the next call tries again.
  compiled.catch(() => cache.delete(cacheKey));
  cache.set(cacheKey, compiled);
  while (cache.size > CACHE_LIMIT) {
    const oldest = cache.keys().next();
    if (oldest.done === true) break;
    cache.delete(oldest.value);
  }
  return compiled;
}

/** Drops every compiled validator (tests: behaviour after eviction). */
export function clearSchemaCache(): void {
  cache.clear();
}

/** Validates `value`; returns the problems (empty when valid). */
export async function schemaIssues(
  cacheKey: string,
  schema: JsonSchema,
  value: unknown,
  prefix: string,
): Promise<FieldIssue[]> {
  return (await validatorFor(cacheKey, schema)).issues(value, prefix);
}
