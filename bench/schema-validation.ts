/**
 * Validation time of the worst `pattern` against a plain one, through the platform's schema code
 * (RE2 semantics, re2js), and the same catastrophic pattern on the native backtracking engine as
 * the baseline it replaces (`^(a+)+$` on 30 characters took 8.5 s on the old validator). Interleaved
 * rounds after a warm-up, in one process. The native baseline runs once, on a shorter input, so the
 * benchmark ends.
 *
 *   npx tsx bench/schema-validation.ts [rounds]
 */
import { cpus, loadavg, totalmem } from 'node:os';
import { compileSchema } from '../functions/core/catalog/schemas.ts';

const ROUNDS = Number(process.argv[2] ?? '2000');
const WARMUP = Math.min(200, Math.ceil(ROUNDS / 4));

function percentile(sorted: readonly number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? Number.NaN;
}
function summary(samples: readonly number[]) {
  const sorted = [...samples].sort((a, b) => a - b);
  return { p50: percentile(sorted, 50), p99: percentile(sorted, 99) };
}

const worst = await compileSchema({
  type: 'object',
  properties: { s: { type: 'string', pattern: '^(a+)+$' } },
});
const plain = await compileSchema({ type: 'object', properties: { s: { type: 'string', pattern: '^a+$' } } });
const inputs = [30, 1000, 60_000].map((length) => ({ length, value: { s: `${'a'.repeat(length)}!` } }));

const samples = new Map<string, number[]>();
for (let round = 0; round < WARMUP + ROUNDS; round++) {
  for (const { length, value } of inputs) {
    for (const [name, validator] of [
      ['worst', worst],
      ['plain', plain],
    ] as const) {
      const started = performance.now();
      const issues = validator.issues(value, 'input.');
      const elapsed = performance.now() - started;
      if (issues.length !== 1) throw new Error(`${name} accepted a non-matching value`);
      if (round >= WARMUP) {
        const key = `${name}/${length}`;
        samples.set(key, [...(samples.get(key) ?? []), elapsed]);
      }
    }
  }
}

// The baseline: the same pattern on V8's backtracking RegExp, once, on 26 characters (each added
// character doubles the time).
const native = /^(a+)+$/;
const nativeStarted = performance.now();
native.test(`${'a'.repeat(26)}!`);
const nativeMs = performance.now() - nativeStarted;

console.log(
  `Recorded ${new Date().toISOString()} by \`npx tsx bench/schema-validation.ts ${ROUNDS}\` on ${cpus().length} CPUs (${cpus()[0]?.model.trim()}), ${(totalmem() / 2 ** 30).toFixed(1)} GiB, load ${loadavg()
    .map((value) => value.toFixed(2))
    .join(' ')}, Node ${process.version}.`,
);
console.log('| input (`s`) | pattern | samples | p50 ms | p99 ms |');
console.log('| --- | --- | ---: | ---: | ---: |');
for (const { length } of inputs) {
  for (const name of ['worst', 'plain'] as const) {
    const figures = summary(samples.get(`${name}/${length}`) ?? []);
    const pattern = name === 'worst' ? '`^(a+)+$`' : '`^a+$`';
    console.log(
      `| ${length} × "a" + "!" | ${pattern} | ${ROUNDS} | ${figures.p50.toFixed(4)} | ${figures.p99.toFixed(4)} |`,
    );
  }
}
for (const { length } of inputs) {
  const ratio =
    summary(samples.get(`worst/${length}`) ?? []).p50 / summary(samples.get(`plain/${length}`) ?? []).p50;
  console.log(`worst / plain at p50, ${length} characters: ${ratio.toFixed(2)}×`);
}
console.log(`baseline: native RegExp \`^(a+)+$\` on 26 × "a" + "!": ${nativeMs.toFixed(0)} ms (one run)`);
