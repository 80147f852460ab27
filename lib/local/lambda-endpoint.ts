/**
 * A local stand-in for the Lambda Invoke API (`POST /2015-03-31/functions/{name}/invocations`), so
 * functions that invoke another synchronously use the real Lambda SDK client in both wirings.
 * Errors come back the way Lambda reports them: status 200 with `X-Amz-Function-Error`.
 *
 * It acts for tenants (a worker runs a tenant's job when invoked), so it listens on loopback only and
 * refuses every request not SigV4-signed with this start's credentials. The invocation's tenant id
 * (`X-Amz-Tenant-Id`) is passed on; a tenant-isolated function refuses an invocation without one, as
 * Lambda does.
 */
import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { FunctionName } from '../topology.ts';
import { limitInternalServer } from './connection-limits.ts';
import type { LocalInvoke } from './lambda.ts';
import { readSignedRequest } from './request-body.ts';
import { type LocalCredentials, SigV4Verifier } from './sigv4.ts';

const INVOKE_PATH = /^\/2015-03-31\/functions\/([^/]+)\/invocations$/;
/** Lambda's synchronous payload limit. */
const MAX_PAYLOAD_BYTES = 6 * 1024 * 1024;
const TENANT_HEADER = 'x-amz-tenant-id';

export interface LambdaEndpoint {
  readonly url: string;
  stop(): Promise<void>;
}

export interface LambdaEndpointOptions {
  readonly invoke: (name: FunctionName) => LocalInvoke;
  readonly known: ReadonlySet<string>;
  readonly credentials: LocalCredentials;
  /** Called with each refused request (a security event). */
  readonly onRefused?: (reason: string) => void;
}

function answer(
  response: import('node:http').ServerResponse,
  status: number,
  type: string,
  message: string,
): void {
  response.writeHead(status, { 'content-type': 'application/json', 'x-amzn-errortype': type });
  response.end(JSON.stringify({ message }));
}

export async function startLambdaEndpoint(options: LambdaEndpointOptions): Promise<LambdaEndpoint> {
  const verifier = new SigV4Verifier(options.credentials);
  const server: Server = createServer(async (request, response) => {
    const read = await readSignedRequest(verifier, request, MAX_PAYLOAD_BYTES);
    if (read.kind === 'gone') return;
    if (read.kind === 'too-large') {
      answer(response, 413, 'RequestTooLargeException', 'Request payload too large');
      return;
    }
    if (read.kind === 'refused') {
      options.onRefused?.(read.reason);
      // Refused unread: the rest of the stranger's body is not waited for.
      if (read.early) response.setHeader('connection', 'close');
      answer(response, 403, 'InvalidSignatureException', read.reason);
      return;
    }
    const { body } = read;
    const match = INVOKE_PATH.exec((request.url ?? '').split('?')[0] ?? '');
    const name = match?.[1] === undefined ? undefined : decodeURIComponent(match[1]);
    if (request.method !== 'POST' || name === undefined || !options.known.has(name)) {
      answer(response, 404, 'ResourceNotFoundException', 'Function not found');
      return;
    }
    const tenant = request.headers[TENANT_HEADER];
    try {
      const text = body.toString('utf8');
      const result = await options.invoke(name as FunctionName)(text === '' ? {} : JSON.parse(text), {
        ...(typeof tenant === 'string' && tenant !== '' ? { tenantId: tenant } : {}),
      });
      response.writeHead(200, { 'content-type': 'application/json', 'x-amz-executed-version': '$LATEST' });
      response.end(JSON.stringify(result ?? null));
    } catch (error) {
      response.writeHead(200, { 'content-type': 'application/json', 'x-amz-function-error': 'Unhandled' });
      response.end(
        JSON.stringify({ errorType: (error as Error).name, errorMessage: (error as Error).message }),
      );
    }
  });
  limitInternalServer(server);
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    stop: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
