/**
 * The storage guard when its own check fails (lib/local/storage-guard.ts): the data folder's free
 * space cannot be read — here its path made a symlink loop (ELOOP) while the store's folder itself
 * stays intact — so writes are refused (503, logged once) and taken again once it can be read, with
 * nothing of the refused writes kept; the folder replaced under the running store (removed and made
 * again, as a second start on the same data folder would) stops the services, loudly and explained,
 * instead of taking writes a start would never see. The folder simply removed is the crash test of
 * test/integration/local-services.test.ts.
 */
import { mkdirSync, renameSync, rmSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { DynamoDBClient, GetItemCommand, PutItemCommand } from '@aws-sdk/client-dynamodb';
import { describe, expect, it } from 'vitest';
import { LOCAL_REGION, type LocalServices, type LocalServicesError } from '../../lib/local/services.ts';
import { servicesScratch } from '../support/local-services.ts';

const { folder, start } = servicesScratch('execfabric-guard-');

/** Points the symlink at `link` to `target`, in one rename (no moment without a link). */
function repoint(root: string, link: string, target: string): void {
  const next = join(root, 'next');
  symlinkSync(target, next);
  renameSync(next, join(root, link));
}

/** A client of this start that does not retry: each refusal is seen as it is. */
function once(services: LocalServices): DynamoDBClient {
  return new DynamoDBClient({
    endpoint: services.dynamodbEndpoint,
    region: LOCAL_REGION,
    credentials: services.credentials,
    maxAttempts: 1,
  });
}

function put(client: DynamoDBClient, services: LocalServices, jobId: string) {
  return client.send(
    new PutItemCommand({ TableName: services.claimsTableName, Item: { jobId: { S: jobId } } }),
  );
}

async function read(services: LocalServices, jobId: string): Promise<string | undefined> {
  const item = await services.dynamodb.send(
    new GetItemCommand({
      TableName: services.claimsTableName,
      Key: { jobId: { S: jobId } },
      ConsistentRead: true,
    }),
  );
  return item.Item?.jobId?.S;
}

describe('the storage guard when its check fails', () => {
  it('refuses writes while the free space cannot be read, logs it once, and takes writes again after', async () => {
    const root = folder();
    mkdirSync(join(root, 'real'));
    symlinkSync('real', join(root, 'data'));
    const dataDir = join(root, 'data');
    const lines: string[] = [];
    const crashes: LocalServicesError[] = [];
    const options = { dataDir, visibilityTimeoutSeconds: null, log: (line: string) => lines.push(line) };
    const services = await start({ ...options, onCrash: (error) => crashes.push(error) });
    const client = once(services);
    try {
      await put(client, services, 'before');

      repoint(root, 'data', 'data'); // a loop: statfs of data/dynamodb is ELOOP
      for (const jobId of ['refused-1', 'refused-2']) {
        await expect(put(client, services, jobId)).rejects.toMatchObject({
          name: 'ServiceUnavailableException',
          message: expect.stringMatching(/free space cannot be read \(ELOOP.*writes resume once it can/),
          $metadata: { httpStatusCode: 503 },
        });
      }
      expect(await read(services, 'before')).toBe('before'); // reads go on
      expect(lines.filter((line) => line.includes('cannot be read'))).toHaveLength(1);

      repoint(root, 'data', 'real');
      await put(client, services, 'after');
      expect(lines.at(-1)).toMatch(/taking writes/);
      expect(crashes).toEqual([]);
    } finally {
      client.destroy();
    }
    await services.stop();

    // What was acknowledged is on disk; nothing of the refused writes is.
    const again = await start(options);
    expect(await read(again, 'before')).toBe('before');
    expect(await read(again, 'after')).toBe('after');
    expect(await read(again, 'refused-1')).toBeUndefined();
    expect(await read(again, 'refused-2')).toBeUndefined();
  });

  it('stops the services, explained, when the data folder is replaced under the running store', async () => {
    const dataDir = folder();
    const crashes: LocalServicesError[] = [];
    const services = await start({
      dataDir,
      visibilityTimeoutSeconds: null,
      onCrash: (error) => crashes.push(error),
    });
    const client = once(services);
    try {
      await put(client, services, 'before');
      // Removed and made again: statfs works, but the store's files are not in this folder.
      rmSync(join(dataDir, 'dynamodb'), { recursive: true, force: true });
      mkdirSync(join(dataDir, 'dynamodb'));
      await expect(put(client, services, 'lost')).rejects.toMatchObject({
        name: 'ServiceUnavailableException',
        message: expect.stringMatching(/was replaced under the running store/),
      });
    } finally {
      client.destroy();
    }
    await expect.poll(() => crashes.length).toBe(1);
    expect(crashes[0]?.message).toMatch(
      /^The local services' thread failed: The data folder .* was replaced under the running store/,
    );
  });
});
