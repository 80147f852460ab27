/**
 * HTTP resources assembled for one process: the credential store (from the environment unless
 * given), whether `localDevelopment` resources are honoured (the local platform's switch), and the
 * re-check of pending approvals in every tenant a change can affect.
 */
import type { AuditLog } from '../audit/chain.ts';
import type { Table } from '../db.ts';
import { ENV, type Environment } from '../env.ts';
import type { Execution } from '../executions/executions.ts';
import { credentialStoreFromEnv } from '../secrets/from-env.ts';
import type { CredentialStore } from '../secrets/store.ts';
import type { TenantContext } from '../tenancy/domain.ts';
import { readTenantSummary } from '../tenancy/hosts.ts';
import { HttpResources } from './resources.ts';

export interface HttpResourcesWiring {
  readonly table: Table;
  readonly audit: AuditLog;
  readonly now: () => Date;
  /** @default the store the environment names (Secrets Manager, the local folder, or none) */
  readonly credentials?: CredentialStore | undefined;
  /** @default ENV.allowLocalDevelopment === 'true' */
  readonly allowLocalDevelopment?: boolean;
  /** Re-checks a tenant's pending approvals matching a predicate. */
  readonly revalidate: (
    domain: TenantContext,
    actor: string,
    affects: (execution: Execution) => boolean,
  ) => Promise<unknown>;
  /** The function's configuration (credential store, local-development switch). @default {} (none) */
  readonly env?: Environment;
}

export function createHttpResources(wiring: HttpResourcesWiring): HttpResources {
  const env = wiring.env ?? {};
  return new HttpResources({
    table: wiring.table,
    audit: wiring.audit,
    now: wiring.now,
    credentials: wiring.credentials ?? credentialStoreFromEnv(env),
    allowLocalDevelopment: wiring.allowLocalDevelopment ?? env[ENV.allowLocalDevelopment] === 'true',
    onChanged: async (tenantIds, resourceId, actor) => {
      for (const tenantId of tenantIds) {
        const tenant = await readTenantSummary(wiring.table, tenantId);
        if (tenant === null) continue;
        await wiring.revalidate(
          { kind: 'tenant', host: '', tenant },
          actor,
          (execution) => execution.asset.kind === 'http' && execution.asset.id === resourceId,
        );
      }
    },
  });
}

export { HttpResources } from './resources.ts';
