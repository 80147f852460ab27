/**
 * `npm run check:cfn-lint` (part of `npm test`, after vitest): lints the template the infra synth
 * test wrote (cdk.out/infra-test/, git-ignored) with cfn-lint, failing on any error, and any other
 * template an infra test left there (the personal-hosts wildcard, test/infra/personal-hosts.test.ts). cfn-lint is a
 * Python tool that a developer's machine may not have; there the check says it skipped, and why,
 * instead of failing — CI machines that have it run it.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
/** Where test/infra/synth.test.ts leaves the synthesized template (keep in step with it). */
const DIR = resolve(root, 'cdk.out', 'infra-test');
const TEMPLATE = resolve(DIR, 'ExecFabric.template.json');

const version = spawnSync('cfn-lint', ['--version'], { encoding: 'utf8' });
if (version.error !== undefined || version.status !== 0) {
  process.stdout.write('cfn-lint check skipped: cfn-lint is not installed on this machine\n');
  process.exit(0);
}
if (!existsSync(TEMPLATE)) {
  process.stderr.write(
    `cfn-lint check: no template at ${TEMPLATE}; run the infra tests first (npx vitest run test/infra/synth.test.ts)\n`,
  );
  process.exit(1);
}
const templates = readdirSync(DIR)
  .filter((name) => name.endsWith('.template.json'))
  .map((name) => resolve(DIR, name));
const lint = spawnSync('cfn-lint', ['--format', 'parseable', ...templates], {
  encoding: 'utf8',
  timeout: 120_000,
});
// cfn-lint's exit code is a bit field: 2 = error, 4 = warning, 8 = informational.
const errors = lint.stdout.split('\n').filter((line) => /:E\d{4}:/.test(line));
if (errors.length > 0 || ((lint.status ?? 2) & 2) !== 0) {
  process.stderr.write(`cfn-lint (${version.stdout.trim()}) found errors:\n${lint.stdout}${lint.stderr}\n`);
  process.exit(1);
}
process.stdout.write(`cfn-lint (${version.stdout.trim()}): no error in ${templates.join(', ')}\n`);
