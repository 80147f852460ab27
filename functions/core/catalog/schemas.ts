/**
 * JSON Schema (2020-12) for Skill inputs and outputs. A schema is checked against the meta-schema
 * and compiled when a Skill is saved; validators are compiled once per Skill revision and cached.
 */
import { Ajv2020, type ErrorObject, type ValidateFunction } from 'ajv/dist/2020.js';
import addFormatsModule from 'ajv-formats';
import { type FieldIssue, ValidationError } from '../errors.ts';

/** Largest schema accepted (serialised JSON bytes). */
export const MAX_SCHEMA_BYTES = 64 * 1024;
const CACHE_LIMIT = 500;
const DIALECT = 'https://json-schema.org/draft/2020-12/schema';

const addFormats = addFormatsModule as unknown as (ajv: Ajv2020) => Ajv2020;

function createAjv(): Ajv2020 {
  const ajv = new Ajv2020({ allErrors: true, strict: false, validateSchema: true, messages: true });
  addFormats(ajv);
  return ajv;
}

const ajv = createAjv();
const cache = new Map<string, ValidateFunction>();

export type JsonSchema = Record<string, unknown> | boolean;

/** `input.` + `/a/0/b` → `input.a.0.b`; the document itself is `input`. */
function issues(errors: readonly ErrorObject[] | null | undefined, prefix: string): FieldIssue[] {
  return (errors ?? []).slice(0, 20).map((error) => {
    const pointer = error.instancePath.replace(/^\//, '').replace(/\//g, '.');
    const extra = (error.params as { additionalProperty?: unknown }).additionalProperty;
    return {
      path: pointer === '' ? prefix.replace(/\.$/, '') : `${prefix}${pointer}`,
      message:
        error.keyword === 'additionalProperties' && typeof extra === 'string'
          ? `must not have the property '${extra}'`
          : (error.message ?? 'is invalid'),
    };
  });
}

/** Throws a ValidationError unless `schema` is a valid, compilable JSON Schema 2020-12. */
export function assertValidSchema(schema: unknown, field: string): asserts schema is JsonSchema {
  if (
    typeof schema !== 'boolean' &&
    (schema === null || typeof schema !== 'object' || Array.isArray(schema))
  ) {
    throw new ValidationError(`${field} must be a JSON Schema object`, [
      { path: field, message: 'must be an object' },
    ]);
  }
  if (Buffer.byteLength(JSON.stringify(schema), 'utf8') > MAX_SCHEMA_BYTES) {
    throw new ValidationError(`${field} is too large`, [
      { path: field, message: `at most ${MAX_SCHEMA_BYTES} bytes` },
    ]);
  }
  const dialect = typeof schema === 'object' ? (schema as Record<string, unknown>).$schema : undefined;
  if (dialect !== undefined && dialect !== DIALECT) {
    throw new ValidationError(`${field} must use JSON Schema 2020-12`, [
      { path: `${field}.$schema`, message: `must be ${DIALECT} or absent` },
    ]);
  }
  if (!ajv.validateSchema(schema)) {
    throw new ValidationError(`${field} is not a valid JSON Schema 2020-12`, issues(ajv.errors, `${field}.`));
  }
  try {
    ajv.compile(schema);
  } catch (cause) {
    throw new ValidationError(`${field} cannot be compiled: ${(cause as Error).message}`, [
      { path: field, message: (cause as Error).message },
    ]);
  }
}

/** The compiled validator for a schema, cached under `cacheKey` (e.g. `<tenant>/<skill>@<revision>/input`). */
export function validatorFor(cacheKey: string, schema: JsonSchema): ValidateFunction {
  let validate = cache.get(cacheKey);
  if (validate === undefined) {
    validate = ajv.compile(schema);
    if (cache.size >= CACHE_LIMIT) {
      const oldest = cache.keys().next();
      if (oldest.done !== true) cache.delete(oldest.value);
    }
    cache.set(cacheKey, validate);
  }
  return validate;
}

/** Validates `value`; returns the problems (empty when valid). */
export function schemaIssues(
  cacheKey: string,
  schema: JsonSchema,
  value: unknown,
  prefix: string,
): FieldIssue[] {
  const validate = validatorFor(cacheKey, schema);
  return validate(value) ? [] : issues(validate.errors, prefix);
}
