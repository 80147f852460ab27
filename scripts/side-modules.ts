/**
 * `npx tsx scripts/side-modules.ts <asset folder>`: the bundled SDK clients a function's bundle
 * imports, written beside it (lib/aws/side-modules.ts). CDK runs it after bundling each function.
 */
import { resolve } from 'node:path';
import { writeSideModules } from '../lib/aws/side-modules.ts';

const outputDir = process.argv[2];
if (outputDir === undefined) {
  process.stderr.write('usage: tsx scripts/side-modules.ts <asset folder>\n');
  process.exit(2);
}
await writeSideModules(resolve(import.meta.dirname, '..'), resolve(outputDir));
