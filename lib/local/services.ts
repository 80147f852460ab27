/**
 * The embedded stand-ins for the managed services: dynalite (DynamoDB API, LevelDB on disk or in
 * memory) and fauxqs (SQS API, in memory). The table, the claims table and every queue with its
 * dead-letter queue are created from the topology, through the real AWS SDK clients.
 */
import { once } from 'node:events';
import { mkdirSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import {
  type AttributeDefinition,
  CreateTableCommand,
  DescribeTableCommand,
  DynamoDBClient,
  ResourceInUseException,
} from '@aws-sdk/client-dynamodb';
import { CreateQueueCommand, GetQueueAttributesCommand, SQSClient } from '@aws-sdk/client-sqs';
import dynalite from 'dynalite';
import { startFauxqs } from 'fauxqs';
import { claimsTable, deadLetterQueueName, type QueueName, queues, table } from '../topology.ts';

export const LOCAL_REGION = 'us-east-1';
export const LOCAL_CREDENTIALS = { accessKeyId: 'local', secretAccessKey: 'local' } as const;
export const TABLE_NAME = 'execfabric';
export const CLAIMS_TABLE_NAME = 'execfabric-claims';

export interface LocalQueue {
  readonly url: string;
  readonly arn: string;
  readonly deadLetterUrl: string;
  readonly deadLetterArn: string;
}

export interface LocalServices {
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
  /**
   * Visibility timeout used for every queue instead of the topology's (6 × the consumer's timeout).
   * Tests set a short one so that redrive can be observed; `null` keeps the topology's values.
   */
  readonly visibilityTimeoutSeconds: number | null;
}

async function listen(server: import('node:http').Server): Promise<string> {
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  return `http://127.0.0.1:${port}`;
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
  const dynamoServer = dynalite({ path: dynamoPath, createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 });
  const dynamodbEndpoint = await listen(dynamoServer);
  const fauxqs = await startFauxqs({ port: 0, host: '127.0.0.1', logger: false });
  const sqsEndpoint = fauxqs.address;

  const dynamodb = new DynamoDBClient({
    endpoint: dynamodbEndpoint,
    region: LOCAL_REGION,
    credentials: LOCAL_CREDENTIALS,
  });
  const sqs = new SQSClient({ endpoint: sqsEndpoint, region: LOCAL_REGION, credentials: LOCAL_CREDENTIALS });

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
        Attributes: { MessageRetentionPeriod: String(14 * 24 * 3600), VisibilityTimeout: visibility },
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
      await fauxqs.stop();
      await new Promise<void>((resolve, reject) =>
        dynamoServer.close((error?: Error) => (error ? reject(error) : resolve())),
      );
    },
  };
}
