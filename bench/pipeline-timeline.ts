/**
 * The timeline of one no-op run (issue 13, Deliver 4): one client, one run at a time with `Prefer:
 * wait`, every hop placed relative to the client's POST — each HTTP exchange of the platform's
 * process (the client's POST and its answer, every SDK request with its operation and the table or
 * queue it names, the Lambda endpoint's invocation of the worker), and the times the run stores
 * (created, queued, the job's start and end as the runner measured them, finished). Per hop: its
 * start and end at p50 over the runs, in ms after the POST left the client.
 *
 * The worker's Python host is watched on its pipe: each message Node writes to it (`invoke`, the
 * replies to its port calls) and each it writes back (its calls: `claim`, `send`; its `result`), with
 * the time Node saw it. The host is spawned through `child_process.spawn`, which this bench wraps
 * (bench only) to see those lines.
 *
 * It watches Node's HTTP diagnostics channels (`http.client.request.start`,
 * `http.server.request.start`), so nothing of the platform is changed or wrapped; SDK requests are
 * named from their `X-Amz-Target` and the body's `TableName`/`QueueUrl`. A long poll that returned
 * a message shows as a receive ending inside the run; its start is when the poller asked, which is
 * before the POST when the poller was idle (the message then sat on the queue for no time).
 *
 *   npx tsx bench/pipeline-timeline.ts [runs = 40]
 */
import childProcess, { type ChildProcessWithoutNullStreams } from 'node:child_process';
import diagnostics from 'node:diagnostics_channel';
import type { ClientRequest, IncomingMessage, ServerResponse } from 'node:http';
import { syncBuiltinESMExports } from 'node:module';
import { loadavg } from 'node:os';
import { call } from '../test/support/http.ts';
import { benchUser, machine, percentile, startBenchPlatform } from './support.ts';

const RUNS = Number(process.argv[2] ?? '40');
const PASSWORD = 'bench-password-123';
const HOST = 'acme.localhost';

interface Exchange {
  readonly side: 'client' | 'server';
  readonly label: string;
  readonly start: number;
  end: number;
  /** Whether the answer carried something (a receive that returned messages). */
  full: boolean;
}

const exchanges: Exchange[] = [];
let recording = false;
const names = new Map<string, string>();

/**
 * What the SDK observer saw sent, oldest first, per operation: an HTTP request of that operation
 * takes the oldest (the observer runs just before the request is written, in the same order).
 */
const announced = new Map<string, string[]>();

/** `PutItem platform`, `ReceiveMessage script-executions`, `Invoke script-worker`… */
function labelOf(request: ClientRequest): string {
  const target = String(request.getHeader('x-amz-target') ?? '');
  const operation = request.path.includes('/functions/')
    ? 'Invoke'
    : target.slice(target.lastIndexOf('.') + 1);
  if (operation === '') return `${request.method} ${request.path}`;
  const resource = announced.get(operation)?.shift() ?? '?';
  return `${operation} ${names.get(resource) ?? resource}`;
}

/** Lines on the worker host's pipe, with when Node wrote or read them. */
const pipe: { at: number; label: string }[] = [];
const spawn = childProcess.spawn;
childProcess.spawn = ((...args: Parameters<typeof spawn>) => {
  const child = spawn(...args) as ChildProcessWithoutNullStreams;
  if (!String(args[1]?.[2] ?? '').endsWith('python_host.py')) return child;
  const note = (direction: string, text: string) => {
    if (!recording) return;
    const at = performance.now();
    for (const line of text.split('\n')) {
      const type = /"type":"(\w+)"/.exec(line)?.[1];
      if (type === undefined) continue;
      const named = /"call":"(\w+)"/.exec(line)?.[1];
      pipe.push({ at, label: `${direction} ${type}${named === undefined ? '' : ` ${named}`}` });
    }
  };
  child.stdout.on('data', (chunk: Buffer) => note('host →', chunk.toString('utf8')));
  const write = child.stdin.write.bind(child.stdin) as (...rest: unknown[]) => boolean;
  child.stdin.write = ((chunk: unknown, ...rest: unknown[]) => {
    note('→ host', String(chunk));
    return write(chunk, ...rest);
  }) as typeof child.stdin.write;
  return child;
}) as typeof spawn;
syncBuiltinESMExports();

diagnostics.subscribe('http.client.request.start', (message) => {
  if (!recording) return;
  const { request } = message as { request: ClientRequest };
  const start = performance.now();
  const label = labelOf(request);
  request.once('response', (response: IncomingMessage) => {
    response.once('end', () => {
      exchanges.push({
        side: 'client',
        label,
        start,
        end: performance.now(),
        full: Number(response.headers['content-length'] ?? 0) > 10,
      });
    });
  });
});

diagnostics.subscribe('http.server.request.start', (message) => {
  if (!recording) return;
  const { request, response } = message as { request: IncomingMessage; response: ServerResponse };
  const start = performance.now();
  response.once('finish', () => {
    exchanges.push({
      side: 'server',
      label: `served ${request.method} ${(request.url ?? '').split('?')[0]?.replace(/[A-Za-z0-9_-]{20,}/g, '{id}')}`,
      start,
      end: performance.now(),
      full: true,
    });
  });
});

const platform = await startBenchPlatform(PASSWORD);
const hops = new Map<string, { start: number[]; end: number[] }>();
const add = (label: string, start: number, end: number) => {
  const hop = hops.get(label) ?? { start: [], end: [] };
  hop.start.push(start);
  hop.end.push(end);
  hops.set(label, hop);
};
const order: string[] = [];
let clientMs: number[] = [];
try {
  platform.observeRequests((request) => {
    if (!recording) return;
    const queue = announced.get(request.operation) ?? [];
    queue.push(request.resource);
    announced.set(request.operation, queue);
  });
  names.set(platform.services.tableName, 'platform');
  names.set(platform.services.claimsTableName, 'claims');
  const user = await benchUser(platform, HOST, 'alice', PASSWORD);
  const skillId = await user.skill('noop.py', 'def main(inputs, ctx):\n    return {}\n');
  const runOnce = async () => {
    const posted = await call(platform.url, {
      host: HOST,
      token: user.token,
      method: 'POST',
      path: `/api/skills/${skillId}/executions`,
      body: { input: {} },
      headers: { prefer: 'wait=20' },
    });
    if (posted.status !== 200 || posted.body.status !== 'succeeded') throw new Error(`POST: ${posted.text}`);
    return posted.body as Record<string, unknown> & { metrics?: Record<string, unknown> };
  };
  for (let warm = 0; warm < 10; warm++) await runOnce();
  clientMs = [];
  for (let index = 0; index < RUNS; index++) {
    exchanges.length = 0;
    pipe.length = 0;
    announced.clear();
    // Leave the pollers' long polls to settle into their idle state between runs.
    await new Promise((resolve) => setTimeout(resolve, 30));
    recording = true;
    const epoch = Date.now();
    const began = performance.now();
    const run = await runOnce();
    const answered = performance.now();
    // The poller's deletes and the slot's release may still be on their way.
    await new Promise((resolve) => setTimeout(resolve, 30));
    recording = false;
    clientMs.push(answered - began);
    const at = (iso: unknown) => (typeof iso === 'string' ? Date.parse(iso) - epoch : Number.NaN);
    const seen = new Map<string, number>();
    for (const exchange of [...exchanges].sort((a, b) => a.end - b.end)) {
      if (exchange.label.startsWith('ReceiveMessage') && !exchange.full) continue;
      if (exchange.end < began) continue;
      const count = (seen.get(exchange.label) ?? 0) + 1;
      seen.set(exchange.label, count);
      const label = `${exchange.side === 'client' ? '' : '  '}${exchange.label}${count > 1 ? ` (#${count})` : ''}`;
      if (!order.includes(label)) order.push(label);
      add(label, exchange.start - began, exchange.end - began);
    }
    const calls = new Map<string, number>();
    for (const line of pipe) {
      if (line.at < began) continue;
      const count = (calls.get(line.label) ?? 0) + 1;
      calls.set(line.label, count);
      add(`  pipe: ${line.label}${count > 1 ? ` (#${count})` : ''}`, line.at - began, line.at - began);
    }
    add('stored createdAt', at(run.createdAt), at(run.createdAt));
    add('stored queuedAt', at(run.queuedAt), at(run.queuedAt));
    add(
      'job (the runner: metrics.startedAt → finishedAt)',
      at(run.metrics?.startedAt),
      at(run.metrics?.finishedAt),
    );
    add('stored finishedAt', at(run.finishedAt), at(run.finishedAt));
    add('the client has its answer', answered - began, answered - began);
  }
} finally {
  await platform.stop();
}

const format = (value: number) => (Number.isNaN(value) ? '–' : value.toFixed(1));
const rows = [...hops.entries()]
  .map(([label, hop]) => ({
    label,
    start: percentile(hop.start, 50),
    end: percentile(hop.end, 50),
    count: hop.start.length,
  }))
  .sort((a, b) => a.end - b.end || a.start - b.start);
const lines = [
  `Timeline of one no-op run, ${new Date().toISOString()}, ${machine()}; ${RUNS} runs one after another, \`Prefer: wait\`; load average ${loadavg()
    .map((value) => value.toFixed(2))
    .join(' ')} at the end`,
  '',
  `Client POST → answer: p50 **${format(percentile(clientMs, 50))} ms**, p99 ${format(percentile(clientMs, 99))} ms.`,
  '',
  '| hop (indented: served by the platform) | start p50 ms | end p50 ms | took p50 | seen in runs |',
  '| --- | ---: | ---: | ---: | ---: |',
  ...rows.map((row) => {
    const took = hops.get(row.label);
    const spans = took === undefined ? [] : took.end.map((end, index) => end - (took.start[index] ?? end));
    return `| ${row.label} | ${format(row.start)} | ${format(row.end)} | ${format(percentile(spans, 50))} | ${row.count} |`;
  }),
];
process.stdout.write(`${lines.join('\n')}\n`);
