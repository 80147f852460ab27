/**
 * The JSON Schema validator behind schemas.ts, which loads this module on its first compile:
 * @hyperjump/json-schema with its 2020-12 dialect, and the linear-time RE2 engine (patterns.ts) in
 * place of the regex-based keywords. Loading them builds the validator's URI grammar (large RegExps),
 * its dialects and RE2's Unicode tables, ~20 ms of a Lambda function's init (bench/RESULTS.md): a
 * function instance that never compiles a schema never pays it. Everything said of a compile (the
 * registry held by one schema at a time, remote references refused) is in schemas.ts.
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

// Once, as this module is loaded (by the first compile).
install();

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
    return (value) => validator(value as Parameters<typeof validator>[0], BASIC) as BasicOutput;
  } finally {
    unregisterSchema(uri);
  }
}
