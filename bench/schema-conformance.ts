/**
 * Conformance of Skill schemas with the official JSON Schema Test Suite (draft 2020-12), measured
 * through the platform's own code (`assertValidSchema` at save, then the cached validator), never a
 * copy of the suite in this repository:
 *
 *   git clone https://github.com/json-schema-org/JSON-Schema-Test-Suite /tmp/suite
 *   JSON_SCHEMA_TEST_SUITE=/tmp/suite npx tsx bench/schema-conformance.ts [--optional]
 *
 * For every required file of tests/draft2020-12 it prints pass / fail / not applicable, overall and
 * for the cases whose instance is an object (what a run input always is). A group is not applicable
 * when its schema is refused at save by design (a remote reference, another dialect's meta-schema);
 * its cases are counted there, with the reason. Each schema is validated three times — from the
 * first save, after the validator cache was emptied (eviction), and compiled again after every
 * other schema of the suite (what a restart does) — and a case passes only if all three agree.
 * Exits non-zero when any case fails.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  assertValidSchema,
  clearSchemaCache,
  compileSchema,
  type JsonSchema,
  validatorFor,
} from '../functions/core/catalog/schemas.ts';
import { ValidationError } from '../functions/core/errors.ts';
import { isJsonObject, parseJson } from '../functions/core/json.ts';

interface Case {
  readonly description: string;
  readonly data: unknown;
  readonly valid: boolean;
}
interface Group {
  readonly description: string;
  readonly schema: JsonSchema;
  readonly tests: readonly Case[];
}
interface Tally {
  pass: number;
  fail: number;
  na: number;
  objectPass: number;
  objectFail: number;
  objectNa: number;
}

const root = process.env.JSON_SCHEMA_TEST_SUITE;
if (root === undefined || root === '') {
  console.log('skipped: set JSON_SCHEMA_TEST_SUITE to a checkout of json-schema-org/JSON-Schema-Test-Suite');
  process.exit(0);
}
const optional = process.argv.includes('--optional');
const folder = join(root, 'tests', 'draft2020-12', ...(optional ? ['optional'] : []));

const tally = (): Tally => ({ pass: 0, fail: 0, na: 0, objectPass: 0, objectFail: 0, objectNa: 0 });
const total = tally();
const failures: string[] = [];
const notApplicable = new Map<string, number>();
const saved: { key: string; schema: JsonSchema; group: Group; file: string }[] = [];

function count(row: Tally, kind: 'pass' | 'fail' | 'na', isObject: boolean): void {
  row[kind]++;
  total[kind]++;
  const objectKind = kind === 'pass' ? 'objectPass' : kind === 'fail' ? 'objectFail' : 'objectNa';
  if (isObject) {
    row[objectKind]++;
    total[objectKind]++;
  }
}

const started = performance.now();
const rows: [string, Tally][] = [];
for (const file of readdirSync(folder)
  .filter((name) => name.endsWith('.json'))
  .sort()) {
  const row = tally();
  rows.push([file, row]);
  // Read losslessly, as the API reads a request body.
  const groups = parseJson(readFileSync(join(folder, file), 'utf8')) as Group[];
  for (const [index, group] of groups.entries()) {
    const key = `suite/${file}/${index}`;
    try {
      await assertValidSchema(group.schema, 'inputSchema');
    } catch (error) {
      if (!(error instanceof ValidationError)) throw error;
      const reason = `${error.message}: ${error.issues[0]?.message ?? ''}`.slice(0, 160);
      notApplicable.set(reason, (notApplicable.get(reason) ?? 0) + group.tests.length);
      for (const test of group.tests) count(row, 'na', isJsonObject(test.data));
      continue;
    }
    saved.push({ key, schema: group.schema, group, file });
    const first = await validatorFor(key, group.schema);
    clearSchemaCache();
    const evicted = await validatorFor(key, group.schema);
    for (const test of group.tests) {
      const answers = [first, evicted].map((validator) => validator.issues(test.data, 'input.').length === 0);
      const ok = answers.every((answer) => answer === test.valid);
      count(row, ok ? 'pass' : 'fail', isJsonObject(test.data));
      if (!ok)
        failures.push(`${file} | ${group.description} | ${test.description} | got ${answers.join('/')}`);
    }
  }
}
// "Restart": every schema compiled again, after all the others, in a fresh cache.
clearSchemaCache();
let restartDisagreements = 0;
for (const { schema, group, file } of saved) {
  const validator = await compileSchema(schema);
  for (const test of group.tests) {
    if ((validator.issues(test.data, 'input.').length === 0) !== test.valid) {
      restartDisagreements++;
      failures.push(`${file} | ${group.description} | ${test.description} | differs after recompiling`);
    }
  }
}
const elapsed = performance.now() - started;

const pad = (text: string, width: number) => text.padEnd(width);
console.log(`JSON Schema Test Suite, tests/draft2020-12${optional ? '/optional' : ''} (${folder})`);
console.log(`${pad('file', 32)} pass  fail    na | object inputs: pass fail   na`);
for (const [file, row] of rows) {
  console.log(
    `${pad(file, 32)} ${String(row.pass).padStart(4)} ${String(row.fail).padStart(5)} ${String(row.na).padStart(5)} |                ${String(row.objectPass).padStart(4)} ${String(row.objectFail).padStart(4)} ${String(row.objectNa).padStart(4)}`,
  );
}
console.log(
  `${pad('TOTAL', 32)} ${String(total.pass).padStart(4)} ${String(total.fail).padStart(5)} ${String(total.na).padStart(5)} |                ${String(total.objectPass).padStart(4)} ${String(total.objectFail).padStart(4)} ${String(total.objectNa).padStart(4)}`,
);
console.log(
  `recompiled after the whole suite: ${restartDisagreements} disagreements; ${elapsed.toFixed(0)} ms`,
);
console.log('not applicable (refused at save by design):');
for (const [reason, cases] of notApplicable) console.log(`  ${cases} cases — ${reason}`);
if (failures.length > 0) {
  console.log('failures:');
  for (const failure of failures) console.log(`  ${failure}`);
}
process.exit(failures.length > 0 && !optional ? 1 : 0);
