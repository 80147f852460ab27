/** The governance API: the public domain's console (the free entry has its own function, free-api). Configuration only. */
import { hostEdgeFromEnv } from '../clients/cloudfront-edge.ts';
import type { Environment } from '../core/env.ts';
import { apiFromEnv } from '../http/api.ts';
import { governanceRoutes } from './routes.ts';

export async function createHandler(env: Environment) {
  const { handler } = await apiFromEnv(
    {
      serviceName: 'governance-api',
      surfaces: ['governance'],
      // The public domain only, and only on the surface its host is bound to.
      accepts: (domain, surface) => domain.kind === 'public' && domain.surface === surface,
      // Sign-in, the run core and the public domain: no tenant schedules, no MCP. Loaded by the first
      // request that needs the public domain (core/assembly/sign-in.ts).
      assemble: async (options, signedIn) =>
        (await import('../core/assembly/api.ts')).createApiCore(options, signedIn),
      routes: governanceRoutes,
      // Binding hosts provisions them at the edge: CloudFront where the stack configures it.
      hostEdge: hostEdgeFromEnv,
    },
    env,
  );
  return handler;
}
