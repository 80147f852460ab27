/** The tenant API: everything a customer's users do on their own host. Wiring only. */
import { Logger } from '@aws-lambda-powertools/logger';
import { tableFromEnv } from '../core/db.ts';
import { ENV, requireEnv } from '../core/env.ts';
import { AuthenticationError } from '../core/errors.ts';
import { HostDirectory } from '../core/tenancy/hosts.ts';
import { healthRoute } from '../http/health.ts';
import { createApiHandler } from '../http/pipeline.ts';

const logger = new Logger({ serviceName: 'tenant-api' });
const table = tableFromEnv();
const hosts = new HostDirectory({ table });

export const handler = createApiHandler({
  surfaces: ['tenant'],
  accepts: (domain) => domain.kind === 'tenant',
  routes: [healthRoute],
  hosts,
  authenticate: async () => {
    throw new AuthenticationError('Sign-in is not available yet');
  },
  originSecret: requireEnv(ENV.originSecret),
  logger,
});
