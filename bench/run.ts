/**
 * `npm run bench`: runs every benchmark in this folder, one after another (each starts what it
 * measures and prints its own figures and baseline ratio). Pass names to run only some:
 * `npm run bench -- pipeline api-latency`.
 */
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const folder = dirname(fileURLToPath(import.meta.url));
const wanted = new Set(process.argv.slice(2));
const benches = readdirSync(folder)
  .filter((file) => file.endsWith('.ts') && file !== 'run.ts' && file !== 'support.ts')
  .filter((file) => wanted.size === 0 || wanted.has(file.replace(/\.ts$/, '')));

let failed = 0;
for (const file of benches) {
  process.stdout.write(`\n== ${file}\n`);
  const result = spawnSync(process.execPath, ['--import', 'tsx', join(folder, file)], { stdio: 'inherit' });
  if (result.status !== 0) failed++;
}
process.exit(failed === 0 ? 0 : 1);
