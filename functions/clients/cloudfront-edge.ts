/**
 * The CloudFront adapter of the host edge (see `edge.ts`): each host is one distribution tenant of
 * the platform's multi-tenant distribution. Imported only by the functions that provision hosts
 * (the governance API and the lifecycle scan). What the edge answers at once (where hosts point,
 * their records and certificate) is here; its CloudFront calls (`cloudfront-edge-calls.ts`) and the
 * CloudFront client's module are imported when the edge first provisions or detaches a host, not
 * when the function starts: most invocations of those functions provision nothing, and the client
 * with its Smithy core was most of their init otherwise (bench/RESULTS.md).
 */
import type { CloudFrontClient } from '@aws-sdk/client-cloudfront';
import { ENV, type Environment, requireEnv } from '../core/env.ts';
import {
  BindingOnlyHostEdge,
  type CertificateSource,
  certificateCovers,
  type DnsRecord,
  type HostEdge,
  type ProvisionOutcome,
} from '../core/governance/edge.ts';
import type { CloudFrontCalls } from './cloudfront-edge-calls.ts';

export interface CloudFrontHostEdgeOptions {
  /** @default a client of the us-east-1 control plane, built when the edge first calls CloudFront */
  readonly client?: CloudFrontClient;
  /** The multi-tenant distribution every host joins. */
  readonly distributionId: string;
  /** The connection group new distribution tenants join. */
  readonly connectionGroupId: string;
  /** The connection group's routing endpoint: the CNAME target. */
  readonly routingEndpoint: string;
  /** The configured ACM certificate (us-east-1) and the names it covers (`*.example.com` covers one label). */
  readonly certificate?: { readonly arn: string; readonly hosts: readonly string[] };
  /** Detach attempts when the tenant changes under us (ETag mismatch). @default 3 */
  readonly maxAttempts?: number;
}

export class CloudFrontHostEdge implements HostEdge {
  readonly target: string;
  readonly #options: CloudFrontHostEdgeOptions;
  #calls: Promise<CloudFrontCalls> | undefined;

  constructor(options: CloudFrontHostEdgeOptions) {
    this.#options = options;
    this.target = options.routingEndpoint.trim().toLowerCase().replace(/\.$/, '');
  }

  certificate(host: string): CertificateSource {
    const configured = this.#options.certificate;
    return configured !== undefined && certificateCovers(configured.hosts, host) ? 'configured' : 'managed';
  }

  records(host: string): readonly DnsRecord[] {
    const records: DnsRecord[] = [
      {
        type: 'CNAME',
        name: host,
        value: this.target,
        required: true,
        purpose: 'routes the host to the platform (at a zone apex, an ALIAS/ANAME record to the same name)',
      },
    ];
    if (this.certificate(host) === 'managed') {
      records.push({
        type: 'CAA',
        name: host,
        value: '0 issue "amazon.com"',
        required: false,
        purpose:
          'only if the domain publishes CAA records: lets Amazon issue the certificate CloudFront requests for the host',
      });
    }
    return records;
  }

  async provision(host: string): Promise<ProvisionOutcome> {
    return (await this.#api()).provision(host);
  }

  async detach(host: string): Promise<void> {
    return (await this.#api()).detach(host);
  }

  /** The CloudFront calls, their module imported on first use (a failed import is tried again). */
  #api(): Promise<CloudFrontCalls> {
    if (this.#calls === undefined) {
      const calls = import('./cloudfront-edge-calls.ts').then(
        ({ CloudFrontCalls }) => new CloudFrontCalls(this.#options, this),
      );
      calls.catch(() => {
        this.#calls = undefined;
      });
      this.#calls = calls;
    }
    return this.#calls;
  }
}

function listEnv(value: string | undefined): string[] {
  return (value ?? '')
    .split(',')
    .map((item) => item.trim())
    .filter((item) => item !== '');
}

/**
 * The edge of this deployment: CloudFront when a distribution is configured (the AWS wiring sets
 * the distribution, connection group, routing endpoint and certificate on the functions that
 * onboard hosts), the binding alone otherwise.
 */
export function hostEdgeFromEnv(env: Environment): HostEdge {
  const distributionId = env[ENV.distributionId];
  if (distributionId === undefined || distributionId === '') return new BindingOnlyHostEdge();
  const certificateArn = env[ENV.certificateArn];
  // The client is built (and its module imported) when the edge first calls CloudFront.
  return new CloudFrontHostEdge({
    distributionId,
    connectionGroupId: requireEnv(ENV.connectionGroupId, env),
    routingEndpoint: requireEnv(ENV.routingEndpoint, env),
    ...(certificateArn === undefined || certificateArn === ''
      ? {}
      : { certificate: { arn: certificateArn, hosts: listEnv(env[ENV.certificateHosts]) } }),
  });
}
