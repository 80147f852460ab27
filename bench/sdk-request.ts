/**
 * What one AWS SDK request costs the platform's thread (issue 13): main-thread CPU and wall time per
 * request, sent back to back, through the real SDK clients to the local services (dynalite and
 * fauxqs on their own thread, behind the SigV4 guards, started as the platform starts them).
 *
 * Requests: a consistent DocumentClient Get, a Put, an Update with a condition, an SQS SendMessage
 * and a ReceiveMessage. Clients compared in the same process, in alternating rounds:
 * - `as built before`: the construction the factories used before this bench (the endpoint, region
 *   and credentials only, everything else the SDK's defaults), with the `observed` middleware;
 * - `factories`: the clients `functions/clients/*` build now, from a function's environment;
 * - `plain http`: the baseline, no SDK at all: the same request's bytes, signed once up front,
 *   sent with `http.request` on a keep-alive agent (the guard accepts it for the 5 minutes of skew).
 *
 *   npx tsx bench/sdk-request.ts [requests per block = 200] [blocks = 20]
 *   npx node --cpu-prof --cpu-prof-dir=/tmp/prof-sdk --import tsx bench/sdk-request.ts
 */
import { Agent, request as httpRequest } from 'node:http';
import { loadavg } from 'node:os';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { ReceiveMessageCommand, SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { DynamoDBDocumentClient, GetCommand, PutCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { SignatureV4 } from '@smithy/signature-v4';
import { documentClient } from '../functions/clients/dynamodb.ts';
import { sqsClientFromEnv } from '../functions/clients/sqs.ts';
import { ENV } from '../functions/core/env.ts';
import { Sha256 } from '../functions/core/sdk-clients.ts';
import { observed } from '../functions/core/sdk-requests.ts';
import { LOCAL_REGION, startLocalServices } from '../lib/local/services.ts';
import { machine } from './support.ts';

const REQUESTS = Number(process.argv[2] ?? '200');
const BLOCKS = Number(process.argv[3] ?? '20');
const WARM = 500;

const services = await startLocalServices({
  dataDir: null,
  visibilityTimeoutSeconds: null,
  log: () => undefined,
});
const queueUrl = Object.values(services.queues)[0]?.url as string;
const env = {
  AWS_REGION: LOCAL_REGION,
  AWS_ACCESS_KEY_ID: services.credentials.accessKeyId,
  AWS_SECRET_ACCESS_KEY: services.credentials.secretAccessKey,
  [ENV.dynamodbEndpoint]: services.dynamodbEndpoint,
  [ENV.sqsEndpoint]: services.sqsEndpoint,
};

interface Clients {
  readonly documents: DynamoDBDocumentClient;
  readonly sqs: SQSClient;
}

/** The clients as the factories built them before this bench: the SDK's defaults but for these three. */
function asBuiltBefore(): Clients {
  const settings = { region: LOCAL_REGION, credentials: services.credentials };
  const base = observed(new DynamoDBClient({ ...settings, endpoint: services.dynamodbEndpoint }));
  return {
    documents: DynamoDBDocumentClient.from(base, {
      marshallOptions: { removeUndefinedValues: true, convertClassInstanceToMap: false },
    }),
    sqs: observed(new SQSClient({ ...settings, endpoint: services.sqsEndpoint })),
  };
}

function fromFactories(): Clients {
  return { documents: documentClient(env), sqs: sqsClientFromEnv(env) };
}

const TABLE = services.tableName;
const KEY = { PK: 'T#bench', SK: 'ITEM#1' };
let sequence = 0;

type Operation = (clients: Clients) => Promise<unknown>;
const operations: Record<string, Operation> = {
  'Get (consistent)': (c) =>
    c.documents.send(new GetCommand({ TableName: TABLE, Key: KEY, ConsistentRead: true })),
  Put: (c) =>
    c.documents.send(
      new PutCommand({
        TableName: TABLE,
        Item: { ...KEY, SK: `ITEM#${sequence++ % 64}`, body: 'x'.repeat(200), n: 1 },
      }),
    ),
  'Update (condition)': (c) =>
    c.documents.send(
      new UpdateCommand({
        TableName: TABLE,
        Key: KEY,
        UpdateExpression: 'SET #n = #n + :one',
        ConditionExpression: 'attribute_exists(PK) AND #n < :cap',
        ExpressionAttributeNames: { '#n': 'n' },
        ExpressionAttributeValues: { ':one': 1, ':cap': Number.MAX_SAFE_INTEGER },
      }),
    ),
  SendMessage: (c) =>
    c.sqs.send(new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: 'x'.repeat(300) })),
  ReceiveMessage: (c) =>
    c.sqs.send(new ReceiveMessageCommand({ QueueUrl: queueUrl, MaxNumberOfMessages: 1, WaitTimeSeconds: 0 })),
};

/** The baseline: a consistent GetItem's bytes, signed once, sent with `http.request` on a kept-alive socket. */
async function plainGet(): Promise<() => Promise<void>> {
  const url = new URL(services.dynamodbEndpoint);
  const body = JSON.stringify({
    TableName: TABLE,
    Key: { PK: { S: KEY.PK }, SK: { S: KEY.SK } },
    ConsistentRead: true,
  });
  const signed = await new SignatureV4({
    credentials: services.credentials,
    region: LOCAL_REGION,
    service: 'dynamodb',
    sha256: Sha256,
  }).sign({
    method: 'POST',
    protocol: 'http:',
    hostname: url.hostname,
    port: Number(url.port),
    path: '/',
    query: {},
    headers: {
      host: url.host,
      'content-type': 'application/x-amz-json-1.0',
      'x-amz-target': 'DynamoDB_20120810.GetItem',
      'content-length': String(Buffer.byteLength(body)),
    },
    body,
  });
  const agent = new Agent({ keepAlive: true, maxSockets: 1 });
  return () =>
    new Promise<void>((resolve, reject) => {
      const outgoing = httpRequest(
        { host: url.hostname, port: url.port, method: 'POST', path: '/', headers: signed.headers, agent },
        (response) => {
          const chunks: Buffer[] = [];
          response.on('data', (chunk: Buffer) => chunks.push(chunk));
          response.on('end', () => {
            if (response.statusCode !== 200)
              reject(new Error(`plain GetItem: ${response.statusCode} ${Buffer.concat(chunks)}`));
            else resolve();
          });
        },
      );
      outgoing.on('error', reject);
      outgoing.end(body);
    });
}

function threadMs(): number {
  const { user, system } = process.threadCpuUsage();
  return (user + system) / 1000;
}

/** Main-thread CPU ms and wall ms per request of `count` requests of `send`, sent back to back. */
async function measure(send: () => Promise<unknown>, count: number): Promise<{ cpu: number; wall: number }> {
  const cpu = threadMs();
  const wall = performance.now();
  for (let index = 0; index < count; index++) await send();
  return { cpu: (threadMs() - cpu) / count, wall: (performance.now() - wall) / count };
}

const variants: Record<string, Clients> = { 'as built before': asBuiltBefore(), factories: fromFactories() };
await variants.factories?.documents.send(new PutCommand({ TableName: TABLE, Item: { ...KEY, n: 1 } }));
const plain = await plainGet();
const BASE = 'as built before';

interface Cell {
  readonly cpu: number[];
  readonly wall: number[];
  /** CPU of each block over the block of the old client next to it in time. */
  readonly ratio: number[];
}
const figures: Record<string, Record<string, Cell>> = {};
function cellOf(operation: string, variant: string): Cell {
  const row = figures[operation] ?? {};
  figures[operation] = row;
  const cell = row[variant] ?? { cpu: [], wall: [], ratio: [] };
  row[variant] = cell;
  return cell;
}

const startLoad = loadavg()[0]?.toFixed(2);
const start = machine();
const sends: [string, Record<string, () => Promise<unknown>>][] = Object.entries(operations).map(
  ([operation, send]) => [
    operation,
    Object.fromEntries(Object.entries(variants).map(([name, clients]) => [name, () => send(clients)])),
  ],
);
const get = sends[0]?.[1];
if (get !== undefined) get['plain http'] = plain;
for (const [operation, byVariant] of sends) {
  if (operation === 'ReceiveMessage') {
    // Every receive finds a message: the sends above left one per receive; these are the spares.
    const send = operations.SendMessage as Operation;
    for (let index = 0; index < 1000; index++) await send(variants[BASE] as Clients);
  }
  for (const send of Object.values(byVariant)) await measure(send, WARM);
  // Short blocks, each variant's next to the others', the order alternating: a change in the
  // machine's load (other work shares it) falls on every side; each block is paired with its neighbour.
  for (let block = 0; block < BLOCKS; block++) {
    const names = Object.keys(byVariant);
    const order = block % 2 === 0 ? names : names.reverse();
    const results: Record<string, { cpu: number; wall: number }> = {};
    for (const name of order)
      results[name] = await measure(byVariant[name] as () => Promise<unknown>, REQUESTS);
    const base = results[BASE]?.cpu ?? Number.NaN;
    for (const [name, result] of Object.entries(results)) {
      const cell = cellOf(operation, name);
      cell.cpu.push(result.cpu);
      cell.wall.push(result.wall);
      cell.ratio.push(result.cpu / base);
    }
  }
}

const quantile = (values: number[], q: number) =>
  [...values].sort((a, b) => a - b)[Math.floor((values.length - 1) * q)] ?? Number.NaN;
const lines = [
  `Machine: ${start}; load at the end ${loadavg()
    .map((value) => value.toFixed(2))
    .join(' ')} (1-min ${startLoad} at the start).`,
  `${BLOCKS} blocks of ${REQUESTS} requests per client and request, interleaved, after ${WARM} warm-up; median (lower quartile) per block; ratio: median of each block over its neighbouring block of the old client (quartiles).`,
  '',
  '| request | client | main-thread CPU ms/request | wall ms/request | CPU / as built before |',
  '| --- | --- | ---: | ---: | ---: |',
];
for (const [operation, row] of Object.entries(figures)) {
  for (const [variant, cell] of Object.entries(row)) {
    const ms = (values: number[]) =>
      `${quantile(values, 0.5).toFixed(3)} (${quantile(values, 0.25).toFixed(3)})`;
    const ratio =
      variant === BASE
        ? '1'
        : `${quantile(cell.ratio, 0.5).toFixed(2)}× (${quantile(cell.ratio, 0.25).toFixed(2)}–${quantile(cell.ratio, 0.75).toFixed(2)})`;
    lines.push(`| ${operation} | ${variant} | ${ms(cell.cpu)} | ${ms(cell.wall)} | ${ratio} |`);
  }
}
console.log(lines.join('\n'));

for (const clients of Object.values(variants)) {
  clients.documents.destroy();
  clients.sqs.destroy();
}
await services.stop();
