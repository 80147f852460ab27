/**
 * The local services on their own thread (issue 13, Deliver 4): dynalite and fauxqs run in a
 * `worker_threads` Worker, reached through the real AWS SDK clients over loopback. They answer while
 * the platform's thread is blocked (so they are not on it), still refuse every request not signed with
 * this start's credentials, free their ports at `stop()`, keep the table across a restart on the same
 * folder, and their thread's death is heard — by default it kills the process, loudly.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { DynamoDBClient, GetItemCommand, ListTablesCommand, PutItemCommand } from '@aws-sdk/client-dynamodb';
import { GetQueueAttributesCommand, ListQueuesCommand, SQSClient } from '@aws-sdk/client-sqs';
import { describe, expect, it } from 'vitest';
import { REPOSITORY_ROOT } from '../../lib/local/platform.ts';
import {
  freshCredentials,
  LOCAL_REGION,
  LocalServicesError,
  type LocalServicesOptions,
  startLocalServices,
} from '../../lib/local/services.ts';
import { servicesScratch } from '../support/local-services.ts';

const scratch = servicesScratch('execfabric-services-');
const folder = scratch.folder;

function start(options: Partial<LocalServicesOptions> = {}) {
  return scratch.start({ dataDir: null, visibilityTimeoutSeconds: null, ...options });
}

/** The status and body of a request from another process, sent while this thread waits, blocked. */
function fromAnotherProcessWhileBlocked(url: string): { status: number; text: string } {
  const script = `const r = await fetch(${JSON.stringify(url)}, { method: 'POST', body: '{}' });
process.stdout.write(JSON.stringify({ status: r.status, text: await r.text() }));`;
  const out = execFileSync(process.execPath, ['--input-type=module', '-e', script], {
    encoding: 'utf8',
    timeout: 20_000,
  });
  return JSON.parse(out) as { status: number; text: string };
}

/** Whether anything still accepts connections at the endpoint. */
async function reachable(endpoint: string): Promise<boolean> {
  try {
    await fetch(endpoint, { method: 'POST', body: '{}' });
    return true;
  } catch (error) {
    const code = ((error as Error).cause as { code?: string } | undefined)?.code;
    if (code === 'ECONNREFUSED') return false;
    throw error;
  }
}

describe('the local services on their own thread', () => {
  it('answer while the platform’s thread is blocked: they do not run on it', async () => {
    const services = await start();
    for (const endpoint of [services.dynamodbEndpoint, services.sqsEndpoint]) {
      // execFileSync holds this thread until the other process exits: a server on this thread could
      // not answer it, and the call would time out.
      const answer = fromAnotherProcessWhileBlocked(endpoint);
      expect(answer.status).toBe(403);
      expect(answer.text).toContain('InvalidSignatureException');
    }
  });

  it('refuse requests signed with other credentials, or with another secret behind this start’s key id', async () => {
    const services = await start();
    const other = freshCredentials();
    const forged = [
      other,
      { accessKeyId: services.credentials.accessKeyId, secretAccessKey: other.secretAccessKey },
    ];
    for (const credentials of forged) {
      const dynamodb = new DynamoDBClient({
        endpoint: services.dynamodbEndpoint,
        region: LOCAL_REGION,
        credentials,
        maxAttempts: 1,
      });
      const sqs = new SQSClient({
        endpoint: services.sqsEndpoint,
        region: LOCAL_REGION,
        credentials,
        maxAttempts: 1,
      });
      try {
        await expect(dynamodb.send(new ListTablesCommand({}))).rejects.toMatchObject({
          name: 'InvalidSignatureException',
          $metadata: { httpStatusCode: 403 },
        });
        await expect(
          dynamodb.send(
            new PutItemCommand({
              TableName: services.claimsTableName,
              Item: { jobId: { S: 'forged' } },
            }),
          ),
        ).rejects.toMatchObject({ $metadata: { httpStatusCode: 403 } });
        await expect(sqs.send(new ListQueuesCommand({}))).rejects.toMatchObject({
          $metadata: { httpStatusCode: 403 },
        });
      } finally {
        dynamodb.destroy();
        sqs.destroy();
      }
    }
    // Nothing forged was written; this start's own clients are served.
    const item = await services.dynamodb.send(
      new GetItemCommand({
        TableName: services.claimsTableName,
        Key: { jobId: { S: 'forged' } },
        ConsistentRead: true,
      }),
    );
    expect(item.Item).toBeUndefined();
    expect((await services.dynamodb.send(new ListTablesCommand({}))).TableNames).toContain(
      services.tableName,
    );
    const queue = await services.sqs.send(
      new GetQueueAttributesCommand({
        QueueUrl: services.queues['script-executions'].url,
        AttributeNames: ['QueueArn'],
      }),
    );
    expect(queue.Attributes?.QueueArn).toBe(services.queues['script-executions'].arn);
    // The credentials went to the thread in its start data, never through this process's environment.
    expect(Object.values(process.env)).not.toContain(services.credentials.secretAccessKey);
  });

  it('free both ports at stop(), and keep the table across a restart on the same folder', async () => {
    const dataDir = folder();
    const credentials = freshCredentials();
    const first = await startLocalServices({ dataDir, credentials, visibilityTimeoutSeconds: 7 });
    await first.dynamodb.send(
      new PutItemCommand({ TableName: first.claimsTableName, Item: { jobId: { S: 'kept' } } }),
    );
    expect(await reachable(first.dynamodbEndpoint)).toBe(true);
    await first.stop();
    expect(await reachable(first.dynamodbEndpoint)).toBe(false);
    expect(await reachable(first.sqsEndpoint)).toBe(false);
    await first.stop(); // twice is fine

    const again = await start({ dataDir, credentials: freshCredentials(), visibilityTimeoutSeconds: 7 });
    const item = await again.dynamodb.send(
      new GetItemCommand({
        TableName: again.claimsTableName,
        Key: { jobId: { S: 'kept' } },
        ConsistentRead: true,
      }),
    );
    expect(item.Item?.jobId?.S).toBe('kept');
    const attributes = await again.sqs.send(
      new GetQueueAttributesCommand({
        QueueUrl: again.queues['http-executions'].url,
        AttributeNames: ['VisibilityTimeout'],
      }),
    );
    expect(attributes.Attributes?.VisibilityTimeout).toBe('7');
  });

  it('report their thread’s death to onCrash (here: the data folder removed under a running store)', async () => {
    const dataDir = folder();
    const crashes: LocalServicesError[] = [];
    const services = await start({ dataDir, onCrash: (error) => crashes.push(error) });
    rmSync(join(dataDir, 'dynamodb'), { recursive: true, force: true });
    // The storage guard finds the data folder gone: it refuses the write and the services' thread dies
    // of it, explained (lib/local/storage-guard.ts).
    await expect(
      services.dynamodb.send(
        new PutItemCommand({ TableName: services.claimsTableName, Item: { jobId: { S: 'lost' } } }),
      ),
    ).rejects.toThrow();
    await expect.poll(() => crashes.length).toBe(1);
    expect(crashes[0]).toBeInstanceOf(LocalServicesError);
    expect(crashes[0]?.message).toMatch(/^The local services' thread failed: .*ENOENT/);
    expect(await reachable(services.dynamodbEndpoint)).toBe(false);
  });

  it('kill the process, loudly, when their thread dies and no one said otherwise', () => {
    const dataDir = folder();
    const script = `import { rmSync } from 'node:fs';
import { PutItemCommand } from '@aws-sdk/client-dynamodb';
import { startLocalServices } from './lib/local/services.ts';
const services = await startLocalServices({ dataDir: ${JSON.stringify(dataDir)}, visibilityTimeoutSeconds: null });
rmSync(${JSON.stringify(join(dataDir, 'dynamodb'))}, { recursive: true, force: true });
process.stdout.write('removed\\n');
await services.dynamodb.send(new PutItemCommand({ TableName: services.claimsTableName, Item: { jobId: { S: 'x' } } })).catch(() => undefined);
await new Promise((resolve) => setTimeout(resolve, 20_000));
process.stdout.write('still alive\\n');`;
    const child = spawnSync(process.execPath, ['--input-type=module', '-e', script], {
      cwd: REPOSITORY_ROOT,
      encoding: 'utf8',
      timeout: 60_000,
    });
    expect(child.stdout).toContain('removed');
    expect(child.stdout).not.toContain('still alive');
    expect(child.status).toBe(1);
    expect(child.stderr).toContain("LocalServicesError: The local services' thread failed");
  });
});
