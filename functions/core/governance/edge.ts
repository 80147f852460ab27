/**
 * The edge a tenant host must reach before it is served: a port with two adapters.
 *
 * - In AWS every host is one CloudFront *distribution tenant* of the platform's multi-tenant
 *   distribution, in its connection group. Adding a host creates it through the CloudFront API, so
 *   a new customer URL needs no redeploy; removing a host disables and then deletes it.
 * - Locally (and wherever no distribution is configured) the host binding item alone routes the
 *   host, so there is nothing to do at the edge.
 *
 * Both operations are idempotent: the host binding in the table is the lock (it is claimed before
 * `attach` and released before `detach`), so a distribution tenant found under the host's
 * deterministic name is ours to reuse or remove, and a retry after a crash converges.
 */
import { createHash } from 'node:crypto';
import {
  CloudFrontClient,
  CNAMEAlreadyExists,
  CreateDistributionTenantCommand,
  DeleteDistributionTenantCommand,
  type DistributionTenant,
  EntityAlreadyExists,
  EntityNotFound,
  GetDistributionTenantCommand,
  PreconditionFailed,
  UpdateDistributionTenantCommand,
} from '@aws-sdk/client-cloudfront';
import { ENV, requireEnv } from '../env.ts';
import { ConflictError } from '../errors.ts';
import { HostEdgeError } from './errors.ts';

export interface HostEdge {
  /** Makes the edge route `host` to the platform for `tenantId`. Safe to repeat. */
  attach(host: string, tenantId: string): Promise<void>;
  /** Stops the edge routing `host`. Safe to repeat, and a no-op for a host it does not know. */
  detach(host: string): Promise<void>;
}

/** Where the host binding alone is enough (the local platform): the edge has nothing to do. */
export class BindingOnlyHostEdge implements HostEdge {
  async attach(): Promise<void> {}
  async detach(): Promise<void> {}
}

export interface CloudFrontHostEdgeOptions {
  readonly client: CloudFrontClient;
  /** The multi-tenant distribution every tenant host joins. */
  readonly distributionId: string;
  /** The connection group (routing endpoint) new distribution tenants join. */
  readonly connectionGroupId: string;
  /** Detach attempts when the tenant changes under us (ETag mismatch). @default 3 */
  readonly maxAttempts?: number;
}

/**
 * The distribution tenant's name for a host: deterministic (so a retry finds what an earlier try
 * made), readable, and unique even where two hosts differ only in dots and hyphens.
 */
export function distributionTenantName(host: string): string {
  const digest = createHash('sha256').update(host, 'utf8').digest('hex').slice(0, 12);
  const readable = host.replace(/[^a-z0-9-]/g, '-').slice(0, 100);
  return `ef-${readable}-${digest}`;
}

function failure(action: string, host: string, cause: unknown): HostEdgeError {
  return new HostEdgeError(`The edge could not ${action} ${host}`, { cause, extra: { host } });
}

export class CloudFrontHostEdge implements HostEdge {
  readonly #client: CloudFrontClient;
  readonly #distributionId: string;
  readonly #connectionGroupId: string;
  readonly #maxAttempts: number;

  constructor(options: CloudFrontHostEdgeOptions) {
    this.#client = options.client;
    this.#distributionId = options.distributionId;
    this.#connectionGroupId = options.connectionGroupId;
    this.#maxAttempts = options.maxAttempts ?? 3;
  }

  async attach(host: string, _tenantId: string): Promise<void> {
    // The tenant is not tagged on the distribution tenant: the host binding in the table is the
    // record of ownership (and tagging would need `cloudfront:TagResource` as well).
    const name = distributionTenantName(host);
    try {
      await this.#client.send(
        new CreateDistributionTenantCommand({
          DistributionId: this.#distributionId,
          ConnectionGroupId: this.#connectionGroupId,
          Name: name,
          Domains: [{ Domain: host }],
          Enabled: true,
        }),
      );
      return;
    } catch (error) {
      if (!(error instanceof EntityAlreadyExists || error instanceof CNAMEAlreadyExists)) {
        throw failure('attach', host, error);
      }
    }
    // Already there: ours from an earlier try (reuse it, re-enabling a half-detached one), or not ours.
    const found = await this.#find(host, name);
    if (found === null || !this.#isOurs(found.tenant, name, host)) {
      throw new ConflictError(`Host ${host} is already served by another CloudFront distribution tenant`, {
        extra: { host },
      });
    }
    if (found.tenant.Enabled !== true) await this.#setEnabled(found.tenant, found.etag, true, host);
  }

  async detach(host: string): Promise<void> {
    const name = distributionTenantName(host);
    for (let attempt = 1; ; attempt++) {
      const found = await this.#find(host, name);
      if (found === null || !this.#isOurs(found.tenant, name, host)) return;
      try {
        // CloudFront deletes only disabled distribution tenants.
        const etag =
          found.tenant.Enabled === false
            ? found.etag
            : await this.#setEnabled(found.tenant, found.etag, false, host);
        await this.#client.send(new DeleteDistributionTenantCommand({ Id: found.tenant.Id, IfMatch: etag }));
        return;
      } catch (error) {
        if (error instanceof EntityNotFound) return;
        if (error instanceof PreconditionFailed && attempt < this.#maxAttempts) continue;
        throw error instanceof HostEdgeError ? error : failure('detach', host, error);
      }
    }
  }

  #isOurs(tenant: DistributionTenant, name: string, host: string): boolean {
    return (
      tenant.DistributionId === this.#distributionId &&
      tenant.Name === name &&
      (tenant.Domains ?? []).some((domain) => domain.Domain === host)
    );
  }

  /** Our distribution tenant of a host, by its deterministic name (GetDistributionTenant takes a name). */
  async #find(host: string, name: string): Promise<{ tenant: DistributionTenant; etag: string } | null> {
    try {
      const result = await this.#client.send(new GetDistributionTenantCommand({ Identifier: name }));
      if (result.DistributionTenant === undefined) return null;
      return { tenant: result.DistributionTenant, etag: result.ETag ?? '' };
    } catch (error) {
      if (error instanceof EntityNotFound) return null;
      throw failure('look up', host, error);
    }
  }

  /** Enables or disables a distribution tenant; returns its new ETag. */
  async #setEnabled(
    tenant: DistributionTenant,
    etag: string,
    enabled: boolean,
    host: string,
  ): Promise<string> {
    try {
      const result = await this.#client.send(
        new UpdateDistributionTenantCommand({
          Id: tenant.Id,
          IfMatch: etag,
          DistributionId: this.#distributionId,
          ConnectionGroupId: tenant.ConnectionGroupId ?? this.#connectionGroupId,
          Domains: (tenant.Domains ?? []).map((domain) => ({ Domain: domain.Domain })),
          Enabled: enabled,
        }),
      );
      return result.ETag ?? '';
    } catch (error) {
      if (error instanceof PreconditionFailed || error instanceof EntityNotFound) throw error;
      throw failure(enabled ? 'enable' : 'disable', host, error);
    }
  }
}

/**
 * The edge of this deployment: CloudFront when a distribution is configured (the AWS wiring sets
 * ENV.distributionId and ENV.connectionGroupId on the governance API), the binding alone otherwise.
 */
export function hostEdgeFromEnv(env: NodeJS.ProcessEnv = process.env): HostEdge {
  const distributionId = env[ENV.distributionId];
  if (distributionId === undefined || distributionId === '') return new BindingOnlyHostEdge();
  return new CloudFrontHostEdge({
    client: new CloudFrontClient({}),
    distributionId,
    connectionGroupId: requireEnv(ENV.connectionGroupId, env),
  });
}
