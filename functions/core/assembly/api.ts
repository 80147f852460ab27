/**
 * The API core: the signed-in core (signed-in.ts) with the public domain's services (tenant
 * registry, templates, governance, the free edition): all the governance API builds. The tenant API
 * builds the signed-in core with what a tenant's own routes add (tenant.ts: `createTenantCore`);
 * `createCore` is everything, for the local platform and the tests.
 */
import { createPublicDomain, type PublicDomainOptions } from './public-domain.ts';
import { createSignedInCore, type SignedInCore, type SignedInCoreOptions } from './signed-in.ts';

export interface ApiCoreOptions extends SignedInCoreOptions, PublicDomainOptions {}

/**
 * The run core with sign-in and the public domain's services: all the governance API builds.
 * `core`: the signed-in core to build on (the API's, built by its first request past sign-in).
 * @default a new one from `options`
 */
export function createApiCore(options: ApiCoreOptions, core: SignedInCore = createSignedInCore(options)) {
  return { ...core, ...createPublicDomain(core, options) };
}

export type ApiCore = ReturnType<typeof createApiCore>;
