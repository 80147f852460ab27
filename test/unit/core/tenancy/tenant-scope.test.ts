/**
 * Least privilege under a bug, through the real SDK clients: the tenant scope refuses, before
 * anything is sent, every request outside the request tenant's partitions and the few shared reads;
 * and with a tenant-data role, the tenant's requests reach DynamoDB (dynalite, behind a loopback
 * proxy that records each request's signature) signed with that tenant's own STS session — one
 * AssumeRole per tenant, tagged with it — from a loopback STS stand-in.
 */
import { createServer, request as httpRequest, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { STSClient } from '@aws-sdk/client-sts';
import {
  DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  QueryCommand,
  ScanCommand,
} from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  approvalsInbox,
  hostKey,
  itemKey,
  publicItemKey,
  TENANT_LISTING,
  tenantKey,
} from '../../../../functions/core/keys.ts';
import {
  AssumedRoleTenantClients,
  PartitionScopeError,
  principalFor,
  scopeTableClient,
  TENANT_SESSION_TAG,
  withTenantScope,
} from '../../../../functions/core/tenancy/tenant-scope.ts';
import { readBody } from '../../../../lib/local/request-body.ts';
import { type LocalServices, startLocalServices } from '../../../../lib/local/services.ts';
import { resign } from '../../../../lib/local/sigv4.ts';

const acme = {
  kind: 'tenant',
  host: 'acme.localhost',
  tenant: { id: 'acme', name: 'Acme', status: 'active', plan: 'p', expiresAt: '' },
} as const;
const globex = { ...acme, tenant: { ...acme.tenant, id: 'globex' } } as const;

let services: LocalServices;
let proxy: Server;
let sts: Server;
const signed: { accessKey: string; token: string | undefined; target: string }[] = [];
const assumed: { session: string; tags: Record<string, string>; role: string }[] = [];

function documentClient(endpoint: string, accessKeyId: string): DynamoDBDocumentClient {
  return DynamoDBDocumentClient.from(
    new DynamoDBClient({
      endpoint,
      region: 'us-east-1',
      credentials: { accessKeyId, secretAccessKey: 'secret' },
    }),
    { marshallOptions: { removeUndefinedValues: true } },
  );
}

beforeAll(async () => {
  services = await startLocalServices({ dataDir: null, visibilityTimeoutSeconds: null });
  const upstream = new URL(services.dynamodbEndpoint);
  // Records who signed each request (IAM's view), then hands it on to dynalite — signed again with
  // the local services' own credentials, the only ones the embedded servers take.
  proxy = createServer(async (incoming, outgoing) => {
    const credential = /Credential=([^/]+)\//.exec(String(incoming.headers.authorization ?? ''))?.[1] ?? '';
    signed.push({
      accessKey: credential,
      token: incoming.headers['x-amz-security-token'] as string | undefined,
      target: String(incoming.headers['x-amz-target'] ?? ''),
    });
    const body = (await readBody(incoming)) ?? Buffer.alloc(0);
    const headers = await resign(
      {
        method: incoming.method ?? 'POST',
        url: incoming.url ?? '/',
        headers: incoming.headers,
        body,
        host: upstream.host,
      },
      services.credentials,
      { region: 'us-east-1', service: 'dynamodb' },
    );
    const forward = httpRequest(
      { host: upstream.hostname, port: upstream.port, path: incoming.url, method: incoming.method, headers },
      (answer) => {
        outgoing.writeHead(answer.statusCode ?? 500, answer.headers);
        answer.pipe(outgoing);
      },
    );
    forward.end(body);
  });
  await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
  sts = createServer((incoming, outgoing) => {
    let body = '';
    incoming.on('data', (chunk) => {
      body += String(chunk);
    });
    incoming.on('end', () => {
      const form = new URLSearchParams(body);
      const session = form.get('RoleSessionName') ?? '';
      const tags: Record<string, string> = {};
      for (let n = 1; form.has(`Tags.member.${n}.Key`); n++) {
        tags[form.get(`Tags.member.${n}.Key`) ?? ''] = form.get(`Tags.member.${n}.Value`) ?? '';
      }
      assumed.push({ session, tags, role: form.get('RoleArn') ?? '' });
      const key = `ASIA${(tags[TENANT_SESSION_TAG] ?? 'none').toUpperCase()}`;
      outgoing.writeHead(200, { 'content-type': 'text/xml' });
      outgoing.end(
        `<AssumeRoleResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><AssumeRoleResult><Credentials><AccessKeyId>${key}</AccessKeyId><SecretAccessKey>s3cret</SecretAccessKey><SessionToken>token-${session}</SessionToken><Expiration>2099-01-01T00:00:00Z</Expiration></Credentials><AssumedRoleUser><AssumedRoleId>AROA:${session}</AssumedRoleId><Arn>arn:aws:sts::111122223333:assumed-role/TenantData/${session}</Arn></AssumedRoleUser></AssumeRoleResult><ResponseMetadata><RequestId>r</RequestId></ResponseMetadata></AssumeRoleResponse>`,
      );
    });
  });
  await new Promise<void>((resolve) => sts.listen(0, '127.0.0.1', resolve));
});

afterAll(async () => {
  await new Promise<void>((resolve) => proxy?.close(() => resolve()));
  await new Promise<void>((resolve) => sts?.close(() => resolve()));
  await services?.stop();
});

describe('principalFor', () => {
  const get = (key: { PK: string; SK: string }) => ({ TableName: 't', Key: key });
  it('lets a scope reach its own partitions and its own GSI partitions with its credentials', () => {
    expect(principalFor('GetItemCommand', get(tenantKey('acme')), 'acme')).toBe('tenant');
    expect(principalFor('PutItemCommand', { Item: itemKey(acme, 'SKILL', 's1') }, 'acme')).toBe('tenant');
    const inbox = {
      IndexName: 'GSI1',
      KeyConditionExpression: 'GSI1PK = :inbox',
      ExpressionAttributeValues: { ':inbox': approvalsInbox(acme) },
    };
    expect(principalFor('QueryCommand', inbox, 'acme')).toBe('tenant');
  });

  it('refuses another tenant’s partition, a tenant partition outside any scope, and look-alike ids', () => {
    expect(() => principalFor('GetItemCommand', get(tenantKey('globex')), 'acme')).toThrow(
      PartitionScopeError,
    );
    expect(() => principalFor('GetItemCommand', get(tenantKey('acme')), undefined)).toThrow(
      /outside any tenant scope/,
    );
    expect(() => principalFor('GetItemCommand', get(tenantKey('acme-evil')), 'acme')).toThrow(
      PartitionScopeError,
    );
    const inbox = {
      IndexName: 'GSI1',
      KeyConditionExpression: '#pk = :inbox',
      ExpressionAttributeNames: { '#pk': 'GSI1PK' },
      ExpressionAttributeValues: { ':inbox': approvalsInbox(globex) },
    };
    expect(() => principalFor('QueryCommand', inbox, 'acme')).toThrow(PartitionScopeError);
  });

  it('allows only point reads of host bindings and public items, and audit entries as the one public write', () => {
    expect(principalFor('GetItemCommand', get(hostKey('acme.localhost')), 'acme')).toBe('function');
    expect(principalFor('GetItemCommand', get(publicItemKey('HTTPRES', 'r1')), 'acme')).toBe('function');
    expect(principalFor('PutItemCommand', { Item: { PK: 'PUBLIC', SK: 'AUDIT#2030#x' } }, 'acme')).toBe(
      'function',
    );
    expect(() =>
      principalFor('PutItemCommand', { Item: { PK: 'PUBLIC', SK: 'USER#root', superAdmin: true } }, 'acme'),
    ).toThrow(PartitionScopeError);
    expect(() => principalFor('UpdateItemCommand', get(hostKey('acme.localhost')), 'acme')).toThrow(
      PartitionScopeError,
    );
    expect(() =>
      principalFor(
        'QueryCommand',
        { KeyConditionExpression: 'PK = :pk', ExpressionAttributeValues: { ':pk': 'PUBLIC' } },
        'acme',
      ),
    ).toThrow(PartitionScopeError);
    const listing = {
      IndexName: 'GSI1',
      KeyConditionExpression: 'GSI1PK = :l',
      ExpressionAttributeValues: { ':l': TENANT_LISTING },
    };
    expect(() => principalFor('QueryCommand', listing, 'acme')).toThrow(PartitionScopeError);
    expect(() => principalFor('ScanCommand', { TableName: 't' }, 'acme')).toThrow(PartitionScopeError);
    const mixed = { RequestItems: { t: { Keys: [tenantKey('acme'), hostKey('acme.localhost')] } } };
    expect(() => principalFor('BatchGetItemCommand', mixed, 'acme')).toThrow(PartitionScopeError);
  });
});

describe('a scoped table client', () => {
  it('refuses out-of-scope requests before they are sent, locally as in AWS', async () => {
    const endpoint = `http://127.0.0.1:${(proxy.address() as AddressInfo).port}`;
    const client = documentClient(endpoint, 'AKIDFUNCTION');
    scopeTableClient(client);
    const table = services.tableName;
    await withTenantScope('acme', () =>
      client.send(new PutCommand({ TableName: table, Item: { ...tenantKey('acme'), id: 'acme' } })),
    );
    const before = signed.length;
    await expect(
      withTenantScope('acme', () =>
        client.send(new GetCommand({ TableName: table, Key: tenantKey('globex') })),
      ),
    ).rejects.toBeInstanceOf(PartitionScopeError);
    await expect(
      client.send(new GetCommand({ TableName: table, Key: tenantKey('acme') })),
    ).rejects.toBeInstanceOf(PartitionScopeError);
    await expect(
      withTenantScope('acme', () => client.send(new ScanCommand({ TableName: table }))),
    ).rejects.toBeInstanceOf(PartitionScopeError);
    expect(signed.length).toBe(before); // nothing reached DynamoDB
    const read = await withTenantScope('acme', () =>
      client.send(new GetCommand({ TableName: table, Key: tenantKey('acme') })),
    );
    expect(read.Item?.id).toBe('acme');
  });

  it('sends each tenant’s requests with its own tagged STS session, cached per tenant, and shared reads with the function’s role', async () => {
    const endpoint = `http://127.0.0.1:${(proxy.address() as AddressInfo).port}`;
    const client = documentClient(endpoint, 'AKIDFUNCTION');
    const tenantClients = new AssumedRoleTenantClients({
      sts: new STSClient({
        endpoint: `http://127.0.0.1:${(sts.address() as AddressInfo).port}`,
        region: 'us-east-1',
        credentials: { accessKeyId: 'AKIDFUNCTION', secretAccessKey: 'secret' },
      }),
      roleArn: 'arn:aws:iam::111122223333:role/TenantData',
      dynamodbEndpoint: endpoint,
      region: 'us-east-1',
    });
    scopeTableClient(client, tenantClients);
    const table = services.tableName;
    signed.length = 0;
    assumed.length = 0;
    for (const tenant of [acme, globex, acme]) {
      await withTenantScope(tenant.tenant.id, () =>
        client.send(
          new PutCommand({
            TableName: table,
            Item: { ...itemKey(tenant, 'PARAM', 'x'), value: tenant.tenant.id },
          }),
        ),
      );
    }
    await withTenantScope('acme', () =>
      client.send(
        new QueryCommand({
          TableName: table,
          KeyConditionExpression: 'PK = :pk AND begins_with(SK, :p)',
          ExpressionAttributeValues: { ':pk': 'T#acme', ':p': 'PARAM#' },
        }),
      ),
    );
    await withTenantScope('acme', () =>
      client.send(new GetCommand({ TableName: table, Key: hostKey('acme.localhost') })),
    );

    expect(assumed).toEqual([
      {
        session: 'execfabric-acme',
        tags: { tenant: 'acme' },
        role: 'arn:aws:iam::111122223333:role/TenantData',
      },
      {
        session: 'execfabric-globex',
        tags: { tenant: 'globex' },
        role: 'arn:aws:iam::111122223333:role/TenantData',
      },
    ]);
    expect(
      signed.map((entry) => `${entry.target.split('.')[1]} ${entry.accessKey} ${entry.token ?? '-'}`),
    ).toEqual([
      'PutItem ASIAACME token-execfabric-acme',
      'PutItem ASIAGLOBEX token-execfabric-globex',
      'PutItem ASIAACME token-execfabric-acme',
      'Query ASIAACME token-execfabric-acme',
      'GetItem AKIDFUNCTION -',
    ]);
  });
});
