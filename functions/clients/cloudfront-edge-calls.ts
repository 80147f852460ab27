/**
 * The CloudFront calls of the host edge (`cloudfront-edge.ts`): provisioning and detaching a host as
 * a distribution tenant of the platform's multi-tenant distribution. The edge imports this module
 * when it first provisions or detaches a host, and this module imports the CloudFront client's
 * then: most invocations of the functions that onboard hosts call CloudFront not at all, and neither
 * this adapter nor the client is part of their cold start (bench/RESULTS.md, Lambda bundle sizes).
 */
import type {
  CloudFrontClient,
  CreateDistributionTenantCommandInput,
  DistributionTenant,
} from '@aws-sdk/client-cloudfront';
import { distributionTenantName, type HostEdge, type ProvisionOutcome } from '../core/governance/edge.ts';
import { HostEdgeError } from '../core/governance/errors.ts';
import type { CloudFrontHostEdgeOptions } from './cloudfront-edge.ts';

type CloudFrontSdk = typeof import('@aws-sdk/client-cloudfront');

let loading: Promise<CloudFrontSdk> | undefined;

/**
 * The CloudFront client's module, imported once, on first use (a failed import is tried again). The
 * package is CommonJS: Node gives its exports also as `default`, and in a Lambda asset, where it is a
 * chunk of its own (lambdaAssetOptions), esbuild gives them only so.
 */
export function cloudFrontSdk(): Promise<CloudFrontSdk> {
  if (loading === undefined) {
    loading = import('@aws-sdk/client-cloudfront').then(
      (module) => (module as CloudFrontSdk & { default?: CloudFrontSdk }).default ?? module,
    );
    loading.catch(() => {
      loading = undefined;
    });
  }
  return loading;
}

interface SdkFault {
  readonly name?: string;
  readonly message?: string;
  readonly $fault?: 'client' | 'server';
  readonly $retryable?: unknown;
  readonly $metadata?: { readonly httpStatusCode?: number };
}

/** Error names CloudFront (and the SDK) use for throttling and passing faults. */
const TRANSIENT_NAMES = new Set([
  'Throttling',
  'ThrottlingException',
  'TooManyRequestsException',
  'RequestLimitExceeded',
  'ServiceUnavailable',
  'ServiceUnavailableException',
  'InternalError',
  'InternalFailure',
  'TimeoutError',
  'RequestTimeout',
]);

/** CloudFront's refusal of a domain that does not resolve to the connection group yet. */
const DNS_REFUSAL = /\b(dns|cname|resolv\w*|point\w*|routing endpoint)\b/i;

function isTransient(error: unknown): boolean {
  const fault = error as SdkFault;
  if (fault.$fault === 'server' || fault.$retryable !== undefined) return true;
  if (TRANSIENT_NAMES.has(fault.name ?? '')) return true;
  const status = fault.$metadata?.httpStatusCode;
  if (status !== undefined && (status === 429 || status >= 500)) return true;
  // A network failure before any answer (connection refused or reset, DNS of the endpoint).
  return fault.$metadata === undefined && /ECONN|ETIMEDOUT|EAI_AGAIN|socket/i.test(fault.message ?? '');
}

function describe(error: unknown): string {
  const fault = error as SdkFault;
  return `${fault.name ?? 'Error'}: ${fault.message ?? String(error)}`;
}

/** What an error from CloudFront means for the onboarding. */
export function classifyEdgeError(error: unknown): Exclude<ProvisionOutcome, { kind: 'active' | 'pending' }> {
  const fault = error as SdkFault;
  if (isTransient(error)) return { kind: 'transient', code: 'edge-unavailable', reason: describe(error) };
  if (fault.name === 'InvalidArgument' && DNS_REFUSAL.test(fault.message ?? '')) {
    return {
      kind: 'dns-not-ready',
      reason: `CloudFront: ${fault.message ?? 'the domain does not resolve yet'}`,
    };
  }
  if (fault.name === 'CNAMEAlreadyExists') {
    return {
      kind: 'failed',
      code: 'host-taken',
      reason: 'Another CloudFront distribution already serves this host; release it there first',
    };
  }
  if (fault.name === 'AccessDenied') return { kind: 'failed', code: 'edge-denied', reason: describe(error) };
  return { kind: 'failed', code: 'edge-refused', reason: describe(error) };
}

export class CloudFrontCalls {
  readonly #edge: Pick<HostEdge, 'certificate'>;
  #client: CloudFrontClient | undefined;
  readonly #distributionId: string;
  readonly #connectionGroupId: string;
  readonly #certificate: CloudFrontHostEdgeOptions['certificate'];
  readonly #maxAttempts: number;

  constructor(options: CloudFrontHostEdgeOptions, edge: Pick<HostEdge, 'certificate'>) {
    this.#edge = edge;
    this.#client = options.client;
    this.#distributionId = options.distributionId;
    this.#connectionGroupId = options.connectionGroupId;
    this.#certificate = options.certificate;
    this.#maxAttempts = options.maxAttempts ?? 3;
  }

  async provision(host: string): Promise<ProvisionOutcome> {
    const name = distributionTenantName(this.#distributionId, host);
    let found: { tenant: DistributionTenant; etag: string } | null;
    try {
      found = await this.#find(name);
      if (found === null) {
        const { sdk, client } = await this.#api();
        await client.send(new sdk.CreateDistributionTenantCommand(this.#createInput(name, host)));
        found = await this.#find(name);
        if (found === null)
          return { kind: 'pending', code: 'edge-deploying', reason: 'CloudFront is creating the host' };
      }
      if (!this.#isOurs(found.tenant, name, host)) {
        return {
          kind: 'failed',
          code: 'host-taken',
          reason: `A CloudFront tenant named ${name} serves other hosts`,
        };
      }
      if (found.tenant.Enabled !== true) await this.#setEnabled(found.tenant, found.etag, true, host);
      return await this.#readiness(host, name, found.tenant);
    } catch (error) {
      if ((error as SdkFault).name === 'EntityAlreadyExists') {
        // A concurrent try created it between our look-up and our create: the next step finds it.
        return { kind: 'pending', code: 'edge-deploying', reason: 'CloudFront is creating the host' };
      }
      return classifyEdgeError(error);
    }
  }

  async detach(host: string): Promise<void> {
    const name = distributionTenantName(this.#distributionId, host);
    const { sdk, client } = await this.#api();
    for (let attempt = 1; ; attempt++) {
      let found: { tenant: DistributionTenant; etag: string } | null;
      try {
        found = await this.#find(name);
      } catch (error) {
        throw new HostEdgeError(`The edge could not look up ${host}`, { cause: error, extra: { host } });
      }
      if (found === null || !this.#isOurs(found.tenant, name, host)) return;
      try {
        // CloudFront deletes only disabled distribution tenants.
        const etag =
          found.tenant.Enabled === false
            ? found.etag
            : await this.#setEnabled(found.tenant, found.etag, false, host);
        await client.send(new sdk.DeleteDistributionTenantCommand({ Id: found.tenant.Id, IfMatch: etag }));
        return;
      } catch (error) {
        if (error instanceof sdk.EntityNotFound) return;
        if (error instanceof sdk.PreconditionFailed && attempt < this.#maxAttempts) continue;
        throw new HostEdgeError(`The edge could not detach ${host}`, { cause: error, extra: { host } });
      }
    }
  }

  #createInput(name: string, host: string): CreateDistributionTenantCommandInput {
    const base = {
      DistributionId: this.#distributionId,
      ConnectionGroupId: this.#connectionGroupId,
      Name: name,
      Domains: [{ Domain: host }],
      Enabled: true,
    };
    const configured = this.#certificate;
    if (configured !== undefined && this.#edge.certificate(host) === 'configured') {
      return { ...base, Customizations: { Certificate: { Arn: configured.arn } } };
    }
    // CloudFront serves the HTTP validation token itself: DNS already points here (verified first).
    return {
      ...base,
      ManagedCertificateRequest: { ValidationTokenHost: 'cloudfront', PrimaryDomainName: host },
    };
  }

  /** Deployed, with an issued certificate where CloudFront manages it, is active. */
  async #readiness(host: string, name: string, tenant: DistributionTenant): Promise<ProvisionOutcome> {
    if (this.#edge.certificate(host) === 'managed') {
      const { sdk, client } = await this.#api();
      const details = await client.send(new sdk.GetManagedCertificateDetailsCommand({ Identifier: name }));
      const status = details.ManagedCertificateDetails?.CertificateStatus;
      if (status === 'pending-validation' || status === undefined) {
        return {
          kind: 'pending',
          code: 'certificate-validating',
          reason: 'CloudFront is validating the certificate for the host (usually minutes)',
        };
      }
      if (status !== 'issued') {
        return {
          kind: 'failed',
          code: 'certificate-failed',
          reason: `The certificate CloudFront requested for ${host} is ${status}`,
        };
      }
    }
    if (tenant.Status !== undefined && tenant.Status !== 'Deployed') {
      return {
        kind: 'pending',
        code: 'edge-deploying',
        reason: `CloudFront is deploying the host (${tenant.Status})`,
      };
    }
    return { kind: 'active' };
  }

  /** The client's module and the client (the configured one, else one built now). */
  async #api(): Promise<{ sdk: CloudFrontSdk; client: CloudFrontClient }> {
    const sdk = await cloudFrontSdk();
    // Distribution tenants are global resources of the us-east-1 control plane.
    this.#client ??= new sdk.CloudFrontClient({ region: 'us-east-1' });
    return { sdk, client: this.#client };
  }

  #isOurs(tenant: DistributionTenant, name: string, host: string): boolean {
    return (
      tenant.DistributionId === this.#distributionId &&
      tenant.Name === name &&
      (tenant.Domains ?? []).some((domain) => domain.Domain === host)
    );
  }

  /** Our distribution tenant of a host, by its deterministic name (GetDistributionTenant takes a name). */
  async #find(name: string): Promise<{ tenant: DistributionTenant; etag: string } | null> {
    const { sdk, client } = await this.#api();
    try {
      const result = await client.send(new sdk.GetDistributionTenantCommand({ Identifier: name }));
      if (result.DistributionTenant === undefined) return null;
      return { tenant: result.DistributionTenant, etag: result.ETag ?? '' };
    } catch (error) {
      if (error instanceof sdk.EntityNotFound) return null;
      throw error;
    }
  }

  /** Enables or disables a distribution tenant; returns its new ETag. */
  async #setEnabled(
    tenant: DistributionTenant,
    etag: string,
    enabled: boolean,
    host: string,
  ): Promise<string> {
    const { sdk, client } = await this.#api();
    const result = await client.send(
      new sdk.UpdateDistributionTenantCommand({
        Id: tenant.Id,
        IfMatch: etag,
        DistributionId: this.#distributionId,
        ConnectionGroupId: tenant.ConnectionGroupId ?? this.#connectionGroupId,
        Domains: (tenant.Domains ?? [{ Domain: host }]).map((domain) => ({ Domain: domain.Domain })),
        Enabled: enabled,
      }),
    );
    return result.ETag ?? '';
  }
}
