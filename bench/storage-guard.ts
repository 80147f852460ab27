/**
 * The storage guard's check per write request (lib/local/storage-guard.ts): wall time and CPU of one
 * `refuse` of a PutItem on a folder with room, against the baseline in the same process — one
 * `statfs` of the folder alone, which is all the check did before it also compared the folder's
 * identity (a synchronous `stat` before the `statfs`).
 *
 *   npx tsx bench/storage-guard.ts [requests = 20000]
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { statfs } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { storageGuard } from '../lib/local/storage-guard.ts';
import { machine } from './support.ts';

const REQUESTS = Number(process.argv[2] ?? '20000');
const where = machine(); // with the load average at the start
const folder = mkdtempSync(join(tmpdir(), 'execfabric-bench-guard-'));
const guard = storageGuard(folder, 1024 * 1024);
const write = { headers: { 'x-amz-target': 'DynamoDB_20120810.PutItem' } } as unknown as IncomingMessage;
const response = {} as ServerResponse; // never answered: the folder has room
if (await guard.refuse(write, response)) throw new Error('the bench folder has no room');

interface Cost {
  readonly wallUs: number;
  readonly cpuUs: number;
}

async function perCall(run: () => Promise<unknown>): Promise<Cost> {
  for (let warm = 0; warm < 1000; warm++) await run();
  const started = process.hrtime.bigint();
  const before = process.cpuUsage();
  for (let index = 0; index < REQUESTS; index++) await run();
  const used = process.cpuUsage(before);
  const wall = Number(process.hrtime.bigint() - started) / 1000;
  return { wallUs: wall / REQUESTS, cpuUs: (used.user + used.system) / REQUESTS };
}

// Alternated, three rounds each, so that warm-up and the machine's load fall on both alike.
const baselines: Cost[] = [];
const guards: Cost[] = [];
try {
  for (let round = 0; round < 3; round++) {
    baselines.push(await perCall(() => statfs(folder)));
    guards.push(await perCall(() => guard.refuse(write, response)));
  }
} finally {
  rmSync(folder, { recursive: true, force: true });
}
const median = (values: number[]) => [...values].sort((a, b) => a - b)[1] ?? Number.NaN;
const row = (label: string, costs: Cost[]) => {
  const wall = costs.map((cost) => cost.wallUs);
  const cpu = costs.map((cost) => cost.cpuUs);
  return `| ${label} | ${median(wall).toFixed(1)} (${wall.map((v) => v.toFixed(1)).join(', ')}) | ${median(cpu).toFixed(1)} (${cpu.map((v) => v.toFixed(1)).join(', ')}) |`;
};
const ratio = (pick: (cost: Cost) => number) =>
  (median(guards.map(pick)) / median(baselines.map(pick))).toFixed(2);
process.stdout.write(
  [
    `Storage guard per write request, ${new Date().toISOString()}, ${where}; ${REQUESTS} requests per round; load average ${loadavg()
      .map((value) => value.toFixed(2))
      .join(' ')} at the end`,
    '',
    '| check | wall µs per request (rounds) | CPU µs per request, whole process (rounds) |',
    '| --- | ---: | ---: |',
    row('baseline: `statfs` of the folder alone (the check before)', baselines),
    row('`storageGuard(…).refuse`: `stat` (sync, identity compared), then `statfs`', guards),
    '',
    `Ratio (medians): wall **${ratio((cost) => cost.wallUs)}×**, CPU **${ratio((cost) => cost.cpuUs)}×** the baseline.`,
  ]
    .join('\n')
    .concat('\n'),
);
