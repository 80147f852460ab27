/**
 * Builds an API Lambda handler from its route tables: the core is assembled once per function
 * instance from the environment it is given (Lambda's process environment, passed by the entry, or the local
 * platform's record) — its sign-in half at a cold start, the rest on first use — and every request goes
 * through the shared pipeline.
 */
import type { Logger } from '@aws-lambda-powertools/logger';
import { tableFromEnv } from '../clients/dynamodb.ts';
import { loggerFromEnv } from '../clients/logger.ts';
import { messageSignerFromEnv } from '../clients/message-keys.ts';
import { scriptCheckerFromEnv } from '../clients/script-checker.ts';
import { queuesFromEnv } from '../clients/sqs.ts';
import { PollSlotRepository } from '../core/agents/poll-slots.ts';
import { createSignInCore, type LazyCore, lazyCore } from '../core/assembly/sign-in.ts';
import type { Table } from '../core/db.ts';
import { ENV, type Environment, optionalEnv, parseList, requireEnv } from '../core/env.ts';
import { RouteNotFoundError } from '../core/errors.ts';
import { JobClaimRepository } from '../core/executions/job-claim-repository.ts';
import { LAMBDA_FUNCTION_NAME_ENV, WaitSlotRepository } from '../core/executions/wait-slots.ts';
import type { HostEdge } from '../core/governance/edge.ts';
import type { McpClients } from '../core/mcp/clients.ts';
import type { CoreOptions, SignedInCore } from '../core/platform.ts';
import type { DomainContext } from '../core/tenancy/domain.ts';
import { scopeTableClient, tenantClientsFromEnv } from '../core/tenancy/tenant-scope.ts';
import { authenticateMcpClient } from './mcp-auth.ts';
import { createApiHandler } from './pipeline.ts';
import type { ApiRequest, RouteEntry } from './router.ts';

export interface ApiDefinition<C extends SignedInCore> {
  readonly serviceName: string;
  readonly surfaces: readonly string[];
  readonly accepts: (domain: DomainContext, surface: string) => boolean;
  /**
   * The API's core on its signed-in core, from the function's configuration: what its routes use and
   * no more (the governance API's `createApiCore`, the tenant API's `createTenantCore`). Called by the
   * first request that needs it: the entry imports the assembly there, so a cold start loads and
   * builds only the sign-in core, and the first request past sign-in the signed-in core
   * (core/assembly/sign-in.ts `LazyCore`).
   */
  readonly assemble: (options: CoreOptions, signedIn: SignedInCore) => Promise<C>;
  /**
   * The API's routes, on its core; `logger` is the function's (routes that log take it). Groups of
   * them load on first use (router.ts `lazyRoutes`), each with the half of the core it uses.
   */
  readonly routes: (core: LazyCore<C>, logger: Logger) => readonly RouteEntry[];
  /** The AI clients whose tokens the MCP endpoint takes. @default none: the API serves no MCP */
  readonly mcpClients?: (core: C) => McpClients;
  /**
   * Serves one tenant per request: its DynamoDB requests run in the request's tenant scope (see
   * core/tenancy/tenant-scope.ts), with that tenant's own STS session where the stack gives a
   * tenant-data role.
   * @default false
   */
  readonly tenantScoped?: boolean;
  /** Where this API provisions hosts (the governance API: CloudFront when configured). @default none */
  readonly hostEdge?: (env: Environment) => HostEdge;
}

export async function apiFromEnv<C extends SignedInCore>(definition: ApiDefinition<C>, env: Environment) {
  const logger = loggerFromEnv(definition.serviceName, env);
  // Jobs this API dispatches are signed with the jobs key (read once, at cold start).
  const signer = await messageSignerFromEnv(['jobs'], { env });
  const table = tableFromEnv(env);
  if (definition.tenantScoped === true) scopeTableClient(table.client, tenantClientsFromEnv(env));
  const options: CoreOptions = {
    table,
    tokenSecret: requireEnv(ENV.tokenSecret, env),
    superAdmins: parseList(env[ENV.superAdmins]),
    queues: queuesFromEnv(['script-executions', 'http-executions'], signer, env),
    signer,
    env,
    ...checkerFromEnv(env),
    ...heldSlotsFromEnv(env, table),
    ...claimsFromEnv(env),
    ...(definition.hostEdge === undefined ? {} : { hostEdge: definition.hostEdge(env) }),
  };
  // What every request goes through now; the rest on the first request that needs it.
  const signIn = createSignInCore(options);
  const core = lazyCore(signIn, {
    signedIn: async (built) =>
      (await import('../core/assembly/signed-in.ts')).createSignedInCore(options, built),
    whole: (signedIn) => definition.assemble(options, signedIn),
  });
  const { mcpClients } = definition;
  const handler = createApiHandler({
    surfaces: definition.surfaces,
    accepts: definition.accepts,
    routes: definition.routes(core, logger),
    hosts: signIn.hosts,
    authenticate: (domain, credential) =>
      credential.kind === 'bearer'
        ? signIn.auth.authenticate(domain, credential.header)
        : signIn.auth.authenticateSessionToken(domain, credential.token),
    ...(mcpClients === undefined
      ? {}
      : {
          authenticateMcpClient: async (domain: DomainContext, request: ApiRequest<unknown>) =>
            authenticateMcpClient(mcpClients(await core.whole()), domain, request),
        }),
    // The agent channel (the tenant API's): an agent's token, checked before its body is read.
    authenticateAgent: async (domain, request) => {
      if (domain.kind !== 'tenant') throw new RouteNotFoundError(`No route for ${request.path}`);
      return (await core.signedIn()).agents.authenticate(domain, request.headers.authorization);
    },
    csrfToken: (caller) => signIn.auth.csrfToken(caller),
    originSecret: requireEnv(ENV.originSecret, env),
    logger,
    securityEvents: signIn.securityEvents,
    tenantScoped: definition.tenantScoped === true,
  });
  return { core, handler };
}

/**
 * Where the requests a tenant holds open are counted — its run waits (executions/wait-slots.ts) and
 * its agents' polls (agents/poll-slots.ts): in the table on Lambda, where many instances serve the
 * API, one request each (Lambda names the function in every instance's environment); in this process
 * where it serves every request (the local platform).
 */
export function heldSlotsFromEnv(env: Environment, table: Table) {
  return optionalEnv(LAMBDA_FUNCTION_NAME_ENV, env) === undefined
    ? {}
    : { waitSlots: new WaitSlotRepository(table), pollSlots: new PollSlotRepository(table) };
}

/** The claims table, where this function may claim jobs (the tenant API, to cancel queued runs). */
function claimsFromEnv(env: Environment) {
  const name = optionalEnv(ENV.claimsTableName, env);
  if (name === undefined) return {};
  return { claims: new JobClaimRepository({ client: tableFromEnv(env).client, name }) };
}

/** The Python runtime's syntax check, where this function may invoke the worker (loaded on first use). */
function checkerFromEnv(env: Environment) {
  const checker = scriptCheckerFromEnv(env);
  return checker === undefined ? {} : { checker };
}
