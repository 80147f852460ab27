/**
 * The sign-in core: what every request of an API goes through before its route — the hosts that
 * resolve its domain, the sessions and tokens that authenticate it, the audit and the security events
 * that record what was refused — and what the sign-in routes use (identity.ts). An API builds it at a
 * cold start and the rest of its core, layer by layer, on the first request that needs each
 * (`LazyCore`), so a cold start that only signs someone in never builds Skills, runs or schedules,
 * and one that lists Skills no schedules or MCP. The signed-in core is built on it (signed-in.ts),
 * sharing these services.
 */
import { randomBytes } from 'node:crypto';
import { AuditLog } from '../audit/chain.ts';
import type { Table } from '../db.ts';
import { Auth } from '../identity/auth.ts';
import { Directory } from '../identity/directory.ts';
import { setCursorKey } from '../pagination.ts';
import { SecurityEvents } from '../security/events.ts';
import { HostDirectory } from '../tenancy/hosts.ts';
import { outsideTenantScope } from '../tenancy/tenant-scope.ts';
import type { SignedInCore } from './signed-in.ts';

export interface SignInCoreOptions {
  readonly table: Table;
  /**
   * Key of session signatures. Only the API functions verify tokens; elsewhere it may be omitted and a
   * throwaway key is used, so no token could be minted or accepted by that process.
   */
  readonly tokenSecret?: string;
  /** Public-domain usernames configured as super-admins. @default [] */
  readonly superAdmins?: readonly string[];
  /** The audit chain. @default a new one on `table` */
  readonly audit?: AuditLog;
  readonly now?: () => Date;
}

export function createSignInCore(options: SignInCoreOptions) {
  // Cursors issued by one API container must be accepted by the others: seal them with the shared secret.
  if (options.tokenSecret !== undefined) setCursorKey(options.tokenSecret);
  const { table } = options;
  const now = options.now ?? (() => new Date());
  const audit = options.audit ?? new AuditLog({ table, now });
  const directory = new Directory({ table, audit, superAdmins: options.superAdmins ?? [], now });
  return {
    table,
    now,
    audit,
    hosts: new HostDirectory({ table, now: () => now().getTime() }),
    directory,
    auth: new Auth({
      table,
      directory,
      audit,
      tokenSecret: options.tokenSecret ?? randomBytes(32).toString('hex'),
      now,
    }),
    // Refused tokens, privileged requests and internal messages, in each domain's audit (rate-limited).
    securityEvents: new SecurityEvents({ table, audit, now }),
  };
}

export type SignInCore = ReturnType<typeof createSignInCore>;

/** `build` once, the same promise for every caller; a failed build is tried again by the next. */
function once<T>(build: () => Promise<T>): () => Promise<T> {
  let built: Promise<T> | undefined;
  return () => {
    built ??= build().catch((error: unknown) => {
      built = undefined;
      throw error;
    });
    return built;
  };
}

/**
 * An API's core as its routes reach it, in three layers, each built on the one before: the sign-in
 * core, built at a cold start; the signed-in core (the run core: Skills, runs, approvals, HTTP
 * resources, agents, extension data), built by the first request that needs it; and the whole core
 * (what the API adds: the tenant API's schedules, MCP and templates; the governance API's public
 * domain), built by the first request that needs that.
 */
export interface LazyCore<C extends SignedInCore> {
  readonly signIn: SignInCore;
  readonly signedIn: () => Promise<SignedInCore>;
  readonly whole: () => Promise<C>;
}

/** A core built on first use, layer by layer, from its sign-in core (the APIs: each layer imports its assembly then). */
export function lazyCore<C extends SignedInCore>(
  signIn: SignInCore,
  build: {
    readonly signedIn: (signIn: SignInCore) => Promise<SignedInCore>;
    readonly whole: (signedIn: SignedInCore) => Promise<C>;
  },
): LazyCore<C> {
  // Built by whichever request needs a layer first, and kept for every request after it: outside
  // that request's tenant scope, so nothing a service starts while it is built carries that tenant.
  const signedIn = once(() => outsideTenantScope(() => build.signedIn(signIn)));
  const whole = once(() => outsideTenantScope(async () => build.whole(await signedIn())));
  return { signIn, signedIn, whole };
}

/** A core already built whole (the local platform's tables, the tests): every layer is it. */
export function builtCore<C extends SignedInCore>(core: C): LazyCore<C> {
  const whole = Promise.resolve(core);
  return { signIn: core, signedIn: () => whole, whole: () => whole };
}
