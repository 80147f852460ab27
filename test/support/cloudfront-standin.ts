/**
 * A loopback stand-in for the distribution-tenant part of CloudFront's REST API (moto_server has no
 * distribution tenants), driven through the real AWS SDK client, with the rules that matter to
 * onboarding a host:
 * - a tenant with a managed certificate is refused (InvalidArgument) while its domain does not
 *   resolve to the connection group — CloudFront's own view of DNS, `resolves(domain)`, which a
 *   test may make lag behind the platform's;
 * - a tenant with the configured certificate needs no DNS;
 * - a new tenant is `InProgress` until looked at once more, and a managed certificate is
 *   `pending-validation` for `validationPolls` looks, then `issued`;
 * - `failNext` makes the next requests fail with a passing fault (503), `failWith` with any error.
 * Requests are captured from the client's own middleware stack after signing, so what a test
 * asserts is exactly what would go on the wire.
 */
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { CloudFrontClient } from '@aws-sdk/client-cloudfront';

const NS = 'http://cloudfront.amazonaws.com/doc/2020-05-31/';

export interface StandInTenant {
  id: string;
  name: string;
  distributionId: string;
  connectionGroupId: string;
  domains: string[];
  enabled: boolean;
  etag: string;
  status: 'InProgress' | 'Deployed';
  managedCertificate: boolean;
  certificateArn?: string;
  validationLooks: number;
}

export interface SentRequest {
  readonly method: string;
  readonly path: string;
  readonly headers: Record<string, string>;
  readonly body: string;
}

interface Reply {
  readonly status: number;
  readonly body: string;
  readonly etag?: string;
}

export function tag(xml: string, name: string): string[] {
  return [...xml.matchAll(new RegExp(`<${name}>([^<]*)</${name}>`, 'g'))].map((match) => match[1] ?? '');
}

export class CloudFrontStandIn {
  readonly tenants = new Map<string, StandInTenant>();
  /** CloudFront's view of DNS: whether a domain resolves to the connection group. */
  resolves: (domain: string) => boolean = () => true;
  /** Looks at a managed certificate before it is issued. */
  validationPolls = 1;
  /** The next this-many requests fail with 503 ServiceUnavailable. */
  failNext = 0;
  /** Every request fails with this, until cleared. */
  failWith: { status: number; code: string; message?: string } | null = null;
  sent: SentRequest[] = [];
  client!: CloudFrontClient;
  #server: Server | undefined;
  #sequence = 0;

  async start(): Promise<void> {
    this.#server = createServer((request, response) => {
      let body = '';
      request.setEncoding('utf8');
      request.on('data', (chunk: string) => {
        body += chunk;
      });
      request.on('end', () => {
        const reply = this.handle(request, body);
        response.writeHead(reply.status, {
          ...(reply.body === '' ? {} : { 'content-type': 'text/xml' }),
          ...(reply.etag === undefined ? {} : { etag: reply.etag }),
        });
        response.end(reply.body);
      });
    });
    await new Promise<void>((resolve) => this.#server?.listen(0, '127.0.0.1', resolve));
    const { port } = this.#server.address() as AddressInfo;
    this.client = new CloudFrontClient({
      region: 'us-east-1',
      endpoint: `http://127.0.0.1:${port}`,
      credentials: { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'secret' },
      // The state machine retries, not the SDK: one attempt per request, so a 503 reaches it.
      maxAttempts: 1,
    });
    this.client.middlewareStack.add(
      (next) => async (args) => {
        const request = args.request as Omit<SentRequest, 'body'> & { body?: unknown };
        this.sent.push({
          method: request.method,
          path: request.path,
          headers: { ...request.headers },
          body: typeof request.body === 'string' ? request.body : '',
        });
        return next(args);
      },
      { step: 'finalizeRequest', priority: 'low', name: 'captureSentRequests' },
    );
  }

  async stop(): Promise<void> {
    this.client?.destroy();
    await new Promise<void>((resolve) =>
      this.#server === undefined ? resolve() : this.#server.close(() => resolve()),
    );
  }

  reset(): void {
    this.tenants.clear();
    this.failWith = null;
    this.failNext = 0;
    this.resolves = () => true;
    this.validationPolls = 1;
    this.sent = [];
  }

  add(
    tenant: Omit<StandInTenant, 'id' | 'etag' | 'status' | 'managedCertificate' | 'validationLooks'>,
  ): StandInTenant {
    const created: StandInTenant = {
      ...tenant,
      id: `dt_${++this.#sequence}`,
      etag: this.#etag(),
      status: 'Deployed',
      managedCertificate: false,
      validationLooks: 0,
    };
    this.tenants.set(created.id, created);
    return created;
  }

  #byIdentifier(identifier: string): StandInTenant | undefined {
    return [...this.tenants.values()].find(
      (tenant) => tenant.id === identifier || tenant.name === identifier,
    );
  }

  handle(request: IncomingMessage, body: string): Reply {
    const url = new URL(request.url ?? '/', 'http://cloudfront');
    const ifMatch = request.headers['if-match'];
    if (this.failWith !== null)
      return this.#error(this.failWith.status, this.failWith.code, this.failWith.message);
    if (this.failNext > 0) {
      this.failNext--;
      return this.#error(503, 'ServiceUnavailable', 'CloudFront is unavailable; try again');
    }
    const byId = /^\/2020-05-31\/distribution-tenant\/([^/]+)$/.exec(url.pathname);
    const certificate = /^\/2020-05-31\/managed-certificate\/([^/]+)$/.exec(url.pathname);
    if (request.method === 'POST' && url.pathname === '/2020-05-31/distribution-tenant') {
      const name = tag(body, 'Name')[0] ?? '';
      const domains = tag(body, 'Domain');
      const managed = body.includes('<ManagedCertificateRequest>');
      if ([...this.tenants.values()].some((tenant) => tenant.name === name)) {
        return this.#error(409, 'EntityAlreadyExists');
      }
      if ([...this.tenants.values()].some((tenant) => tenant.domains.some((d) => domains.includes(d)))) {
        return this.#error(409, 'CNAMEAlreadyExists');
      }
      const unresolved = domains.filter((domain) => !this.resolves(domain));
      if (managed && unresolved.length > 0) {
        return this.#error(
          400,
          'InvalidArgument',
          `The domain ${unresolved[0]} must have a CNAME record that points to the routing endpoint of the connection group before CloudFront can request a certificate for it`,
        );
      }
      const arn = tag(body, 'Arn')[0];
      const created: StandInTenant = {
        id: `dt_${++this.#sequence}`,
        etag: this.#etag(),
        name,
        distributionId: tag(body, 'DistributionId')[0] ?? '',
        connectionGroupId: tag(body, 'ConnectionGroupId')[0] ?? '',
        domains,
        enabled: tag(body, 'Enabled')[0] === 'true',
        status: 'InProgress',
        managedCertificate: managed,
        ...(arn === undefined ? {} : { certificateArn: arn }),
        validationLooks: 0,
      };
      this.tenants.set(created.id, created);
      return this.#tenant(201, created);
    }
    if (request.method === 'GET' && certificate !== null) {
      const found = this.#byIdentifier(decodeURIComponent(certificate[1] ?? ''));
      if (found === undefined || !found.managedCertificate) return this.#error(404, 'EntityNotFound');
      found.validationLooks++;
      const status = found.validationLooks > this.validationPolls ? 'issued' : 'pending-validation';
      return {
        status: 200,
        body: `<?xml version="1.0"?><ManagedCertificateDetails xmlns="${NS}"><CertificateArn>arn:aws:acm:us-east-1:111122223333:certificate/${found.id}</CertificateArn><CertificateStatus>${status}</CertificateStatus><ValidationTokenHost>cloudfront</ValidationTokenHost></ManagedCertificateDetails>`,
      };
    }
    if (request.method === 'GET' && byId !== null) {
      // GetDistributionTenant takes an id, an ARN or a name; a tenant deploys between two looks.
      const found = this.#byIdentifier(decodeURIComponent(byId[1] ?? ''));
      if (found === undefined) return this.#error(404, 'EntityNotFound');
      const reply = this.#tenant(200, found);
      found.status = 'Deployed';
      return reply;
    }
    if (byId !== null && (request.method === 'PUT' || request.method === 'DELETE')) {
      const found = this.tenants.get(decodeURIComponent(byId[1] ?? ''));
      if (found === undefined) return this.#error(404, 'EntityNotFound');
      if (ifMatch !== found.etag) return this.#error(412, 'PreconditionFailed');
      if (request.method === 'DELETE') {
        if (found.enabled) return this.#error(409, 'ResourceNotDisabled');
        this.tenants.delete(found.id);
        return { status: 204, body: '' };
      }
      const enabled = tag(body, 'Enabled')[0];
      if (enabled !== undefined) found.enabled = enabled === 'true';
      const domains = tag(body, 'Domain');
      if (domains.length > 0) found.domains = domains;
      found.etag = this.#etag();
      return this.#tenant(200, found);
    }
    return this.#error(400, 'InvalidArgument', 'Unknown request');
  }

  #etag(): string {
    return `E${Math.random().toString(36).slice(2, 12).toUpperCase()}`;
  }

  #tenant(status: number, tenant: StandInTenant): Reply {
    const domains = tenant.domains
      .map((domain) => `<member><Domain>${domain}</Domain><Status>active</Status></member>`)
      .join('');
    return {
      status,
      etag: tenant.etag,
      body: `<?xml version="1.0"?><DistributionTenant xmlns="${NS}"><Id>${tenant.id}</Id><DistributionId>${tenant.distributionId}</DistributionId><Name>${tenant.name}</Name><Domains>${domains}</Domains><ConnectionGroupId>${tenant.connectionGroupId}</ConnectionGroupId><Enabled>${tenant.enabled}</Enabled><Status>${tenant.status}</Status></DistributionTenant>`,
    };
  }

  #error(status: number, code: string, message = code): Reply {
    return {
      status,
      body: `<?xml version="1.0"?><ErrorResponse xmlns="${NS}"><Error><Type>${status >= 500 ? 'Receiver' : 'Sender'}</Type><Code>${code}</Code><Message>${message}</Message></Error><RequestId>req-1</RequestId></ErrorResponse>`,
    };
  }
}
