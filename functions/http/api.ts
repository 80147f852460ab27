/**
 * Builds an API Lambda handler from its route tables: the core is assembled once per process from
 * the function's environment, and every request goes through the shared pipeline.
 */
import { Logger } from '@aws-lambda-powertools/logger';
import { LambdaClient } from '@aws-sdk/client-lambda';
import { LambdaScriptChecker } from '../core/assets/checker.ts';
import { tableFromEnv } from '../core/db.ts';
import { ENV, functionNameEnv, requireEnv } from '../core/env.ts';
import { type Core, createCore, parseList } from '../core/platform.ts';
import { queuesFromEnv } from '../core/queues.ts';
import type { DomainContext } from '../core/tenancy/domain.ts';
import { createApiHandler } from './pipeline.ts';
import type { Route } from './router.ts';

export interface ApiDefinition {
  readonly serviceName: string;
  readonly surfaces: readonly string[];
  readonly accepts: (domain: DomainContext, surface: string) => boolean;
  readonly routes: (core: Core) => readonly Route[];
}

export function apiFromEnv(definition: ApiDefinition, env: NodeJS.ProcessEnv = process.env) {
  const logger = new Logger({ serviceName: definition.serviceName });
  const core = createCore({
    table: tableFromEnv(env),
    tokenSecret: requireEnv(ENV.tokenSecret, env),
    superAdmins: parseList(env[ENV.superAdmins]),
    queues: queuesFromEnv(['script-executions', 'http-executions'], env),
    ...checkerFromEnv(env),
  });
  const handler = createApiHandler({
    surfaces: definition.surfaces,
    accepts: definition.accepts,
    routes: definition.routes(core),
    hosts: core.hosts,
    authenticate: (domain, request) => core.auth.authenticate(domain, request.headers.authorization),
    originSecret: requireEnv(ENV.originSecret, env),
    logger,
    securityEvents: core.securityEvents,
  });
  return { core, handler };
}

/** The Python runtime's syntax check, where this function may invoke the worker. */
function checkerFromEnv(env: NodeJS.ProcessEnv) {
  const worker = env[functionNameEnv('script-worker')];
  if (worker === undefined || worker === '') return {};
  const endpoint = env[ENV.lambdaEndpoint];
  const client = new LambdaClient(endpoint === undefined || endpoint === '' ? {} : { endpoint });
  return { checker: new LambdaScriptChecker(client, worker) };
}
