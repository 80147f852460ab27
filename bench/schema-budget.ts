/**
 * What a schema that fans out costs now that each validation has a budget of subschema evaluations
 * (catalog/schema-engine.ts): the fan-out (N levels of `$defs`, each an `allOf` of two references to
 * the next, 2^(N+1) evaluations of any value: N = 40 would run for days) refused at its budget,
 * against, in the same process, a plain schema checking the largest output a run may record (256 KiB
 * of small typed objects, inside its budget) and a plain schema on a one-field value (the baseline).
 * Interleaved rounds after a warm-up; p50 and p99.
 *
 *   npx tsx bench/schema-budget.ts [rounds]
 */
import { cpus, loadavg, totalmem } from 'node:os';
import { MIN_SCHEMA_EVALUATIONS } from '../functions/core/catalog/schema-engine.ts';
import { compileSchema } from '../functions/core/catalog/schemas.ts';
import { fanOut } from '../test/support/fan-out.ts';

const ROUNDS = Number(process.argv[2] ?? '60');
const WARMUP = Math.min(10, Math.ceil(ROUNDS / 4));

function percentile(sorted: readonly number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? Number.NaN;
}

const rows = Array.from({ length: 8000 }, (_, index) => ({ a: index, b: 'xx', c: true }));
const cases = [
  {
    name: 'fan-out, 40 levels, `{ "x": 1 }` (refused at the budget)',
    schema: { type: 'object', properties: { x: { $ref: '#/$defs/d0' } }, $defs: fanOut(40) },
    value: { x: 1 },
    refused: true,
  },
  {
    name: 'fan-out, 40 levels, failing leaf (refused at the budget)',
    schema: {
      type: 'object',
      properties: { x: { $ref: '#/$defs/d0' } },
      $defs: fanOut(40, { type: 'string' }),
    },
    value: { x: 1 },
    refused: true,
  },
  {
    name: `typed rows, 8,000 objects (${JSON.stringify(rows).length} bytes)`,
    schema: {
      type: 'array',
      items: {
        type: 'object',
        properties: { a: { type: 'number' }, b: { type: 'string' }, c: { type: 'boolean' } },
        required: ['a'],
      },
    },
    value: rows,
    refused: false,
  },
  {
    name: 'baseline: one typed field, `{ "x": 1 }`',
    schema: { type: 'object', properties: { x: { type: 'integer' } } },
    value: { x: 1 },
    refused: false,
  },
] as const;

const compiled = await Promise.all(cases.map((entry) => compileSchema(entry.schema)));
const samples = cases.map(() => [] as number[]);
for (let round = 0; round < WARMUP + ROUNDS; round++) {
  cases.forEach((entry, index) => {
    const started = performance.now();
    const issues = compiled[index]?.issues(entry.value, 'input.') ?? [];
    const elapsed = performance.now() - started;
    const refused = issues.some((issue) => issue.message.includes('subschema evaluations'));
    if (refused !== entry.refused) throw new Error(`${entry.name}: refused ${refused}`);
    if (round >= WARMUP) samples[index]?.push(elapsed);
  });
}

console.log(
  `Recorded ${new Date().toISOString()} by \`npx tsx bench/schema-budget.ts ${ROUNDS}\` on ${cpus().length} CPUs (${cpus()[0]?.model.trim()}), ${(totalmem() / 2 ** 30).toFixed(1)} GiB, load ${loadavg()
    .map((value) => value.toFixed(2))
    .join(' ')}, Node ${process.version}; budget: 16 evaluations a node, at least ${MIN_SCHEMA_EVALUATIONS}.`,
);
console.log('| schema and value | samples | p50 ms | p99 ms | p50 / baseline |');
console.log('| --- | ---: | ---: | ---: | ---: |');
const baseline = percentile(
  [...(samples[cases.length - 1] ?? [])].sort((a, b) => a - b),
  50,
);
cases.forEach((entry, index) => {
  const sorted = [...(samples[index] ?? [])].sort((a, b) => a - b);
  const p50 = percentile(sorted, 50);
  console.log(
    `| ${entry.name} | ${sorted.length} | ${p50.toFixed(3)} | ${percentile(sorted, 99).toFixed(3)} | ${(p50 / baseline).toFixed(0)}× |`,
  );
});
