/**
 * Tenant-isolated invokes through the real Lambda client, against a loopback stand-in that records
 * what reaches it: the tenant travels as one signed `X-Amz-Tenant-Id` header, whatever the input.
 */
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { LambdaClient } from '@aws-sdk/client-lambda';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { invokeInTenant, TENANT_ID_HEADER } from '../../../../functions/clients/lambda.ts';

let server: Server;
let client: LambdaClient;
const seen: { url: string; headers: IncomingHttpHeaders; rawHeaders: string[]; body: string }[] = [];

beforeAll(async () => {
  server = createServer((request, response) => {
    let body = '';
    request.on('data', (chunk: Buffer) => {
      body += chunk.toString('utf8');
    });
    request.on('end', () => {
      seen.push({ url: request.url ?? '', headers: request.headers, rawHeaders: request.rawHeaders, body });
      response.writeHead(200, { 'content-type': 'application/json' });
      response.end('{"ok":true}');
    });
  });
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  client = new LambdaClient({
    endpoint: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    region: 'eu-west-1',
    credentials: { accessKeyId: 'AKIDTEST', secretAccessKey: 'test' },
  });
});

afterAll(async () => {
  client.destroy();
  await new Promise<void>((done) => server.close(() => done()));
});

describe('invokeInTenant', () => {
  it('sends one signed tenant header and a synchronous Invoke of the named function', async () => {
    seen.length = 0;
    const answer = await invokeInTenant(client, {
      functionName: 'execfabric-script-worker',
      tenantId: 'acme',
      payload: Buffer.from('{"action":"check"}'),
    });
    expect(Buffer.from(answer.Payload ?? new Uint8Array()).toString('utf8')).toBe('{"ok":true}');
    const [request] = seen;
    expect(request?.url).toBe('/2015-03-31/functions/execfabric-script-worker/invocations');
    expect(request?.headers['x-amz-invocation-type']).toBe('RequestResponse');
    expect(request?.headers['x-amz-tenant-id']).toBe('acme');
    // One header line, not a second spelling a newer SDK might add.
    const names = (request?.rawHeaders ?? []).filter((_, i) => i % 2 === 0).map((name) => name.toLowerCase());
    expect(names.filter((name) => name === TENANT_ID_HEADER.toLowerCase())).toHaveLength(1);
    // Signed: a relay that rewrote the tenant would break the signature.
    const signed =
      /SignedHeaders=([^,]+)/.exec(String(request?.headers.authorization))?.[1]?.split(';') ?? [];
    expect(signed).toContain('x-amz-tenant-id');
    expect(request?.body).toBe('{"action":"check"}');
  });

  it('keeps each invocation’s own tenant when several run at once on one client', async () => {
    seen.length = 0;
    const tenants = ['acme', 'globex', 'initech', 'umbrella'];
    await Promise.all(
      tenants.map((tenantId) =>
        invokeInTenant(client, {
          functionName: 'worker',
          tenantId,
          payload: Buffer.from(JSON.stringify({ tenantId })),
        }),
      ),
    );
    expect(seen).toHaveLength(tenants.length);
    for (const request of seen) {
      const { tenantId } = JSON.parse(request.body) as { tenantId: string };
      expect(request.headers['x-amz-tenant-id']).toBe(tenantId);
    }
  });
});
