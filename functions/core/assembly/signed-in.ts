/**
 * The run core with sign-in: what every route of either API may use (routes typed `SignedInCore`).
 * The governance API adds the public domain's services on it (api.ts); the tenant API its own
 * (tenant.ts: `createTenantCore`).
 */
import { randomBytes } from 'node:crypto';
import { Auth } from '../identity/auth.ts';
import { setCursorKey } from '../pagination.ts';
import { createRunCore, type RunCoreOptions } from './runs.ts';

export interface SignedInCoreOptions extends RunCoreOptions {
  /**
   * Key of session signatures. Only the API functions verify tokens; elsewhere it may be omitted and a
   * throwaway key is used, so no token could be minted or accepted by that process.
   */
  readonly tokenSecret?: string;
}

export function createSignedInCore(options: SignedInCoreOptions) {
  // Cursors issued by one API container must be accepted by the others: sign them with the shared secret.
  if (options.tokenSecret !== undefined) setCursorKey(options.tokenSecret);
  const run = createRunCore(options);
  const { table, audit, directory, now } = run;
  const auth = new Auth({
    table,
    directory,
    audit,
    tokenSecret: options.tokenSecret ?? randomBytes(32).toString('hex'),
    now,
  });
  return { ...run, auth };
}

export type SignedInCore = ReturnType<typeof createSignedInCore>;
