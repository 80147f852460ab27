/**
 * What a deployed Node function's environment holds, for loading its bundle outside Lambda (the
 * bundle bench, the bundled-function tests): a region, credentials, every table, queue, function and
 * secret name it may read at init, and the message keys as values so that no secret is fetched. The
 * values are dummies that nothing reaches at init; `overrides` points a function at local services.
 */
import { ENV, type Environment, functionNameEnv, queueUrlEnv } from '../../functions/core/env.ts';
import { messageKeyEnv } from '../../functions/core/messages/keys.ts';
import { functions, queues } from '../../lib/topology.ts';

export function lambdaEnvironment(overrides: Environment = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH,
    AWS_REGION: 'eu-west-1',
    AWS_DEFAULT_REGION: 'eu-west-1',
    AWS_ACCESS_KEY_ID: 'AKIDBENCH',
    AWS_SECRET_ACCESS_KEY: 'bench',
    AWS_LAMBDA_FUNCTION_NAME: 'bench',
    NODE_ENV: 'production',
    [ENV.tableName]: 'execfabric-bench',
    [ENV.claimsTableName]: 'execfabric-bench-claims',
    [ENV.originSecret]: 'o'.repeat(64),
    [ENV.tokenSecret]: 't'.repeat(64),
    [ENV.credentialPrefix]: 'execfabric/bench/http-credentials/',
    [messageKeyEnv('jobs').value]: 'j'.repeat(64),
    [messageKeyEnv('reports').value]: 'r'.repeat(64),
  };
  for (const name of Object.keys(queues))
    env[queueUrlEnv(name)] = `https://sqs.eu-west-1.amazonaws.com/123456789012/${name}`;
  for (const name of Object.keys(functions)) env[functionNameEnv(name)] = `execfabric-${name}`;
  return { ...env, ...overrides };
}
