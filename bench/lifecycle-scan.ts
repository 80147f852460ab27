/**
 * Lifecycle scans against 10,000 tenants of which 53 are due: items each scan reads (counted from
 * every DynamoDB answer, with `ReturnConsumedCapacity: TOTAL` for read units) and its duration, next
 * to the two ways of finding the same tenants without the GSI2 lifecycle index, in the same run:
 * a full-table Scan and reading every tenant through the GSI1 listing.
 *
 * Tenants are written through the core's own services into an in-memory dynalite. The 9,947 tenants
 * not due expire later, so a read beyond the 53 is overhead. Three of the due tenants expired 400
 * days before the first run (the old day-bucket window reached 31 days back and never found them).
 * "Daily run" is the run after yesterday's. A scan's time includes the writes of what it changes
 * (announcement, ledger entry, audit entries, status); the "index reads alone" rows time only the
 * reads a daily run makes, to compare with the baselines.
 *
 *   npx tsx bench/lifecycle-scan.ts [tenants]
 */
import { cpus, loadavg, totalmem } from 'node:os';
import { type AttributeValue, ScanCommand } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, QueryCommand } from '@aws-sdk/lib-dynamodb';
import { AuditLog } from '../functions/core/audit/chain.ts';
import type { Table } from '../functions/core/db.ts';
import {
  addDays,
  DAY_MS,
  dayOf,
  GRACE_PERIOD_DAYS,
  reminderRanges,
} from '../functions/core/governance/dates.ts';
import { BindingOnlyHostEdge } from '../functions/core/governance/edge.ts';
import { createGovernance } from '../functions/core/governance/index.ts';
import type { ScanResult } from '../functions/core/governance/lifecycle.ts';
import { TENANT_LISTING } from '../functions/core/keys.ts';
import type { TenantStatus } from '../functions/core/tenancy/domain.ts';
import { startLocalServices } from '../lib/local/services.ts';

const TENANTS = Number(process.argv[2] ?? '10000');
const CONCURRENCY = 16;
const HOUR_MS = 3_600_000;
/** The daily run under test: 01:00 UTC, as the renewal-reminder schedule fires. */
const NOW = new Date('2031-03-10T01:00:00.000Z');
const YESTERDAY = new Date(NOW.getTime() - DAY_MS);

interface Reads {
  requests: number;
  items: number;
  scanned: number;
  capacity: number;
}

const reads: Reads = { requests: 0, items: 0, scanned: 0, capacity: 0 };
const READS = new Set(['QueryCommand', 'ScanCommand', 'GetItemCommand']);

function resetReads(): void {
  Object.assign(reads, { requests: 0, items: 0, scanned: 0, capacity: 0 });
}

const services = await startLocalServices({ dataDir: null, visibilityTimeoutSeconds: null });
const client = DynamoDBDocumentClient.from(services.dynamodb, {
  marshallOptions: { removeUndefinedValues: true, convertClassInstanceToMap: false },
});
// Count every read at the SDK's own middleware: items returned, items evaluated, read units.
client.middlewareStack.add(
  (next, context) => async (args) => {
    const name = String(context.commandName);
    if (!READS.has(name)) return next(args);
    (args.input as { ReturnConsumedCapacity?: string }).ReturnConsumedCapacity = 'TOTAL';
    const result = await next(args);
    const output = result.output as {
      Count?: number;
      ScannedCount?: number;
      Item?: unknown;
      ConsumedCapacity?: { CapacityUnits?: number };
    };
    reads.requests++;
    const items = output.Count ?? (output.Item === undefined ? 0 : 1);
    reads.items += items;
    reads.scanned += output.ScannedCount ?? items;
    reads.capacity += output.ConsumedCapacity?.CapacityUnits ?? 0;
    return result;
  },
  { step: 'initialize', name: 'countReads' },
);
const table: Table = { client, name: services.tableName };
const governance = createGovernance({
  table,
  audit: new AuditLog({ table, now: () => NOW }),
  hostEdge: new BindingOnlyHostEdge(),
  now: () => NOW,
});

interface Planned {
  readonly expiresAt: number;
  readonly status: TenantStatus;
  readonly due: string;
}

/** The 53 due: 35 reminders (15 × 30 d, 10 × 7 d, 10 × 1 d), 10 into grace, 5 + 3 suspended. */
function plan(): Planned[] {
  const planned: Planned[] = [];
  const add = (count: number, expiresAt: number, status: TenantStatus, due: string) => {
    for (let i = 0; i < count; i++) planned.push({ expiresAt: expiresAt + i * 60_000, status, due });
  };
  add(15, NOW.getTime() + 30 * DAY_MS - HOUR_MS, 'active', 'reminder-30d');
  add(10, NOW.getTime() + 7 * DAY_MS - HOUR_MS, 'active', 'reminder-7d');
  add(10, NOW.getTime() + DAY_MS - HOUR_MS, 'trial', 'reminder-1d');
  add(10, NOW.getTime() - 2 * HOUR_MS, 'active', 'grace');
  add(5, NOW.getTime() - GRACE_PERIOD_DAYS * DAY_MS - 2 * HOUR_MS, 'grace', 'suspended');
  add(3, NOW.getTime() - 400 * DAY_MS, 'active', 'suspended');
  // The rest expire over the following year, on days no window of this run maps to.
  const firstFree = Date.parse(`${addDays('2031-03-10', 36)}T12:00:00.000Z`);
  for (let i = planned.length; i < TENANTS; i++) {
    planned.push({ expiresAt: firstFree + (i % 365) * DAY_MS, status: 'active', due: '' });
  }
  return planned;
}

async function writeTenants(planned: readonly Planned[]): Promise<number> {
  const started = performance.now();
  let next = 0;
  const worker = async () => {
    for (let index = next++; index < planned.length; index = next++) {
      const tenant = planned[index] as Planned;
      const id = `bench-${String(index).padStart(5, '0')}`;
      await governance.registry.create({
        id,
        name: `Bench ${index}`,
        plan: 'standard',
        hosts: [`${id}.bench.example`],
        expiresAt: new Date(tenant.expiresAt).toISOString(),
        status: tenant.status,
      });
    }
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
  return performance.now() - started;
}

interface Row {
  readonly what: string;
  readonly itemsRead: number;
  readonly requests: number;
  readonly capacity: number;
  readonly ms: number;
  readonly found: number;
}

async function measure(what: string, run: () => Promise<number>): Promise<Row> {
  resetReads();
  const started = performance.now();
  const found = await run();
  const ms = performance.now() - started;
  return { what, itemsRead: reads.scanned, requests: reads.requests, capacity: reads.capacity, ms, found };
}

async function scanRun(scan: () => Promise<ScanResult>): Promise<number> {
  return (await scan()).changed.length;
}

/** What a scan without the buckets must do: read the whole table and pick the tenants due. */
async function fullTableScan(): Promise<number> {
  let due = 0;
  let start: Record<string, AttributeValue> | undefined;
  do {
    const page = await services.dynamodb.send(
      new ScanCommand({
        TableName: table.name,
        ReturnConsumedCapacity: 'TOTAL',
        ...(start === undefined ? {} : { ExclusiveStartKey: start }),
      }),
    );
    for (const item of page.Items ?? []) {
      if (item.type?.S !== 'TENANT') continue;
      const expiry = Date.parse(item.expiresAt?.S ?? '');
      if (expiry - 30 * DAY_MS <= NOW.getTime()) due++;
    }
    reads.requests++;
    reads.scanned += page.ScannedCount ?? 0;
    reads.capacity += page.ConsumedCapacity?.CapacityUnits ?? 0;
    start = page.LastEvaluatedKey;
  } while (start !== undefined);
  return due;
}

/** The other way without buckets: page through every tenant record of the GSI1 listing. */
async function listingScan(): Promise<number> {
  let due = 0;
  let start: Record<string, unknown> | undefined;
  do {
    const page = await client.send(
      new QueryCommand({
        TableName: table.name,
        IndexName: 'GSI1',
        KeyConditionExpression: 'GSI1PK = :listing',
        ExpressionAttributeValues: { ':listing': TENANT_LISTING },
        ...(start === undefined ? {} : { ExclusiveStartKey: start }),
      }),
    );
    for (const item of page.Items ?? []) {
      if (Date.parse(String(item.expiresAt)) - 30 * DAY_MS <= NOW.getTime()) due++;
    }
    start = page.LastEvaluatedKey;
  } while (start !== undefined);
  return due;
}

/** Only the reads a scan makes to find its tenants (no writes), for a like-for-like comparison. */
async function indexReads(scan: 'reminder' | 'shutdown'): Promise<number> {
  let found = 0;
  if (scan === 'reminder') {
    for (const [from, until] of reminderRanges(dailyWindow)) {
      for await (const _tenant of governance.registry.inPhase('live', until, from)) found++;
    }
    return found;
  }
  for await (const _tenant of governance.registry.inPhase('notice')) found++;
  for await (const _tenant of governance.registry.inPhase('live', NOW.toISOString())) found++;
  const graceOver = new Date(NOW.getTime() - GRACE_PERIOD_DAYS * DAY_MS).toISOString();
  for await (const _tenant of governance.registry.inPhase('grace', graceOver)) found++;
  return found;
}

const dailyWindow = { from: dayOf(YESTERDAY.toISOString()), to: dayOf(NOW.toISOString()) };

try {
  const planned = plan();
  const writeMs = await writeTenants(planned);
  const dueCount = planned.filter((tenant) => tenant.due !== '').length;

  // Yesterday's runs (the first ever, so with the full catch-up window) set the scan state.
  const firstReminder = await measure(
    'renewal-reminder, first run ever (31-day catch-up; checks every tenant is in the index, once)',
    () => scanRun(() => governance.lifecycle.renewalReminders({ now: YESTERDAY })),
  );
  const firstShutdown = await measure('expiry-shutdown, first run ever (every tenant due, however old)', () =>
    scanRun(() => governance.lifecycle.expiryShutdown({ now: YESTERDAY })),
  );
  const rows: Row[] = [
    firstReminder,
    firstShutdown,
    // Before the daily runs, so they find what those runs will change.
    await measure('index reads alone, daily renewal-reminder window', () => indexReads('reminder')),
    await measure('index reads alone, daily expiry-shutdown', () => indexReads('shutdown')),
    await measure('renewal-reminder, daily run', () =>
      scanRun(() => governance.lifecycle.renewalReminders({ now: NOW })),
    ),
    await measure('expiry-shutdown, daily run', () =>
      scanRun(() => governance.lifecycle.expiryShutdown({ now: NOW })),
    ),
    await measure('renewal-reminder, replayed', () =>
      scanRun(() => governance.lifecycle.renewalReminders({ now: NOW })),
    ),
    await measure('expiry-shutdown, replayed', () =>
      scanRun(() => governance.lifecycle.expiryShutdown({ now: NOW })),
    ),
    await measure('baseline: full-table Scan', fullTableScan),
    await measure('baseline: every tenant via the GSI1 listing', listingScan),
  ];

  const cpu = cpus();
  const lines = [
    `## Lifecycle scans`,
    '',
    `Recorded ${new Date().toISOString()} by \`npx tsx bench/lifecycle-scan.ts ${TENANTS}\` on ${cpu.length} CPUs (${cpu[0]?.model.trim() ?? 'unknown'}), ${(totalmem() / 2 ** 30).toFixed(1)} GiB memory, load average ${loadavg()
      .map((value) => value.toFixed(2))
      .join(' ')} at the end; in-memory dynalite.`,
    '',
    `${TENANTS.toLocaleString('en-US')} tenants written through \`TenantRegistry.create\` in ${(writeMs / 1000).toFixed(1)} s; ${dueCount} due (35 reminders, 10 into grace, 8 suspended of which 3 expired 400 days before the first run), ${(TENANTS - dueCount).toLocaleString('en-US')} expiring later.`,
    '',
    '| run | items read | read requests | read units | ms | tenants changed / found |',
    '| --- | ---: | ---: | ---: | ---: | ---: |',
    ...rows.map(
      (row) =>
        `| ${row.what} | ${row.itemsRead.toLocaleString('en-US')} | ${row.requests} | ${row.capacity.toFixed(1)} | ${row.ms.toFixed(0)} | ${row.found} |`,
    ),
  ];
  process.stdout.write(`${lines.join('\n')}\n`);
} finally {
  await services.stop();
}
