/**
 * Builds an API Lambda handler from its route tables: the core is assembled once per process from
 * the function's environment, and every request goes through the shared pipeline.
 */
import { Logger } from '@aws-lambda-powertools/logger';
import { tableFromEnv } from '../core/db.ts';
import { ENV, requireEnv } from '../core/env.ts';
import { type Core, createCore, parseList } from '../core/platform.ts';
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
  });
  const handler = createApiHandler({
    surfaces: definition.surfaces,
    accepts: definition.accepts,
    routes: definition.routes(core),
    hosts: core.hosts,
    authenticate: (domain, request) => core.auth.authenticate(domain, request.headers.authorization),
    originSecret: requireEnv(ENV.originSecret, env),
    logger,
  });
  return { core, handler };
}
