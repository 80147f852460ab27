/**
 * How the platform's SDK clients are built (functions/core/sdk-clients.ts), through the real SDK
 * clients against the local services (dynalite behind the SigV4 guard): off AWS a client signs with
 * one fixed signer (the SDK's own, asked once) and sheds the logger, user-agent and recursion-detection middlewares; on AWS it
 * keeps the SDK's own signer (its credentials refresh), user agent and recursion detection. The fixed
 * signer must sign every request with the time of that request and the client's own credentials only.
 */
import { DynamoDBClient, GetItemCommand } from '@aws-sdk/client-dynamodb';
import { SQSClient } from '@aws-sdk/client-sqs';
import { SignatureV4 } from '@smithy/signature-v4';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dynamodbClientFromEnv } from '../../../functions/clients/dynamodb.ts';
import { sqsClientFromEnv } from '../../../functions/clients/sqs.ts';
import { ENV } from '../../../functions/core/env.ts';
import {
  lean,
  platformClient,
  sqsSettings,
  UNUSED_EVERYWHERE,
  UNUSED_OFF_AWS,
} from '../../../functions/core/sdk-clients.ts';
import { freshCredentials, type LocalServices, startLocalServices } from '../../../lib/local/services.ts';

let services: LocalServices;

beforeAll(async () => {
  services = await startLocalServices({
    dataDir: null,
    visibilityTimeoutSeconds: null,
    log: () => undefined,
  });
});

afterAll(async () => {
  await services?.stop();
});

function localEnv(credentials = services.credentials): Record<string, string> {
  return {
    AWS_REGION: 'us-east-1',
    AWS_ACCESS_KEY_ID: credentials.accessKeyId,
    AWS_SECRET_ACCESS_KEY: credentials.secretAccessKey,
    [ENV.dynamodbEndpoint]: services.dynamodbEndpoint,
    [ENV.sqsEndpoint]: services.sqsEndpoint,
  };
}

const names = (client: { middlewareStack: { identify(): string[] } }) =>
  client.middlewareStack.identify().map((entry) => entry.split(' ')[0]);

/** The headers of each request as sent: the deserialize step runs after signing (finalizeRequest). */
function signedHeaders(client: DynamoDBClient): Record<string, string>[] {
  const seen: Record<string, string>[] = [];
  client.middlewareStack.add(
    (next) => async (args) => {
      seen.push({ ...(args.request as { headers: Record<string, string> }).headers });
      return next(args);
    },
    { step: 'deserialize', name: 'testSignedHeaders' },
  );
  return seen;
}

const get = (client: DynamoDBClient) =>
  client.send(new GetItemCommand({ TableName: services.claimsTableName, Key: { jobId: { S: 'nothing' } } }));

describe('platform SDK clients', () => {
  it('off AWS: a fixed signer, and no logger, user-agent or recursion-detection middleware', async () => {
    for (const client of [dynamodbClientFromEnv(localEnv()), sqsClientFromEnv(localEnv())]) {
      const stack = names(client);
      for (const name of [...UNUSED_EVERYWHERE, ...UNUSED_OFF_AWS]) expect(stack).not.toContain(name);
      expect(stack).toContain('retryMiddleware');
      expect(stack).toContain('httpSigningMiddleware');
      expect(stack).toContain('execfabricObserveRequests');
      // One signer, the SDK's own class, for every request.
      const first = await client.config.signer();
      expect(first).toBeInstanceOf(SignatureV4);
      expect(await client.config.signer()).toBe(first);
      client.destroy();
    }
  });

  it('on AWS: the SDK’s own signer, user agent and recursion detection are kept; only the logger goes', async () => {
    // No endpoint: the Lambda environment's region and refreshing credentials stay the SDK's, and
    // the SDK builds a signer per request (one that reads the credentials' latest refresh).
    const client = platformClient({ region: 'eu-west-1' }, (config) => new SQSClient(config));
    const signer = await client.config.signer();
    expect(signer).toBeInstanceOf(SignatureV4);
    expect(await client.config.signer()).not.toBe(signer);
    // An endpoint with credentials from a provider (an STS session) keeps the SDK's signer too.
    const provided = platformClient(
      { endpoint: 'http://127.0.0.1:1', region: 'us-east-1' },
      (config) => new DynamoDBClient({ ...config, credentials: async () => services.credentials }),
    );
    expect(await provided.config.signer()).not.toBe(await provided.config.signer());
    provided.destroy();
    const stack = names(client);
    expect(stack).not.toContain('loggerMiddleware');
    for (const name of UNUSED_OFF_AWS) expect(stack).toContain(name);
    client.destroy();
    const plain = new DynamoDBClient({ region: 'eu-west-1' });
    expect(names(lean(plain, {}))).toContain('getUserAgentMiddleware');
    plain.destroy();
  });

  it('skips the MD5 of SQS message bodies off AWS only', () => {
    const local = { endpoint: services.sqsEndpoint, region: 'us-east-1', credentials: services.credentials };
    expect(sqsSettings(local)).toEqual({ ...local, md5: false });
    expect(sqsSettings({})).toEqual({});
    expect(sqsSettings({ region: 'eu-west-1' })).not.toHaveProperty('md5');
  });

  it('signs each request when it is sent, with the client’s credentials, which the guard verifies', async () => {
    const client = dynamodbClientFromEnv(localEnv());
    const seen = signedHeaders(client);
    await get(client);
    await new Promise((resolve) => setTimeout(resolve, 1100));
    await get(client);
    client.destroy();
    expect(seen).toHaveLength(2);
    const [first, second] = seen as [Record<string, string>, Record<string, string>];
    // A fixed signer must not fix the time: each request carries its own date and signature.
    expect(first['x-amz-date']).not.toBe(second['x-amz-date']);
    expect(first.authorization).not.toBe(second.authorization);
    const now = Date.now();
    const dated = (header: string | undefined) =>
      Date.parse(
        String(header).replace(/^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/, '$1-$2-$3T$4:$5:$6Z'),
      );
    expect(Math.abs(now - dated(second['x-amz-date']))).toBeLessThan(5_000);
    expect(second.authorization).toContain(`Credential=${services.credentials.accessKeyId}/`);
    expect(second.authorization).toContain('/us-east-1/dynamodb/aws4_request');
  });

  it('is refused by the guard when it signs with another start’s credentials', async () => {
    const stranger = dynamodbClientFromEnv(localEnv(freshCredentials()));
    await expect(get(stranger)).rejects.toMatchObject({ $metadata: { httpStatusCode: 403 } });
    stranger.destroy();
    // The same key id with another secret: the signature is checked, not only the key id.
    const forged = dynamodbClientFromEnv(
      localEnv({ accessKeyId: services.credentials.accessKeyId, secretAccessKey: 'guessed-secret' }),
    );
    await expect(get(forged)).rejects.toMatchObject({ $metadata: { httpStatusCode: 403 } });
    forged.destroy();
  });
});
