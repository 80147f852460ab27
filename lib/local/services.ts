/**
 * The embedded stand-ins for the managed services: dynalite (DynamoDB API, LevelDB on disk or in
 * memory) and fauxqs (SQS API, in memory). The table, the claims table and every queue with its
 * dead-letter queue are created from the topology, through the real AWS SDK clients.
 *
 * Both listen on loopback only and refuse every request that is not SigV4-signed with the
 * credentials of this start (random, held by the platform's process alone): neither server checks a
 * signature itself, and both would otherwise take writes from anything that reaches loopback — another
 * local user, or a web page (dynalite even answers CORS preflights for any origin).
 */
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { mkdirSync } from 'node:fs';
import type { IncomingMessage, RequestListener, Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import {
  type AttributeDefinition,
  CreateTableCommand,
  DescribeTableCommand,
  DynamoDBClient,
  ResourceInUseException,
} from '@aws-sdk/client-dynamodb';
import { CreateQueueCommand, GetQueueAttributesCommand, SQSClient } from '@aws-sdk/client-sqs';
import dynalite from 'dynalite';
import { buildApp } from 'fauxqs';
import { observed } from '../../functions/core/sdk-requests.ts';
import { claimsTable, deadLetterQueueName, type QueueName, queues, table } from '../topology.ts';
import { type LocalCredentials, SigV4Verifier } from './sigv4.ts';
import { answerStoreErrors, type StorageGuard, storageGuard, storageReserveBytes } from './storage-guard.ts';

export const LOCAL_REGION = 'us-east-1';
export const TABLE_NAME = 'execfabric';
/** Largest request body the guards read (dynalite's own limit). */
const MAX_BODY_BYTES = 16 * 1024 * 1024;

/** Credentials of one start: what the platform's clients sign with and the servers demand. */
export function freshCredentials(): LocalCredentials {
  return {
    accessKeyId: `LOCAL${randomBytes(8).toString('hex').toUpperCase()}`,
    secretAccessKey: randomBytes(30).toString('base64url'),
  };
}
export const CLAIMS_TABLE_NAME = 'execfabric-claims';

export interface LocalQueue {
  readonly url: string;
  readonly arn: string;
  readonly deadLetterUrl: string;
  readonly deadLetterArn: string;
}

export interface LocalServices {
  /** What every request to the services must be signed with. */
  readonly credentials: LocalCredentials;
  readonly dynamodbEndpoint: string;
  readonly sqsEndpoint: string;
  readonly tableName: string;
  readonly claimsTableName: string;
  readonly queues: Readonly<Record<QueueName, LocalQueue>>;
  readonly dynamodb: DynamoDBClient;
  readonly sqs: SQSClient;
  stop(): Promise<void>;
}

export interface LocalServicesOptions {
  /** Folder for the table's files; `null` keeps everything in memory. */
  readonly dataDir: string | null;
  /** Credentials requests must be signed with. @default fresh ones */
  readonly credentials?: LocalCredentials;
  /**
   * Visibility timeout used for every queue instead of the topology's (6 × the consumer's timeout).
   * Tests set a short one so that redrive can be observed; `null` keeps the topology's values.
   */
  readonly visibilityTimeoutSeconds: number | null;
  /**
   * Free bytes the data folder's disk keeps: below it, writes to the table are refused (503) until
   * space is freed (lib/local/storage-guard.ts). @default EXECFABRIC_STORAGE_RESERVE_MB, else 32 MiB
   */
  readonly storageReserveBytes?: number;
  /** Where the services' diagnostics go. @default stderr */
  readonly log?: (line: string) => void;
}

async function listen(server: Server): Promise<string> {
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  return `http://127.0.0.1:${port}`;
}

/**
 * Reads a request body, up to the cap (null beyond it). Rejects when the client goes away mid-body:
 * a caller in a request listener must catch it (an unhandled rejection ends the platform's process).
 */
export async function readBody(request: IncomingMessage, cap = MAX_BODY_BYTES): Promise<Buffer | null> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of request) {
    size += (chunk as Buffer).length;
    if (size > cap) return null;
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}

/** Answers a refused request the way the AWS service would (status, `__type`, message). */
function refuse(response: ServerResponse, reason: string): void {
  response.writeHead(403, {
    'content-type': 'application/x-amz-json-1.0',
    'x-amzn-errortype': 'InvalidSignatureException',
  });
  response.end(
    JSON.stringify({ __type: 'com.amazon.coral.service#InvalidSignatureException', message: reason }),
  );
}

/**
 * Puts a SigV4 check in front of an http server's request listener: the body is read, checked, and
 * handed on to the original listener as a fresh stream with the same method, url and headers.
 */
function guard(server: Server, credentials: LocalCredentials, storage: StorageGuard | null = null): void {
  const listeners = server.listeners('request') as RequestListener[];
  const verifier = new SigV4Verifier(credentials);
  server.removeAllListeners('request');
  server.on('request', async (request: IncomingMessage, response: ServerResponse) => {
    // A request that cannot be this start's from its headers alone is refused before its body is read.
    const early = verifier.problemBeforeBody(request.headers);
    if (early !== null) {
      response.setHeader('connection', 'close');
      refuse(response, early);
      return;
    }
    const body = await readBody(request).catch(() => undefined);
    if (body === undefined) return; // the client went away mid-body: nobody to answer
    if (body === null) {
      response.writeHead(413).end();
      return;
    }
    const problem = verifier.problem({
      method: request.method ?? 'GET',
      url: request.url ?? '/',
      headers: request.headers,
      body,
    });
    if (problem !== null) {
      refuse(response, problem);
      return;
    }
    if (storage !== null && (await storage.refuse(request, response))) return;
    const replay = Object.assign(Readable.from(body.length === 0 ? [] : [body]), {
      method: request.method,
      url: request.url,
      headers: request.headers,
      socket: request.socket,
    }) as unknown as IncomingMessage;
    for (const listener of listeners) listener(replay, response);
  });
}

async function ensureTable(
  client: DynamoDBClient,
  input: ConstructorParameters<typeof CreateTableCommand>[0],
) {
  try {
    await client.send(new CreateTableCommand(input));
  } catch (error) {
    if (!(error instanceof ResourceInUseException)) throw error;
  }
  for (;;) {
    const { Table } = await client.send(new DescribeTableCommand({ TableName: input.TableName }));
    if (Table?.TableStatus === 'ACTIVE') return;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

function attribute(name: string): AttributeDefinition {
  return { AttributeName: name, AttributeType: 'S' };
}

export async function startLocalServices(options: LocalServicesOptions): Promise<LocalServices> {
  let dynamoPath: string | undefined;
  if (options.dataDir !== null) {
    dynamoPath = join(options.dataDir, 'dynamodb');
    mkdirSync(dynamoPath, { recursive: true });
  }
  const credentials = options.credentials ?? freshCredentials();
  answerStoreErrors();
  const dynamoServer = dynalite({ path: dynamoPath, createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 });
  const log = options.log ?? ((line: string) => process.stderr.write(`${line}\n`));
  const reserve = options.storageReserveBytes ?? storageReserveBytes();
  guard(
    dynamoServer,
    credentials,
    dynamoPath === undefined
      ? null
      : storageGuard(dynamoPath, reserve, (full, free) =>
          log(
            full
              ? `The data folder's disk is full (${free} bytes free, ${reserve} kept in reserve): refusing writes until space is freed`
              : `The data folder's disk has room again (${free} bytes free): taking writes`,
          ),
        ),
  );
  const dynamodbEndpoint = await listen(dynamoServer);
  // fauxqs' startFauxqs listens on every interface whatever `host` says; its app is listened here.
  const fauxqs = buildApp({ logger: false });
  await fauxqs.ready();
  guard(fauxqs.server, credentials);
  const sqsEndpoint = await listen(fauxqs.server);

  // The pollers' and the Python functions' own requests go through these: observed like the functions'.
  const dynamodb = observed(
    new DynamoDBClient({ endpoint: dynamodbEndpoint, region: LOCAL_REGION, credentials }),
  );
  const sqs = observed(new SQSClient({ endpoint: sqsEndpoint, region: LOCAL_REGION, credentials }));

  const keyNames = new Set([table.partitionKey, table.sortKey]);
  for (const index of table.indexes) {
    keyNames.add(index.partitionKey);
    keyNames.add(index.sortKey);
  }
  await ensureTable(dynamodb, {
    TableName: TABLE_NAME,
    BillingMode: 'PAY_PER_REQUEST',
    AttributeDefinitions: [...keyNames].map(attribute),
    KeySchema: [
      { AttributeName: table.partitionKey, KeyType: 'HASH' },
      { AttributeName: table.sortKey, KeyType: 'RANGE' },
    ],
    GlobalSecondaryIndexes: table.indexes.map((index) => ({
      IndexName: index.name,
      KeySchema: [
        { AttributeName: index.partitionKey, KeyType: 'HASH' },
        { AttributeName: index.sortKey, KeyType: 'RANGE' },
      ],
      Projection: { ProjectionType: 'ALL' },
    })),
  });
  await ensureTable(dynamodb, {
    TableName: CLAIMS_TABLE_NAME,
    BillingMode: 'PAY_PER_REQUEST',
    AttributeDefinitions: [attribute(claimsTable.partitionKey)],
    KeySchema: [{ AttributeName: claimsTable.partitionKey, KeyType: 'HASH' }],
  });

  const created = {} as Record<QueueName, LocalQueue>;
  for (const spec of Object.values(queues)) {
    const visibility = String(options.visibilityTimeoutSeconds ?? spec.visibilityTimeoutSeconds);
    const dlq = await sqs.send(
      new CreateQueueCommand({
        QueueName: deadLetterQueueName(spec.name),
        Attributes: {
          MessageRetentionPeriod: String(14 * 24 * 3600),
          VisibilityTimeout: visibility,
          MaximumMessageSize: String(spec.maxMessageBytes),
        },
      }),
    );
    const deadLetterUrl = dlq.QueueUrl as string;
    const dlqAttributes = await sqs.send(
      new GetQueueAttributesCommand({ QueueUrl: deadLetterUrl, AttributeNames: ['QueueArn'] }),
    );
    const deadLetterArn = dlqAttributes.Attributes?.QueueArn as string;
    const main = await sqs.send(
      new CreateQueueCommand({
        QueueName: spec.name,
        Attributes: {
          VisibilityTimeout: visibility,
          MessageRetentionPeriod: String(spec.retentionSeconds),
          MaximumMessageSize: String(spec.maxMessageBytes),
          RedrivePolicy: JSON.stringify({
            deadLetterTargetArn: deadLetterArn,
            maxReceiveCount: String(spec.maxReceiveCount),
          }),
        },
      }),
    );
    const url = main.QueueUrl as string;
    const attributes = await sqs.send(
      new GetQueueAttributesCommand({ QueueUrl: url, AttributeNames: ['QueueArn'] }),
    );
    created[spec.name] = {
      url,
      arn: attributes.Attributes?.QueueArn as string,
      deadLetterUrl,
      deadLetterArn,
    };
  }

  return {
    credentials,
    dynamodbEndpoint,
    sqsEndpoint,
    tableName: TABLE_NAME,
    claimsTableName: CLAIMS_TABLE_NAME,
    queues: created,
    dynamodb,
    sqs,
    async stop() {
      sqs.destroy();
      dynamodb.destroy();
      await new Promise<void>((resolve) => {
        fauxqs.server.close(() => resolve());
        fauxqs.server.closeAllConnections();
      });
      await fauxqs.close();
      await new Promise<void>((resolve, reject) =>
        dynamoServer.close((error?: Error) => (error ? reject(error) : resolve())),
      );
    },
  };
}
