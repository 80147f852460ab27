/**
 * The free personal-edition entry's API: its own function, so what the free surface may do is its
 * role's alone, never the governance API's. It signs people up — which writes exactly: host claims
 * under the free domains, the new personal space's own partitions (in that space's scope, with its
 * own STS session in AWS), the free edition's partitions (leads, offers, rate counters) and public
 * audit entries — and reads host bindings and the offered templates. Nobody signs in here: a
 * bearer token is ignored, and there is no session to hold. Configuration only: the Lambda entry
 * (index.ts) passes its execution environment, the local platform its own. A cold start builds the
 * hosts and the pipeline; the free entry's services, with their routes, load on the first request
 * for them (routes.ts), as the other APIs' layers do (core/assembly/sign-in.ts `LazyCore`).
 */
import { tableFromEnv } from '../clients/dynamodb.ts';
import { loggerFromEnv } from '../clients/logger.ts';
import { ENV, type Environment, parseList, requireEnv } from '../core/env.ts';
import { AuthenticationError } from '../core/errors.ts';
import { isPersonalTenantId } from '../core/free/handles.ts';
import { signupLimitsFrom } from '../core/free/signup-limits.ts';
import { HostDirectory } from '../core/tenancy/hosts.ts';
import { freeEntryPolicy, scopeTableClient, tenantClientsFromEnv } from '../core/tenancy/tenant-scope.ts';
import { createApiHandler } from '../http/pipeline.ts';
import { freeRoutes } from './routes.ts';

export function createHandler(env: Environment) {
  const table = tableFromEnv(env);
  // Personal spaces only, and of the shared partitions only what sign-up needs (tenant-scope.ts).
  scopeTableClient(
    table.client,
    tenantClientsFromEnv(env),
    freeEntryPolicy({ freeHosts: parseList(env[ENV.freeHosts]), isPersonal: isPersonalTenantId }),
  );
  // What every request goes through: the hosts that resolve its domain.
  const hosts = new HostDirectory({ table });
  const signupLimits = signupLimitsFrom(env[ENV.freeSignupLimits]);
  // Sign-up on the catalog core (installed templates are Skills and scripts): no runs, no governance.
  // Loaded and built by the first request for the free entry's routes (routes.ts).
  const free = async () =>
    (await import('../core/assembly/free-entry.ts')).createFreeEntryDomain({
      table,
      env,
      hosts,
      signupLimits,
    }).free;

  return createApiHandler({
    surfaces: ['free'],
    accepts: (domain, surface) => domain.kind === 'public' && domain.surface === surface,
    routes: freeRoutes(free),
    hosts,
    authenticate: async () => {
      throw new AuthenticationError('Nobody signs in on the free entry: sign in on your space’s own host');
    },
    // No session can exist here, so no cookie write can carry a token to check.
    csrfToken: () => {
      throw new AuthenticationError('Nobody signs in on the free entry');
    },
    originSecret: requireEnv(ENV.originSecret, env),
    logger: loggerFromEnv('free-api', env),
  });
}
