/**
 * What a deployed Node function's environment holds, for loading its bundle outside Lambda (the
 * bundle bench, the bundled-function tests): a region, credentials, every table, queue, function and
 * secret name it may read at init, and the message keys as values so that no secret is fetched. The
 * values are dummies that nothing reaches at init; `overrides` points a function at local services.
 */
import { randomUUID } from 'node:crypto';
import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import { HOST_HEADER, ORIGIN_HEADER } from '../../functions/contract/headers.ts';
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

export interface EdgeEventInit {
  readonly method: string;
  /** The path as the edge forwards it: the host's surface first (`/tenant/api/skills`). */
  readonly rawPath: string;
  /** API Gateway's route. @default `ANY /<surface>/api/{proxy+}` */
  readonly routeKey?: string;
  /** Every header the function sees (the origin proof and the host among them). */
  readonly headers: Readonly<Record<string, string>>;
  /** A JSON body, serialised. */
  readonly body?: unknown;
  readonly sourceIp?: string;
}

/**
 * An API Gateway (payload 2.0) event as the edge forwards a request to an API function, for the tests
 * and benches that invoke a handler or a bundled function directly (lib/local/router.ts builds the
 * local platform's own).
 */
export function edgeEvent(init: EdgeEventInit): APIGatewayProxyEventV2 {
  const surface = init.rawPath.split('/')[1] ?? '';
  const routeKey = init.routeKey ?? `ANY /${surface}/api/{proxy+}`;
  const now = new Date();
  return {
    version: '2.0',
    routeKey,
    rawPath: init.rawPath,
    rawQueryString: '',
    headers: {
      ...(init.body === undefined ? {} : { 'content-type': 'application/json' }),
      ...init.headers,
    },
    requestContext: {
      accountId: '000000000000',
      apiId: 'local',
      domainName: 'local',
      domainPrefix: 'local',
      http: {
        method: init.method,
        path: init.rawPath,
        protocol: 'HTTP/1.1',
        sourceIp: init.sourceIp ?? '192.0.2.1',
        userAgent: '',
      },
      requestId: randomUUID(),
      routeKey,
      stage: '$default',
      time: now.toUTCString(),
      timeEpoch: now.getTime(),
    },
    ...(init.body === undefined ? {} : { body: JSON.stringify(init.body) }),
    isBase64Encoded: false,
  };
}

export interface ForwardedInit {
  readonly method: string;
  /** The surface the host is bound to (the first segment the edge adds: `tenant`, `free`…). */
  readonly surface: string;
  readonly host: string;
  /** The viewer's path (`/api/skills`). */
  readonly path: string;
  /** More headers (a token…). */
  readonly headers?: Readonly<Record<string, string>>;
  readonly body?: unknown;
  readonly sourceIp?: string;
}

/**
 * A viewer's request as the edge forwards it to an API function configured with `env`: its origin
 * proof, the host, JSON accepted.
 */
export function forwardedEvent(env: NodeJS.ProcessEnv, init: ForwardedInit): APIGatewayProxyEventV2 {
  return edgeEvent({
    method: init.method,
    rawPath: `/${init.surface}${init.path}`,
    headers: {
      [ORIGIN_HEADER]: env[ENV.originSecret] ?? '',
      [HOST_HEADER]: init.host,
      accept: 'application/json',
      ...init.headers,
    },
    body: init.body,
    ...(init.sourceIp === undefined ? {} : { sourceIp: init.sourceIp }),
  });
}
