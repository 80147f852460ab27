/**
 * The run core with sign-in: what every route of either API may use (routes typed `SignedInCore`).
 * It is built on the sign-in core (sign-in.ts), whose audit, directory, hosts and security events
 * the run core shares: the APIs build that half at a cold start and this on first use. The governance
 * API adds the public domain's services on it (api.ts); the tenant API its own (tenant.ts:
 * `createTenantCore`).
 */
import { createRunCore, type RunCoreOptions } from './runs.ts';
import { createSignInCore, type SignInCore, type SignInCoreOptions } from './sign-in.ts';

export interface SignedInCoreOptions extends RunCoreOptions, SignInCoreOptions {}

/** `signIn`: the sign-in core to build on. @default a new one from `options` */
export function createSignedInCore(
  options: SignedInCoreOptions,
  signIn: SignInCore = createSignInCore(options),
) {
  const { audit, hosts, directory, securityEvents, now, auth } = signIn;
  return { ...createRunCore({ ...options, audit, hosts, directory, securityEvents, now }), auth };
}

export type SignedInCore = ReturnType<typeof createSignedInCore>;
