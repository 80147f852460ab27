#!/usr/bin/env node
// The `execfabric` command (package.json `bin`). In a clone it runs the TypeScript entry
// (bin/execfabric.ts) through tsx; installed from a package (`npm pack`, `npm install -g`) it runs
// the bundle `prepack` built, which needs nothing but Node. See docs/decisions/cli.md.
import { existsSync } from 'node:fs';

const [major] = process.versions.node.split('.').map(Number);
if (major < 22) {
  process.stderr.write(`execfabric needs Node.js 22 or later; this is ${process.version}\n`);
  process.exit(1);
}
const source = new URL('./execfabric.ts', import.meta.url);
if (existsSync(source)) {
  const { register } = await import('tsx/esm/api');
  register();
  await import(source.href);
} else {
  await import(new URL('../dist/cli/execfabric.mjs', import.meta.url).href);
}
