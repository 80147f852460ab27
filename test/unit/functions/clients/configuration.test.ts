/**
 * How a function's configuration reaches its AWS clients and logger: off Lambda (an endpoint given)
 * a client takes its endpoint, region and credentials from the record it is given; in AWS (no
 * endpoint) nothing is set and the SDK's default chain keeps the execution environment's session
 * credentials. The logger's level comes from the record too, whatever `process.env` says.
 */
import { describe, expect, it } from 'vitest';
import { documentClient, tableFromEnv } from '../../../../functions/clients/dynamodb.ts';
import { loggerFromEnv, logLevelFromEnv } from '../../../../functions/clients/logger.ts';
import { sqsClientFromEnv } from '../../../../functions/clients/sqs.ts';
import {
  awsClientSettings,
  ENV,
  MissingConfigurationError,
  requireEnv,
} from '../../../../functions/core/env.ts';

const LOCAL = {
  AWS_REGION: 'eu-local-1',
  AWS_ACCESS_KEY_ID: 'AKIDLOCAL',
  AWS_SECRET_ACCESS_KEY: 'local-secret',
  [ENV.dynamodbEndpoint]: 'http://127.0.0.1:4567',
  [ENV.sqsEndpoint]: 'http://127.0.0.1:4568',
  [ENV.tableName]: 'local-table',
};

describe('awsClientSettings', () => {
  it('leaves everything to the default chain where no endpoint is configured (AWS)', () => {
    expect(awsClientSettings({}, ENV.dynamodbEndpoint)).toEqual({});
    // A Lambda environment: region and session credentials are there, and still left to the SDK.
    expect(
      awsClientSettings(
        {
          AWS_REGION: 'eu-west-1',
          AWS_ACCESS_KEY_ID: 'ASIA',
          AWS_SECRET_ACCESS_KEY: 's',
          AWS_SESSION_TOKEN: 't',
        },
        ENV.dynamodbEndpoint,
      ),
    ).toEqual({});
    expect(awsClientSettings({ [ENV.dynamodbEndpoint]: '' }, ENV.dynamodbEndpoint)).toEqual({});
  });

  it('takes endpoint, region and credentials from the record off Lambda', () => {
    expect(awsClientSettings(LOCAL, ENV.dynamodbEndpoint)).toEqual({
      endpoint: 'http://127.0.0.1:4567',
      region: 'eu-local-1',
      credentials: { accessKeyId: 'AKIDLOCAL', secretAccessKey: 'local-secret' },
    });
    expect(awsClientSettings({ ...LOCAL, AWS_SESSION_TOKEN: 'token' }, ENV.sqsEndpoint)).toEqual({
      endpoint: 'http://127.0.0.1:4568',
      region: 'eu-local-1',
      credentials: { accessKeyId: 'AKIDLOCAL', secretAccessKey: 'local-secret', sessionToken: 'token' },
    });
    // Half a key pair is no credentials: the client would not sign with it.
    expect(
      awsClientSettings(
        { [ENV.sqsEndpoint]: 'http://127.0.0.1:1', AWS_ACCESS_KEY_ID: 'AKID' },
        ENV.sqsEndpoint,
      ),
    ).toEqual({ endpoint: 'http://127.0.0.1:1' });
  });

  it('reaches the clients the functions build', async () => {
    const sqs = sqsClientFromEnv(LOCAL);
    expect(await sqs.config.region()).toBe('eu-local-1');
    expect(await sqs.config.credentials()).toMatchObject({ accessKeyId: 'AKIDLOCAL' });
    const endpoint = await sqs.config.endpoint?.();
    expect(`${endpoint?.protocol}//${endpoint?.hostname}:${endpoint?.port}`).toBe('http://127.0.0.1:4568');
    sqs.destroy();
    const table = tableFromEnv(LOCAL);
    expect(table.name).toBe('local-table');
    expect(await table.client.config.region()).toBe('eu-local-1');
    table.client.destroy();
    const client = documentClient(LOCAL);
    expect(await client.config.credentials()).toMatchObject({ secretAccessKey: 'local-secret' });
    client.destroy();
  });
});

describe('requireEnv', () => {
  it('reads only the record it is given', () => {
    expect(requireEnv(ENV.tableName, LOCAL)).toBe('local-table');
    expect(() => requireEnv(ENV.tableName, {})).toThrow(MissingConfigurationError);
    expect(() => requireEnv(ENV.tableName, { [ENV.tableName]: '' })).toThrow(MissingConfigurationError);
  });
});

describe('loggerFromEnv', () => {
  it("takes the level from the record, Powertools' default otherwise", () => {
    expect(loggerFromEnv('a', { POWERTOOLS_LOG_LEVEL: 'ERROR' }).getLevelName()).toBe('ERROR');
    expect(loggerFromEnv('b', { POWERTOOLS_LOG_LEVEL: 'debug' }).getLevelName()).toBe('DEBUG');
    expect(loggerFromEnv('c', { LOG_LEVEL: 'WARN' }).getLevelName()).toBe('WARN');
    expect(loggerFromEnv('d', {}).getLevelName()).toBe('INFO');
    expect(logLevelFromEnv({ POWERTOOLS_LOG_LEVEL: 'LOUD' })).toBeUndefined();
  });
});
