/**
 * Builds an API Lambda handler from its route tables: the core is assembled once per process from
 * the function's environment, and every request goes through the shared pipeline.
 */
import { Logger } from '@aws-lambda-powertools/logger';
import { LambdaClient } from '@aws-sdk/client-lambda';
import { LambdaScriptChecker } from '../core/assets/checker.ts';
import { documentClient, tableFromEnv } from '../core/db.ts';
import { ENV, functionNameEnv, requireEnv } from '../core/env.ts';
import { TableJobClaims } from '../core/executions/claims.ts';
import type { HostEdge } from '../core/governance/edge.ts';
import { messageSignerFromEnv } from '../core/messages/keys.ts';
import { type Core, createCore, parseList } from '../core/platform.ts';
import { queuesFromEnv } from '../core/queues.ts';
import { observed } from '../core/sdk-requests.ts';
import type { DomainContext } from '../core/tenancy/domain.ts';
import { scopeTableClient, tenantClientsFromEnv } from '../core/tenancy/tenant-scope.ts';
import { authenticateMcpClient } from './mcp-auth.ts';
import { createApiHandler } from './pipeline.ts';
import type { Route } from './router.ts';

export interface ApiDefinition {
  readonly serviceName: string;
  readonly surfaces: readonly string[];
  readonly accepts: (domain: DomainContext, surface: string) => boolean;
  readonly routes: (core: Core) => readonly Route[];
  /**
   * Serves one tenant per request: its DynamoDB requests run in the request's tenant scope (see
   * core/tenancy/tenant-scope.ts), with that tenant's own STS session where the stack gives a
   * tenant-data role.
   * @default false
   */
  readonly tenantScoped?: boolean;
  /** Where this API provisions hosts (the governance API: CloudFront when configured). @default none */
  readonly hostEdge?: () => HostEdge;
}

export async function apiFromEnv(definition: ApiDefinition, env: NodeJS.ProcessEnv = process.env) {
  const logger = new Logger({ serviceName: definition.serviceName });
  // Jobs this API dispatches are signed with the jobs key (read once, at cold start).
  const signer = await messageSignerFromEnv(['jobs'], { env });
  const table = tableFromEnv(env);
  if (definition.tenantScoped === true) scopeTableClient(table.client, tenantClientsFromEnv(env));
  const core = createCore({
    table,
    tokenSecret: requireEnv(ENV.tokenSecret, env),
    superAdmins: parseList(env[ENV.superAdmins]),
    queues: queuesFromEnv(['script-executions', 'http-executions'], signer, env),
    signer,
    ...checkerFromEnv(env),
    ...claimsFromEnv(env),
    ...(definition.hostEdge === undefined ? {} : { hostEdge: definition.hostEdge() }),
  });
  const handler = createApiHandler({
    surfaces: definition.surfaces,
    accepts: definition.accepts,
    routes: definition.routes(core),
    hosts: core.hosts,
    authenticate: (domain, credential) =>
      credential.kind === 'bearer'
        ? core.auth.authenticate(domain, credential.header)
        : core.auth.authenticateSessionToken(domain, credential.token),
    authenticateMcpClient: (domain, request) => authenticateMcpClient(core, domain, request),
    csrfToken: (caller) => core.auth.csrfToken(caller),
    originSecret: requireEnv(ENV.originSecret, env),
    logger,
    securityEvents: core.securityEvents,
    tenantScoped: definition.tenantScoped === true,
  });
  return { core, handler };
}

/** The claims table, where this function may claim jobs (the tenant API, to cancel queued runs). */
function claimsFromEnv(env: NodeJS.ProcessEnv) {
  const name = env[ENV.claimsTableName];
  if (name === undefined || name === '') return {};
  const endpoint = env[ENV.dynamodbEndpoint];
  const client = documentClient(endpoint === undefined || endpoint === '' ? undefined : endpoint);
  return { claims: new TableJobClaims({ client, name }) };
}

/** The Python runtime's syntax check, where this function may invoke the worker. */
function checkerFromEnv(env: NodeJS.ProcessEnv) {
  const worker = env[functionNameEnv('script-worker')];
  if (worker === undefined || worker === '') return {};
  const endpoint = env[ENV.lambdaEndpoint];
  const client = observed(new LambdaClient(endpoint === undefined || endpoint === '' ? {} : { endpoint }));
  return { checker: new LambdaScriptChecker(client, worker) };
}
