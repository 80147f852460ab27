/**
 * Round trips per run (issue 13): every request the platform's SDK clients send while one no-op
 * run goes from POST to its end — DynamoDB calls, queue messages, Lambda invokes — counted by a
 * middleware on each client's stack (`LocalPlatform.observeRequests`), below the SDK's retries so a
 * retry counts too. A window of the same length with no run measures the background (the pollers'
 * receives) to leave out.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SETTLE_MAX_POLL_MS } from '../../functions/core/executions/executions.ts';
import type { SdkRequest } from '../../functions/core/sdk-requests.ts';
import { HOSTS, startTestPlatform, type TestPlatform } from '../support/platform.ts';

const PASSWORD = 'round-trips-password';
const WINDOW_MS = 2500;
/** Issue 13's budget: table requests (both tables) and queue messages per no-op run. */
const MAX_TABLE_REQUESTS = 10;
const MAX_MESSAGES = 2;

/**
 * What one no-op run costs, request by request (`operation table`; `claims` is the coordination
 * table), and what each is for. The order is the run's; the test compares them as a multiset
 * because the dispatcher's slot release and the recorder race.
 */
const EXPECTED_TABLE_REQUESTS: readonly (readonly [string, string])[] = [
  // The counted run is the first request of its session: the session cache has nothing yet (a
  // session seen in the last 5 s costs one request less; docs/decisions/session-cache.md).
  ['BatchGetItem platform', 'the API: the session and its user (one consistent batch)'],
  ['BatchGetItem platform', 'the request: the Skill and the tenant (status and expiry, consistent)'],
  ['GetItem platform', 'the request: the script asset (its state for runnability, its active version)'],
  ['PutItem platform', 'the request: the run, written `queued` (it needs no approval)'],
  ['PutItem platform', 'the request: its audit entry `execution.requested`'],
  ['UpdateItem claims', 'the dispatcher: one of the tenant’s slots'],
  ['PutItem claims', 'the worker: the job’s claim (a redelivered copy never runs twice)'],
  ['UpdateItem claims', 'the dispatcher: the slot given back'],
  ['UpdateItem platform', 'the recorder: the result, as one conditional update from `queued`'],
  ['PutItem platform', 'the recorder: its audit entry `execution.succeeded`'],
];

let platform: TestPlatform;
let alice: string;
let counting = false;
const seen: SdkRequest[] = [];
let stopObserving: () => void = () => undefined;

function describeRequest(request: SdkRequest): string {
  const { services } = platform.platform;
  const resource =
    request.resource === services.tableName
      ? 'platform'
      : request.resource === services.claimsTableName
        ? 'claims'
        : request.resource;
  return `${request.operation} ${resource}`;
}

function tally(requests: readonly string[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const request of requests) counts[request] = (counts[request] ?? 0) + 1;
  return counts;
}

beforeAll(async () => {
  platform = await startTestPlatform(PASSWORD);
  stopObserving = platform.platform.observeRequests((request) => {
    if (counting) seen.push(request);
  });
  alice = await platform.login(HOSTS.acme, 'alice');
}, 120_000);

afterAll(async () => {
  stopObserving();
  await platform?.stop();
});

describe('round trips per run', () => {
  it('a no-op run costs at most ten table requests and two queue messages, each one accounted for', async () => {
    const api = (method: string, path: string, body?: unknown) =>
      platform.send({ host: HOSTS.acme, token: alice, method, path, body });
    const script = await api('POST', '/api/assets/scripts', {
      name: 'noop.py',
      source: 'def main(input, ctx):\n    return {}\n',
    });
    const skill = await api('POST', '/api/skills', {
      name: 'Noop',
      inputSchema: { type: 'object' },
      outputSchema: true,
      risk: 'low',
      asset: { kind: 'python-script', id: script.body.id, version: 'active' },
    });
    expect(skill.status, skill.text).toBe(201);
    const run = async (token = alice) => {
      const started = await platform.send({
        host: HOSTS.acme,
        token,
        method: 'POST',
        path: `/api/skills/${skill.body.id}/executions`,
        body: { input: {} },
      });
      expect(started.status, started.text).toBe(202);
      return String(started.body.id);
    };
    // A first run warms what a running platform keeps (the Python host, immutable versions).
    const first = await run();
    await new Promise((resolve) => setTimeout(resolve, WINDOW_MS));
    expect((await api('GET', `/api/executions/${first}`)).body.status).toBe('succeeded');
    const fresh = await platform.login(HOSTS.acme, 'alice');

    counting = true;
    await new Promise((resolve) => setTimeout(resolve, WINDOW_MS));
    const idle = seen.splice(0).map(describeRequest);
    const id = await run(fresh);
    await new Promise((resolve) => setTimeout(resolve, WINDOW_MS));
    counting = false;
    const busy = seen.splice(0);

    const ended = await api('GET', `/api/executions/${id}`);
    expect(ended.body.status).toBe('succeeded');
    expect(ended.body.startedAt).toEqual(expect.any(String));

    const tableRequests = busy.filter((request) => request.client === 'DynamoDBClient').map(describeRequest);
    const messages = busy.filter((request) => request.operation.startsWith('SendMessage'));
    const invokes = busy.filter((request) => request.client === 'LambdaClient');
    console.log(
      [
        `round trips per no-op run: ${tableRequests.length} table requests, ${messages.length} queue messages, ${invokes.length} invoke`,
        ...busy
          .filter((request) => !request.operation.startsWith('ReceiveMessage'))
          .map((request, index) => `  ${index + 1}. ${request.client} ${describeRequest(request)}`),
      ].join('\n'),
    );
    expect(idle.filter((request) => !request.startsWith('ReceiveMessage'))).toEqual([]);
    expect(tally(tableRequests)).toEqual(tally(EXPECTED_TABLE_REQUESTS.map(([request]) => request)));
    expect(tableRequests.length).toBeLessThanOrEqual(MAX_TABLE_REQUESTS);
    // The job (to the script queue) and its result (to the results queue).
    expect(messages.map(describeRequest).sort()).toEqual([
      'SendMessage execution-results',
      'SendMessage script-executions',
    ]);
    expect(messages.length).toBeLessThanOrEqual(MAX_MESSAGES);
    expect(invokes.map(describeRequest)).toEqual(['Invoke script-worker']);
  }, 120_000);

  it('with Prefer: wait, the waiting request reads its run no more: the run’s end wakes it with the run as stored', async () => {
    const api = (method: string, path: string, body?: unknown) =>
      platform.send({ host: HOSTS.acme, token: alice, method, path, body });
    const script = await api('POST', '/api/assets/scripts', {
      name: 'noop-wait.py',
      source: 'def main(input, ctx):\n    return {}\n',
    });
    const skill = await api('POST', '/api/skills', {
      name: 'Noop wait',
      inputSchema: { type: 'object' },
      outputSchema: true,
      risk: 'low',
      asset: { kind: 'python-script', id: script.body.id, version: 'active' },
    });
    expect(skill.status, skill.text).toBe(201);
    const run = (token: string) =>
      platform.send({
        host: HOSTS.acme,
        token,
        method: 'POST',
        path: `/api/skills/${skill.body.id}/executions`,
        body: { input: {} },
        headers: { prefer: 'wait=20' },
      });
    expect((await run(alice)).status).toBe(200);
    const fresh = await platform.login(HOSTS.acme, 'alice');

    counting = true;
    const began = performance.now();
    const answer = await run(fresh);
    const took = performance.now() - began;
    await new Promise((resolve) => setTimeout(resolve, WINDOW_MS));
    counting = false;
    const busy = seen.splice(0);
    expect(answer.status, answer.text).toBe(200);
    expect(answer.body.status).toBe('succeeded');

    const tableRequests = busy.filter((request) => request.client === 'DynamoDBClient').map(describeRequest);
    const expected = tally(EXPECTED_TABLE_REQUESTS.map(([request]) => request));
    const extra = Object.entries(tally(tableRequests)).flatMap(([request, count]) =>
      Array.from({ length: count - (expected[request] ?? 0) }, () => request),
    );
    console.log(`round trips per no-op run with Prefer: wait: ${tableRequests.length} table requests`);
    // The wake-up carries the run as its end's write stored it, so the answer reads nothing more; its
    // own reads are a backstop 500 ms apart, which a no-op run ends well before (one read only on a
    // machine slow enough to take longer). The reads at 10, 30, 70 ms… of a request that is never
    // woken would be several; a wake-up that only said "read" would cost one.
    expect(extra.length).toBeLessThanOrEqual(took >= SETTLE_MAX_POLL_MS ? 1 : 0);
    expect(extra.every((request) => request === 'GetItem platform')).toBe(true);
    // And everything else a run costs, as in the test above.
    for (const [request, count] of Object.entries(expected))
      expect(tally(tableRequests)[request] ?? 0, request).toBeGreaterThanOrEqual(count);
    expect(tableRequests.length).toBe(EXPECTED_TABLE_REQUESTS.length + extra.length);
  }, 120_000);
});
