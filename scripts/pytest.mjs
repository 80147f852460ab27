/**
 * `npm run test:python`: runs the Python runtime suite (test/python) with an interpreter that has
 * pytest — the real one behind `python3` first (resolved once, so a pyenv shim is not paid per run),
 * then the system's. Exits with pytest's code; "no tests collected" (5) counts as a failure.
 */
import { spawnSync } from 'node:child_process';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const NO_TESTS_COLLECTED = 5;

function run(command, args, options = {}) {
  return spawnSync(command, args, { encoding: 'utf8', timeout: 60_000, ...options });
}

function realInterpreter(command) {
  const probe = run(command, ['-c', 'import sys; print(sys.executable)']);
  if (probe.status !== 0) return null;
  const executable = probe.stdout.trim();
  return executable === '' ? null : executable;
}

function hasPytest(python) {
  return run(python, ['-c', 'import pytest']).status === 0;
}

const candidates = [realInterpreter('python3'), '/usr/bin/python3'].filter(
  (python, index, all) => python !== null && all.indexOf(python) === index,
);
const python = candidates.find(hasPytest);
if (python === undefined) {
  console.error(
    [
      `No Python with pytest found (tried: ${candidates.join(', ') || 'none'}).`,
      'Install it from the Debian packages: apt-get install -y python3-pytest',
    ].join('\n'),
  );
  process.exit(1);
}

const args = ['-m', 'pytest', 'test/python', '-q', '-p', 'no:cacheprovider', ...process.argv.slice(2)];
console.log(`${python} ${args.join(' ')}`);
const result = spawnSync(python, args, {
  cwd: root,
  stdio: 'inherit',
  env: { ...process.env, PYTHONDONTWRITEBYTECODE: '1' },
});
if (result.error) {
  console.error(result.error.message);
  process.exit(1);
}
if (result.status === NO_TESTS_COLLECTED) {
  console.error('pytest collected no tests: that is a failure');
  process.exit(1);
}
process.exit(result.status ?? 1);
