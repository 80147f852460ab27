/**
 * Batch reads and throttling: DynamoDB may answer a BatchGetItem with some keys in `UnprocessedKeys`
 * (dynalite never does). `batchGetAll` asks again for those, and answers 503 when they stay
 * unprocessed — an unprocessed key is never taken for a missing item (a session read as absent would
 * sign a user out; a role read as absent would be cached as a refusal). Driven through the real SDK
 * document client against a loopback stand-in that speaks DynamoDB's JSON protocol.
 */
import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  BATCH_GET_ATTEMPTS,
  BATCH_GET_KEYS,
  batchGetAll,
  batchGetMany,
  type Table,
} from '../../functions/core/db.ts';
import { ServiceUnavailableError } from '../../functions/core/errors.ts';

const TABLE = 'platform';
let server: Server;
let table: Table;
/** How many BatchGetItem requests leave every key unprocessed before one answers them. */
let throttledAnswers = 0;
const requests: { keys: number; consistent: boolean }[] = [];

beforeAll(async () => {
  server = createServer((request, response) => {
    let body = '';
    request.on('data', (chunk) => {
      body += chunk;
    });
    request.on('end', () => {
      const input = JSON.parse(body) as {
        RequestItems: Record<
          string,
          { Keys: { PK: { S: string }; SK: { S: string } }[]; ConsistentRead?: boolean }
        >;
      };
      const asked = input.RequestItems[TABLE];
      requests.push({ keys: asked?.Keys.length ?? 0, consistent: asked?.ConsistentRead === true });
      const answer =
        throttledAnswers-- > 0
          ? { Responses: { [TABLE]: [] }, UnprocessedKeys: { [TABLE]: { Keys: asked?.Keys ?? [] } } }
          : {
              // Every key exists but the one whose SK is "missing".
              Responses: {
                [TABLE]: (asked?.Keys ?? [])
                  .filter((key) => key.SK.S !== 'missing')
                  .map((key) => ({ PK: key.PK, SK: key.SK, value: { S: `item ${key.SK.S}` } })),
              },
              UnprocessedKeys: {},
            };
      response.writeHead(200, { 'content-type': 'application/x-amz-json-1.0' });
      response.end(JSON.stringify(answer));
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  table = {
    name: TABLE,
    client: DynamoDBDocumentClient.from(
      new DynamoDBClient({
        endpoint: `http://127.0.0.1:${port}`,
        region: 'us-east-1',
        credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
        maxAttempts: 1,
      }),
    ),
  };
});

afterAll(async () => {
  server?.close();
});

describe('batchGetAll', () => {
  it('asks again for the keys a throttled answer left unprocessed', async () => {
    requests.length = 0;
    throttledAnswers = 2;
    const items = await batchGetAll(
      table,
      [
        { PK: 'T#acme', SK: 'a' },
        { PK: 'T#acme', SK: 'b' },
      ],
      { consistent: true },
    );
    expect(items.map((item) => item.value).sort()).toEqual(['item a', 'item b']);
    expect(requests).toEqual([
      { keys: 2, consistent: true },
      { keys: 2, consistent: true },
      { keys: 2, consistent: true },
    ]);
  });

  it('answers a missing item as absent, not as an error', async () => {
    throttledAnswers = 0;
    const items = await batchGetAll(table, [
      { PK: 'T#acme', SK: 'a' },
      { PK: 'T#acme', SK: 'missing' },
    ]);
    expect(items.map((item) => item.SK)).toEqual(['a']);
  });

  it('gives up with a 503 after its attempts, never reading unprocessed keys as missing', async () => {
    requests.length = 0;
    throttledAnswers = BATCH_GET_ATTEMPTS;
    const read = batchGetAll(table, [{ PK: 'T#acme', SK: 'a' }]);
    await expect(read).rejects.toBeInstanceOf(ServiceUnavailableError);
    expect(requests).toHaveLength(BATCH_GET_ATTEMPTS);
    // One throttled answer fewer, and the read succeeds on its last attempt.
    throttledAnswers = BATCH_GET_ATTEMPTS - 1;
    await expect(batchGetAll(table, [{ PK: 'T#acme', SK: 'a' }])).resolves.toHaveLength(1);
  });

  it('refuses more keys than one request may carry', async () => {
    const keys = Array.from({ length: 101 }, (_, index) => ({ PK: 'T#acme', SK: String(index) }));
    await expect(batchGetAll(table, keys)).rejects.toThrow(/At most 100 keys/);
  });
});

describe('batchGetMany', () => {
  it('reads any number of keys, one request per hundred, a missing item absent', async () => {
    requests.length = 0;
    throttledAnswers = 0;
    const keys = Array.from({ length: 2 * BATCH_GET_KEYS + 1 }, (_, index) => ({
      PK: 'T#acme',
      SK: `k${index}`,
    }));
    const items = await batchGetMany(table, [...keys, { PK: 'T#acme', SK: 'missing' }]);
    expect(items.map((item) => item.SK).sort()).toEqual(keys.map((key) => key.SK).sort());
    // Three batches: 100, 100 and 2 keys.
    expect(requests.map((request) => request.keys).sort((a, b) => a - b)).toEqual([2, 100, 100]);
    expect(await batchGetMany(table, [])).toEqual([]);
  });
});
