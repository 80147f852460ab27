/**
 * The CloudFront host edge through the real AWS SDK client. moto_server (5.2.1 here) has no
 * CloudFront distribution tenants, so a small stand-in for that part of the CloudFront REST API
 * answers on loopback, and the requests the adapter makes are captured from the client's own
 * middleware stack after signing: what is asserted is exactly what would go on the wire.
 */
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { CloudFrontClient } from '@aws-sdk/client-cloudfront';
import { DynamoDBDocumentClient, GetCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { Table } from '../../../../functions/core/db.ts';
import { ENV, MissingConfigurationError } from '../../../../functions/core/env.ts';
import { ConflictError } from '../../../../functions/core/errors.ts';
import {
  BindingOnlyHostEdge,
  CloudFrontHostEdge,
  distributionTenantName,
  hostEdgeFromEnv,
} from '../../../../functions/core/governance/edge.ts';
import { HostEdgeError } from '../../../../functions/core/governance/errors.ts';
import { hostKey } from '../../../../functions/core/keys.ts';
import { HostDirectory } from '../../../../functions/core/tenancy/hosts.ts';
import { TenantRegistry } from '../../../../functions/core/tenancy/tenants.ts';
import { type LocalServices, startLocalServices } from '../../../../lib/local/services.ts';

const DISTRIBUTION = 'E2MULTITENANT';
const CONNECTION_GROUP = 'cg_2abcdef';
const NS = 'http://cloudfront.amazonaws.com/doc/2020-05-31/';

interface Reply {
  readonly status: number;
  readonly body: string;
  readonly etag?: string;
}

interface FakeTenant {
  id: string;
  name: string;
  distributionId: string;
  connectionGroupId: string;
  domains: string[];
  enabled: boolean;
  etag: string;
}

/** The distribution-tenant part of CloudFront's REST API, in memory, with its documented rules. */
class FakeCloudFront {
  readonly tenants = new Map<string, FakeTenant>();
  failWith: { status: number; code: string } | null = null;
  #sequence = 0;

  reset(): void {
    this.tenants.clear();
    this.failWith = null;
  }

  add(tenant: Omit<FakeTenant, 'id' | 'etag'>): FakeTenant {
    const created = { ...tenant, id: `dt_${++this.#sequence}`, etag: this.#etag() };
    this.tenants.set(created.id, created);
    return created;
  }

  handle(request: IncomingMessage, body: string): Reply {
    const url = new URL(request.url ?? '/', 'http://cloudfront');
    const ifMatch = request.headers['if-match'];
    if (this.failWith !== null) return this.#error(this.failWith.status, this.failWith.code);
    const byId = /^\/2020-05-31\/distribution-tenant\/([^/]+)$/.exec(url.pathname);
    if (request.method === 'POST' && url.pathname === '/2020-05-31/distribution-tenant') {
      const name = tag(body, 'Name')[0] ?? '';
      const domains = tag(body, 'Domain');
      if ([...this.tenants.values()].some((tenant) => tenant.name === name)) {
        return this.#error(409, 'EntityAlreadyExists');
      }
      if ([...this.tenants.values()].some((tenant) => tenant.domains.some((d) => domains.includes(d)))) {
        return this.#error(409, 'CNAMEAlreadyExists');
      }
      const created = this.add({
        name,
        distributionId: tag(body, 'DistributionId')[0] ?? '',
        connectionGroupId: tag(body, 'ConnectionGroupId')[0] ?? '',
        domains,
        enabled: tag(body, 'Enabled')[0] === 'true',
      });
      return this.#tenant(201, created);
    }
    if (request.method === 'GET' && byId !== null) {
      // GetDistributionTenant takes an id, an ARN or a name.
      const identifier = decodeURIComponent(byId[1] ?? '');
      const found = [...this.tenants.values()].find(
        (tenant) => tenant.id === identifier || tenant.name === identifier,
      );
      return found === undefined ? this.#error(404, 'EntityNotFound') : this.#tenant(200, found);
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
    return this.#error(400, 'InvalidArgument');
  }

  #etag(): string {
    return `E${Math.random().toString(36).slice(2, 12).toUpperCase()}`;
  }

  #tenant(status: number, tenant: FakeTenant): Reply {
    const domains = tenant.domains
      .map((domain) => `<member><Domain>${domain}</Domain><Status>active</Status></member>`)
      .join('');
    return {
      status,
      etag: tenant.etag,
      body: `<?xml version="1.0"?><DistributionTenant xmlns="${NS}"><Id>${tenant.id}</Id><DistributionId>${tenant.distributionId}</DistributionId><Name>${tenant.name}</Name><Domains>${domains}</Domains><ConnectionGroupId>${tenant.connectionGroupId}</ConnectionGroupId><Enabled>${tenant.enabled}</Enabled><Status>Deployed</Status></DistributionTenant>`,
    };
  }

  #error(status: number, code: string): Reply {
    return {
      status,
      body: `<?xml version="1.0"?><ErrorResponse xmlns="${NS}"><Error><Type>Sender</Type><Code>${code}</Code><Message>${code}</Message></Error><RequestId>req-1</RequestId></ErrorResponse>`,
    };
  }
}

function tag(xml: string, name: string): string[] {
  return [...xml.matchAll(new RegExp(`<${name}>([^<]*)</${name}>`, 'g'))].map((match) => match[1] ?? '');
}

interface SentRequest {
  readonly method: string;
  readonly path: string;
  readonly headers: Record<string, string>;
  readonly body: string;
}

const fake = new FakeCloudFront();
let server: Server;
let client: CloudFrontClient;
let sent: SentRequest[] = [];
let edge: CloudFrontHostEdge;

beforeAll(async () => {
  server = createServer((request, response) => {
    let body = '';
    request.setEncoding('utf8');
    request.on('data', (chunk: string) => {
      body += chunk;
    });
    request.on('end', () => {
      const reply = fake.handle(request, body);
      response.writeHead(reply.status, {
        ...(reply.body === '' ? {} : { 'content-type': 'text/xml' }),
        ...(reply.etag === undefined ? {} : { etag: reply.etag }),
      });
      response.end(reply.body);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  client = new CloudFrontClient({
    region: 'us-east-1',
    endpoint: `http://127.0.0.1:${port}`,
    credentials: { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'secret' },
    maxAttempts: 1,
  });
  // The SDK's own middleware stack, after signing: the request exactly as it leaves the client.
  client.middlewareStack.add(
    (next) => async (args) => {
      const request = args.request as Omit<SentRequest, 'body'> & { body?: unknown };
      sent.push({
        method: request.method,
        path: request.path,
        headers: { ...request.headers },
        body: typeof request.body === 'string' ? request.body : '',
      });
      return next(args);
    },
    { step: 'finalizeRequest', priority: 'low', name: 'captureSentRequests' },
  );
  edge = new CloudFrontHostEdge({
    client,
    distributionId: DISTRIBUTION,
    connectionGroupId: CONNECTION_GROUP,
  });
});

afterAll(async () => {
  client?.destroy();
  await new Promise<void>((resolve) => server?.close(() => resolve()));
});

beforeEach(() => {
  fake.reset();
  sent = [];
});

describe('CloudFrontHostEdge', () => {
  it('attaches a host as a signed CreateDistributionTenant in the configured distribution and group', async () => {
    await edge.attach('shop.example.com', 'initech');

    expect(sent).toHaveLength(1);
    const [create] = sent;
    expect(create?.method).toBe('POST');
    expect(create?.path).toBe('/2020-05-31/distribution-tenant');
    expect(create?.headers.authorization).toMatch(
      /^AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE\/\d{8}\/us-east-1\/cloudfront\//,
    );
    expect(tag(create?.body ?? '', 'DistributionId')).toEqual([DISTRIBUTION]);
    expect(tag(create?.body ?? '', 'ConnectionGroupId')).toEqual([CONNECTION_GROUP]);
    expect(tag(create?.body ?? '', 'Name')).toEqual([distributionTenantName('shop.example.com')]);
    expect(tag(create?.body ?? '', 'Domain')).toEqual(['shop.example.com']);
    expect(tag(create?.body ?? '', 'Enabled')).toEqual(['true']);

    const [created] = fake.tenants.values();
    expect(created?.domains).toEqual(['shop.example.com']);
    expect(created?.enabled).toBe(true);
  });

  it('treats a repeated attach as done, without a second distribution tenant', async () => {
    await edge.attach('shop.example.com', 'initech');
    await edge.attach('shop.example.com', 'initech');
    expect(fake.tenants.size).toBe(1);
    expect(sent.map((request) => request.method)).toEqual(['POST', 'POST', 'GET']);
    expect(sent[2]?.path).toBe(
      `/2020-05-31/distribution-tenant/${distributionTenantName('shop.example.com')}`,
    );
  });

  it('refuses a host another distribution tenant already serves', async () => {
    fake.add({
      name: 'someone-else',
      distributionId: 'E3OTHER',
      connectionGroupId: CONNECTION_GROUP,
      domains: ['taken.example.com'],
      enabled: true,
    });
    await expect(edge.attach('taken.example.com', 'initech')).rejects.toBeInstanceOf(ConflictError);
    expect(fake.tenants.size).toBe(1);
  });

  it('re-enables its own half-detached distribution tenant on attach', async () => {
    const half = fake.add({
      name: distributionTenantName('shop.example.com'),
      distributionId: DISTRIBUTION,
      connectionGroupId: CONNECTION_GROUP,
      domains: ['shop.example.com'],
      enabled: false,
    });
    const etag = half.etag;
    await edge.attach('shop.example.com', 'initech');
    const update = sent.find((request) => request.method === 'PUT');
    expect(update?.path).toBe(`/2020-05-31/distribution-tenant/${half.id}`);
    expect(update?.headers['if-match']).toBe(etag);
    expect(tag(update?.body ?? '', 'Enabled')).toEqual(['true']);
    expect(fake.tenants.get(half.id)?.enabled).toBe(true);
  });

  it('detaches by disabling with the current ETag, then deleting with the new one', async () => {
    await edge.attach('shop.example.com', 'initech');
    const [created] = fake.tenants.values();
    const firstEtag = created?.etag;
    sent = [];

    await edge.detach('shop.example.com');

    expect(sent.map((request) => `${request.method} ${request.path}`)).toEqual([
      `GET /2020-05-31/distribution-tenant/${distributionTenantName('shop.example.com')}`,
      `PUT /2020-05-31/distribution-tenant/${created?.id}`,
      `DELETE /2020-05-31/distribution-tenant/${created?.id}`,
    ]);
    expect(sent[1]?.headers['if-match']).toBe(firstEtag);
    expect(tag(sent[1]?.body ?? '', 'Enabled')).toEqual(['false']);
    expect(tag(sent[1]?.body ?? '', 'Domain')).toEqual(['shop.example.com']);
    expect(sent[2]?.headers['if-match']).not.toBe(firstEtag);
    expect(fake.tenants.size).toBe(0);
  });

  it('treats detaching an unknown host, or a foreign one, as nothing to do', async () => {
    await edge.detach('nobody.example.com');
    fake.add({
      name: 'someone-else',
      distributionId: 'E3OTHER',
      connectionGroupId: CONNECTION_GROUP,
      domains: ['foreign.example.com'],
      enabled: true,
    });
    await edge.detach('foreign.example.com');
    expect(fake.tenants.size).toBe(1);
    expect(sent.every((request) => request.method === 'GET')).toBe(true);
  });

  it('finishes a detach that stopped after disabling', async () => {
    fake.add({
      name: distributionTenantName('shop.example.com'),
      distributionId: DISTRIBUTION,
      connectionGroupId: CONNECTION_GROUP,
      domains: ['shop.example.com'],
      enabled: false,
    });
    await edge.detach('shop.example.com');
    expect(sent.map((request) => request.method)).toEqual(['GET', 'DELETE']);
    expect(fake.tenants.size).toBe(0);
  });

  it('reports a CloudFront failure as a HostEdgeError that names the host', async () => {
    fake.failWith = { status: 403, code: 'AccessDenied' };
    const error = await edge.attach('shop.example.com', 'initech').catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(HostEdgeError);
    expect((error as HostEdgeError).extra).toEqual({ host: 'shop.example.com' });
  });
});

describe('hostEdgeFromEnv', () => {
  it('uses the binding alone where no distribution is configured', () => {
    expect(hostEdgeFromEnv({})).toBeInstanceOf(BindingOnlyHostEdge);
  });

  it('needs the connection group with the distribution', () => {
    expect(() => hostEdgeFromEnv({ [ENV.distributionId]: DISTRIBUTION })).toThrow(MissingConfigurationError);
    expect(
      hostEdgeFromEnv({
        [ENV.distributionId]: DISTRIBUTION,
        [ENV.connectionGroupId]: CONNECTION_GROUP,
        AWS_REGION: 'us-east-1',
      }),
    ).toBeInstanceOf(CloudFrontHostEdge);
  });
});

describe('tenant hosts through the CloudFront edge (dynalite + the stand-in)', () => {
  let services: LocalServices;
  let table: Table;
  let registry: TenantRegistry;
  const expiresAt = '2030-01-01T00:00:00.000Z';

  beforeAll(async () => {
    services = await startLocalServices({ dataDir: null, visibilityTimeoutSeconds: null });
    table = {
      client: DynamoDBDocumentClient.from(services.dynamodb, {
        marshallOptions: { removeUndefinedValues: true, convertClassInstanceToMap: false },
      }),
      name: services.tableName,
    };
    registry = new TenantRegistry({ table, edge, hosts: new HostDirectory({ table }) });
  });
  afterAll(async () => {
    await services?.stop();
  });

  async function binding(host: string) {
    return (await table.client.send(new GetCommand({ TableName: table.name, Key: hostKey(host) }))).Item;
  }

  it('creates a distribution tenant per host and removes it with the host', async () => {
    await registry.create({
      id: 'hooli',
      name: 'Hooli',
      plan: 'standard',
      hosts: ['hooli.example.com'],
      expiresAt,
    });
    await registry.addHost('hooli', 'app.hooli.example.com');
    expect([...fake.tenants.values()].flatMap((tenant) => tenant.domains).sort()).toEqual([
      'app.hooli.example.com',
      'hooli.example.com',
    ]);
    const after = await registry.removeHost('hooli', 'hooli.example.com');
    expect(after.hosts).toEqual(['app.hooli.example.com']);
    expect([...fake.tenants.values()].flatMap((tenant) => tenant.domains)).toEqual(['app.hooli.example.com']);
    expect(await binding('hooli.example.com')).toBeUndefined();
  });

  it('leaves no binding behind when the edge refuses a new tenant', async () => {
    fake.failWith = { status: 403, code: 'AccessDenied' };
    await expect(
      registry.create({
        id: 'umbrella',
        name: 'Umbrella',
        plan: 'standard',
        hosts: ['umbrella.example.com'],
        expiresAt,
      }),
    ).rejects.toBeInstanceOf(HostEdgeError);
    fake.failWith = null;
    expect(await binding('umbrella.example.com')).toBeUndefined();
    await expect(registry.get('umbrella')).rejects.toThrow(/not found/);
  });

  it('leaves no binding behind when the edge refuses an added host', async () => {
    await registry.create({
      id: 'vandelay',
      name: 'Vandelay',
      plan: 'standard',
      hosts: ['vandelay.example.com'],
      expiresAt,
    });
    fake.failWith = { status: 403, code: 'AccessDenied' };
    await expect(registry.addHost('vandelay', 'import.vandelay.example.com')).rejects.toBeInstanceOf(
      HostEdgeError,
    );
    fake.failWith = null;
    expect(await binding('import.vandelay.example.com')).toBeUndefined();
    expect((await registry.get('vandelay')).hosts).toEqual(['vandelay.example.com']);
  });
});
