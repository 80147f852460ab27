/**
 * The edge a host must reach before it is served: a port with two adapters.
 *
 * - In AWS every host is one CloudFront *distribution tenant* of the platform's multi-tenant
 *   distribution, in its connection group. `provision` creates it (with the configured certificate
 *   where that covers the host, a CloudFront-managed one otherwise) once DNS points at the routing
 *   endpoint, then reports how far it got: deployed with an issued certificate is `active`; a
 *   certificate still validating is `pending`; CloudFront refusing because the domain does not
 *   resolve yet is `dns-not-ready`; throttling and service faults are `transient`; anything else is
 *   `failed`, with CloudFront's own reason. The onboarding state machine (`onboarding.ts`) decides
 *   what each means; this adapter never throws for an outcome it can classify.
 * - Locally the host binding alone routes the host: every host that resolves here is `active`.
 *
 * The CloudFront adapter lives in `functions/clients/cloudfront-edge.ts`, imported only by the functions that
 * provision hosts, so no other bundle carries the CloudFront client. Both are idempotent: the host binding in the table is the lock, so a distribution tenant found
 * under the host's deterministic name is ours to reuse or remove, and a retry after a crash converges.
 */
import { createHash } from 'node:crypto';

/** How a host gets its certificate: the configured one, one CloudFront requests for it, or none (local). */
export type CertificateSource = 'configured' | 'managed' | 'local';

/** A DNS record the operator must (or, where `required` is false, may need to) create. */
export interface DnsRecord {
  readonly type: 'CNAME' | 'CAA' | 'A';
  readonly name: string;
  readonly value: string;
  readonly required: boolean;
  readonly purpose: string;
}

export type ProvisionOutcome =
  | { readonly kind: 'active' }
  | { readonly kind: 'pending'; readonly code: string; readonly reason: string }
  | { readonly kind: 'dns-not-ready'; readonly reason: string }
  | { readonly kind: 'transient'; readonly code: string; readonly reason: string }
  | { readonly kind: 'failed'; readonly code: string; readonly reason: string };

export interface HostEdge {
  /** Where hosts must point (the CNAME target), for operators and the DNS check. */
  readonly target: string;
  /** Which certificate `host` would be served with. */
  certificate(host: string): CertificateSource;
  /** The DNS records to create so `host` reaches the platform. */
  records(host: string): readonly DnsRecord[];
  /** Makes the edge serve `host` (safe to repeat) and says how far that got. */
  provision(host: string): Promise<ProvisionOutcome>;
  /** Stops the edge serving `host`. Safe to repeat, and a no-op for a host it does not know. */
  detach(host: string): Promise<void>;
}

/** Where the host binding alone is enough (the local platform): a host that resolves here is served. */
export class BindingOnlyHostEdge implements HostEdge {
  readonly target = '127.0.0.1';

  certificate(): CertificateSource {
    return 'local';
  }

  records(host: string): readonly DnsRecord[] {
    if (host === 'localhost' || host.endsWith('.localhost')) return [];
    return [
      {
        type: 'A',
        name: host,
        value: this.target,
        required: true,
        purpose: 'points the host at this machine (a hosts-file entry will do)',
      },
    ];
  }

  async provision(): Promise<ProvisionOutcome> {
    return { kind: 'active' };
  }

  async detach(): Promise<void> {}
}

/**
 * The distribution tenant's name for a host of one distribution: deterministic (so a retry finds what
 * an earlier try made), readable, unique per distribution (so two stages in one account never
 * collide) and unique even where two hosts differ only in dots and hyphens.
 */
export function distributionTenantName(distributionId: string, host: string): string {
  const digest = createHash('sha256').update(host, 'utf8').digest('hex').slice(0, 12);
  const readable = host.replace(/[^a-z0-9-]/g, '-').slice(0, 80);
  return `ef-${distributionId.toLowerCase().replace(/[^a-z0-9]/g, '')}-${readable}-${digest}`;
}

/** Whether a certificate's names cover a host (`*.example.com` covers `a.example.com`, not `example.com`). */
export function certificateCovers(names: readonly string[], host: string): boolean {
  return names.some((name) => {
    if (!name.startsWith('*.')) return name === host;
    const suffix = name.slice(1);
    return (
      host.endsWith(suffix) && !host.slice(0, -suffix.length).includes('.') && host.length > suffix.length
    );
  });
}
