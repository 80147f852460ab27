/**
 * The API core: the run core with sign-in and the public domain's services (tenant registry,
 * templates, governance, the free edition) — what both APIs serve from. The governance API builds
 * this alone (it serves no tenant schedules and no MCP); `createCore` (platform.ts) adds them for
 * the tenant API, the local platform and the tests.
 */
import { randomBytes } from 'node:crypto';
import { Auth } from '../identity/auth.ts';
import { setCursorKey } from '../pagination.ts';
import { createPublicDomain, type PublicDomainOptions } from './public-domain.ts';
import { createRunCore, type RunCoreOptions } from './runs.ts';

export interface ApiCoreOptions extends RunCoreOptions, PublicDomainOptions {
  /**
   * Key of session signatures. Only the API functions verify tokens; elsewhere it may be omitted and a
   * throwaway key is used, so no token could be minted or accepted by that process.
   */
  readonly tokenSecret?: string;
}

export function createApiCore(options: ApiCoreOptions) {
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
  return { ...run, auth, ...createPublicDomain(run, options) };
}

export type ApiCore = ReturnType<typeof createApiCore>;
