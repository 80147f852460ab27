/** The governance API: the public domain (admin console and the free entry). Wiring only. */
import { Logger } from '@aws-lambda-powertools/logger';
import { tableFromEnv } from '../core/db.ts';
import { ENV, requireEnv } from '../core/env.ts';
import { AuthenticationError } from '../core/errors.ts';
import { HostDirectory } from '../core/tenancy/hosts.ts';
import { healthRoute } from '../http/health.ts';
import { createApiHandler } from '../http/pipeline.ts';

const logger = new Logger({ serviceName: 'governance-api' });
const table = tableFromEnv();
const hosts = new HostDirectory({ table });

export const handler = createApiHandler({
  surfaces: ['governance', 'free'],
  // The public domain only, and only on the surface its host is bound to.
  accepts: (domain, surface) => domain.kind === 'public' && domain.surface === surface,
  routes: [healthRoute],
  hosts,
  authenticate: async () => {
    throw new AuthenticationError('Sign-in is not available yet');
  },
  originSecret: requireEnv(ENV.originSecret),
  logger,
});
