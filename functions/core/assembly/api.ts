/**
 * The API core: the signed-in core (signed-in.ts) with the public domain's services (tenant
 * registry, templates, governance, the free edition): all the governance API builds. The tenant API
 * builds the signed-in core with what a tenant's own routes add (tenant.ts: `createTenantCore`);
 * `createCore` is everything, for the local platform and the tests.
 */
import { createPublicDomain, type PublicDomainOptions } from './public-domain.ts';
import type { SignInCore } from './sign-in.ts';
import { createSignedInCore, type SignedInCoreOptions } from './signed-in.ts';

export interface ApiCoreOptions extends SignedInCoreOptions, PublicDomainOptions {}

/**
 * The run core with sign-in and the public domain's services: all the governance API builds.
 * `signIn`: the sign-in core to build on (the API's, built at its cold start). @default a new one
 */
export function createApiCore(options: ApiCoreOptions, signIn?: SignInCore) {
  const core = createSignedInCore(options, signIn);
  return { ...core, ...createPublicDomain(core, options) };
}

export type ApiCore = ReturnType<typeof createApiCore>;
