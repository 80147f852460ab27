/**
 * Tenant-isolated invokes through the real Lambda client, against a loopback stand-in that records
 * what reaches it: the tenant travels as one signed `X-Amz-Tenant-Id` header, whatever the input. And
 * the APIs' script check, which loads that client on its first check.
 */
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { LambdaClient } from '@aws-sdk/client-lambda';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { invokeInTenant, TENANT_ID_HEADER } from '../../../../functions/clients/lambda.ts';
import { scriptCheckerFromEnv } from '../../../../functions/clients/script-checker.ts';
import { ScriptCheckUnavailableError } from '../../../../functions/core/assets/checker.ts';
import { ENV, functionNameEnv } from '../../../../functions/core/env.ts';

let server: Server;
let endpoint: string;
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
  endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  client = new LambdaClient({
    endpoint,
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

describe('scriptCheckerFromEnv', () => {
  const env = () => ({
    [functionNameEnv('script-worker')]: 'execfabric-script-worker',
    [ENV.lambdaEndpoint]: endpoint,
    AWS_REGION: 'eu-west-1',
    AWS_ACCESS_KEY_ID: 'AKIDTEST',
    AWS_SECRET_ACCESS_KEY: 'test',
  });

  it('is none where the function may not invoke the worker', () => {
    expect(scriptCheckerFromEnv({})).toBeUndefined();
  });

  it('checks in the script’s tenant, with one client for every check', async () => {
    seen.length = 0;
    const checker = scriptCheckerFromEnv(env());
    const source = 'def main(ctx, input):\n    return {}\n';
    const answers = await Promise.all([checker?.check(source, 'acme'), checker?.check(source, 'globex')]);
    expect(answers).toEqual([{ ok: true }, { ok: true }]);
    expect(seen.map((request) => request.url)).toEqual([
      '/2015-03-31/functions/execfabric-script-worker/invocations',
      '/2015-03-31/functions/execfabric-script-worker/invocations',
    ]);
    expect(seen.map((request) => request.headers['x-amz-tenant-id']).sort()).toEqual(['acme', 'globex']);
    for (const request of seen) expect(JSON.parse(request.body)).toEqual({ action: 'check', source });
  });

  it('answers an unreachable runtime with the check’s own error (a 503, not a 500)', async () => {
    seen.length = 0;
    const checker = scriptCheckerFromEnv({ ...env(), [ENV.lambdaEndpoint]: 'http://127.0.0.1:1' });
    await expect(checker?.check('x = 1', 'acme')).rejects.toBeInstanceOf(ScriptCheckUnavailableError);
    expect(seen).toEqual([]);
  });
});
