/**
 * The embedded stand-ins for the managed services: dynalite (DynamoDB API, LevelDB on disk or in
 * memory) and fauxqs (SQS API, in memory). The table, the claims table and every queue with its
 * dead-letter queue are created from the topology, through the real AWS SDK clients.
 *
 * The servers run on their own thread (a `worker_threads` Worker, lib/local/services-worker.ts), so
 * their work does not take turns with the platform's on its one thread; this thread keeps only the
 * SDK clients that reach them over loopback. The thread's death is never silent: by default it is
 * thrown out of this thread's event loop, and the process dies as it did when dynalite died in it.
 *
 * Both listen on loopback only and refuse every request that is not SigV4-signed with the
 * credentials of this start (random, held by the platform's process alone, handed to the services'
 * thread in its `workerData`): neither server checks a signature itself, and both would otherwise take
 * writes from anything that reaches loopback — another local user, or a web page (dynalite even
 * answers CORS preflights for any origin).
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import {
  type AttributeDefinition,
  CreateTableCommand,
  DescribeTableCommand,
  DynamoDBClient,
  ResourceInUseException,
} from '@aws-sdk/client-dynamodb';
import { CreateQueueCommand, GetQueueAttributesCommand, SQSClient } from '@aws-sdk/client-sqs';
import { platformClient, sqsSettings } from '../../functions/core/sdk-clients.ts';
import { observed } from '../../functions/core/sdk-requests.ts';
import { claimsTable, deadLetterQueueName, type QueueName, queues, table } from '../topology.ts';
import type { FromServicesThread, ServicesThreadStart, ToServicesThread } from './services-worker.ts';
import type { LocalCredentials } from './sigv4.ts';
import { storageReserveBytes } from './storage-guard.ts';

export const LOCAL_REGION = 'us-east-1';
export const TABLE_NAME = 'execfabric';

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
  /**
   * Hears that the services' thread died or exited while the services were up (not at `stop()`).
   * @default throws the error out of the event loop: the process dies, loudly, as it did when the
   * services ran on its own thread
   */
  readonly onCrash?: (error: LocalServicesError) => void;
}

/** The services' thread failed to start, died, or failed to stop. */
export class LocalServicesError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'LocalServicesError';
  }
}

/** The services' thread's module, next to this one. */
const SERVICES_WORKER = new URL('./services-worker.ts', import.meta.url);

interface ServicesThread {
  readonly dynamodbEndpoint: string;
  readonly sqsEndpoint: string;
  /** Closes both servers (and the store), then ends the thread. */
  stop(): Promise<void>;
}

/** Starts the services' thread and waits until both servers listen. */
async function startServicesThread(
  start: ServicesThreadStart,
  log: (line: string) => void,
  onCrash: (error: LocalServicesError) => void,
): Promise<ServicesThread> {
  // No inherited flags: the thread's few .ts modules load through Node's own type stripping; tsx's
  // loader, inherited, made each start ~1 s slower (a fresh loader per thread).
  const worker = new Worker(SERVICES_WORKER, {
    workerData: start,
    name: 'execfabric-local-services',
    execArgv: [],
  });
  let state: 'starting' | 'up' | 'stopping' | 'gone' = 'starting';
  let listening: (endpoints: { dynamodbEndpoint: string; sqsEndpoint: string }) => void = () => undefined;
  let stopped: () => void = () => undefined;
  let failed: (error: LocalServicesError) => void = () => undefined;
  worker.on('message', (message: FromServicesThread) => {
    if (message.kind === 'listening') listening(message);
    else if (message.kind === 'log') log(message.line);
    else if (message.kind === 'stopped') stopped();
  });
  const fail = (error: LocalServicesError) => {
    const was = state;
    state = 'gone';
    if (was === 'up') onCrash(error);
    else if (was !== 'gone') failed(error);
  };
  worker.on('error', (error) =>
    fail(new LocalServicesError(`The local services' thread failed: ${error.message}`, { cause: error })),
  );
  worker.on('exit', (code) => {
    if (state === 'stopping') stopped();
    fail(new LocalServicesError(`The local services' thread exited (code ${code})`));
  });

  const endpoints = await new Promise<{ dynamodbEndpoint: string; sqsEndpoint: string }>(
    (resolve, reject) => {
      listening = resolve;
      failed = reject;
    },
  );
  state = 'up';
  return {
    ...endpoints,
    async stop() {
      if (state !== 'up') return;
      state = 'stopping';
      await new Promise<void>((resolve, reject) => {
        stopped = resolve;
        failed = reject;
        worker.postMessage({ kind: 'stop' } satisfies ToServicesThread);
      });
      state = 'gone';
      await worker.terminate();
    },
  };
}

/** The default crash answer: the error escapes to the process, which dies of it. */
function dieOf(error: LocalServicesError): void {
  process.nextTick(() => {
    throw error;
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
  const log = options.log ?? ((line: string) => process.stderr.write(`${line}\n`));
  const thread = await startServicesThread(
    {
      dynamoPath: dynamoPath ?? null,
      credentials,
      storageReserveBytes: options.storageReserveBytes ?? storageReserveBytes(),
    },
    log,
    options.onCrash ?? dieOf,
  );
  const { dynamodbEndpoint, sqsEndpoint } = thread;

  // The pollers' and the Python functions' own requests go through these: observed like the functions'.
  const dynamodb = observed(
    platformClient(
      { endpoint: dynamodbEndpoint, region: LOCAL_REGION, credentials },
      (config) => new DynamoDBClient(config),
    ),
  );
  const sqs = observed(
    platformClient(
      sqsSettings({ endpoint: sqsEndpoint, region: LOCAL_REGION, credentials }),
      (config) => new SQSClient(config),
    ),
  );

  const created = {} as Record<QueueName, LocalQueue>;
  try {
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
  } catch (error) {
    sqs.destroy();
    dynamodb.destroy();
    await thread.stop();
    throw error;
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
      await thread.stop();
    },
  };
}
