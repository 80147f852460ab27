#!/usr/bin/env node
// Installs what the tests need from outside npm, only where it is missing: pytest for the Python
// runtime's tests and Debian's Chromium for the browser tests. Uses Debian's packages (the only
// registry besides npm these machines reach); needs root for apt-get, and says what to do otherwise.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';

const missing = [];

function pythonHasPytest() {
  for (const python of ['python3', '/usr/bin/python3']) {
    const probe = spawnSync(python, ['-c', 'import pytest'], { stdio: 'ignore' });
    if (probe.status === 0) return true;
  }
  return false;
}

if (!pythonHasPytest()) missing.push('python3-pytest');
if (!existsSync('/usr/bin/chromium')) missing.push('chromium');

if (missing.length === 0) process.exit(0);
const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;
if (!isRoot || !existsSync('/usr/bin/apt-get')) {
  process.stderr.write(
    `Missing system packages: ${missing.join(' ')}. Install them with: sudo apt-get install -y ${missing.join(' ')}\n`,
  );
  process.exit(1);
}
process.stdout.write(`Installing ${missing.join(' ')} from Debian's packages…\n`);
execFileSync('apt-get', ['update', '-qq'], { stdio: 'inherit' });
execFileSync('apt-get', ['install', '-y', '-qq', '--no-install-recommends', ...missing], {
  stdio: 'inherit',
  env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
});
