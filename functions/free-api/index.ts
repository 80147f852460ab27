/**
 * The free personal-edition entry's API: its own function, so what the free surface may do is its
 * role's alone (reading host bindings), never the governance API's. No sign-in here yet: a bearer
 * token is not accepted, and every route but health is unknown. Wiring only.
 */
import { Logger } from '@aws-lambda-powertools/logger';
import { tableFromEnv } from '../core/db.ts';
import { ENV, requireEnv } from '../core/env.ts';
import { AuthenticationError } from '../core/errors.ts';
import { HostDirectory } from '../core/tenancy/hosts.ts';
import { scopeTableClient } from '../core/tenancy/tenant-scope.ts';
import { createApiHandler } from '../http/pipeline.ts';
import { freeRoutes } from './routes.ts';

const table = tableFromEnv();
// Out of any tenant scope: a tenant partition is refused here before IAM would refuse it.
scopeTableClient(table.client);

export const handler = createApiHandler({
  surfaces: ['free'],
  accepts: (domain, surface) => domain.kind === 'public' && domain.surface === surface,
  routes: freeRoutes(),
  hosts: new HostDirectory({ table }),
  authenticate: async () => {
    throw new AuthenticationError('The free entry has no sign-in yet');
  },
  // No session can exist here, so no cookie write can carry a token to check.
  csrfToken: () => {
    throw new AuthenticationError('The free entry has no sign-in yet');
  },
  originSecret: requireEnv(ENV.originSecret),
  logger: new Logger({ serviceName: 'free-api' }),
});
