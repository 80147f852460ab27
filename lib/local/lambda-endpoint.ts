/**
 * A local stand-in for the Lambda Invoke API (`POST /2015-03-31/functions/{name}/invocations`), so
 * functions that invoke another synchronously use the real Lambda SDK client in both wirings.
 * Errors come back the way Lambda reports them: status 200 with `X-Amz-Function-Error`.
 */
import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { FunctionName } from '../topology.ts';
import type { LocalInvoke } from './lambda.ts';

const INVOKE_PATH = /^\/2015-03-31\/functions\/([^/]+)\/invocations$/;
/** Lambda's synchronous payload limit. */
const MAX_PAYLOAD_BYTES = 6 * 1024 * 1024;

export interface LambdaEndpoint {
  readonly url: string;
  stop(): Promise<void>;
}

export async function startLambdaEndpoint(
  invoke: (name: FunctionName) => LocalInvoke,
  known: ReadonlySet<string>,
): Promise<LambdaEndpoint> {
  const server: Server = createServer(async (request, response) => {
    const match = INVOKE_PATH.exec(request.url ?? '');
    const name = match?.[1] === undefined ? undefined : decodeURIComponent(match[1]);
    if (request.method !== 'POST' || name === undefined || !known.has(name)) {
      response.writeHead(404, {
        'content-type': 'application/json',
        'x-amzn-errortype': 'ResourceNotFoundException',
      });
      response.end(JSON.stringify({ message: 'Function not found' }));
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const chunk of request) {
      size += (chunk as Buffer).length;
      if (size > MAX_PAYLOAD_BYTES) {
        response.writeHead(413, {
          'content-type': 'application/json',
          'x-amzn-errortype': 'RequestTooLargeException',
        });
        response.end(JSON.stringify({ message: 'Request payload too large' }));
        return;
      }
      chunks.push(chunk as Buffer);
    }
    try {
      const body = Buffer.concat(chunks).toString('utf8');
      const result = await invoke(name as FunctionName)(body === '' ? {} : JSON.parse(body));
      response.writeHead(200, { 'content-type': 'application/json', 'x-amz-executed-version': '$LATEST' });
      response.end(JSON.stringify(result ?? null));
    } catch (error) {
      response.writeHead(200, { 'content-type': 'application/json', 'x-amz-function-error': 'Unhandled' });
      response.end(
        JSON.stringify({ errorType: (error as Error).name, errorMessage: (error as Error).message }),
      );
    }
  });
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
