/**
 * The official MCP SDK client against the local platform. Node resolves no `*.localhost` name here
 * and its fetch drops a Host header, so the transport is given a fetch that connects to the
 * platform's loopback address and sends the URL's host as the Host header: the client speaks to
 * `http://acme.localhost:<port>/mcp` exactly as a desktop client would.
 */
import { request as httpRequest } from 'node:http';
import { Readable } from 'node:stream';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';

export type FetchLike = (url: string | URL, init?: RequestInit) => Promise<Response>;

const NULL_BODY_STATUSES = new Set([101, 204, 205, 304]);

function bodyOf(body: RequestInit['body']): Buffer | undefined {
  if (body === undefined || body === null) return undefined;
  if (typeof body === 'string') return Buffer.from(body);
  if (body instanceof Uint8Array) return Buffer.from(body);
  if (body instanceof ArrayBuffer) return Buffer.from(body);
  throw new Error(`loopbackFetch cannot send a ${Object.prototype.toString.call(body)} body`);
}

/** A fetch that sends every request to `baseUrl`'s loopback address, keeping the URL's host as Host. */
export function loopbackFetch(baseUrl: string): FetchLike {
  const loopback = new URL(baseUrl);
  return (input, init = {}) =>
    new Promise<Response>((resolve, reject) => {
      const url = new URL(String(input));
      const headers: Record<string, string> = {};
      new Headers(init.headers).forEach((value, name) => {
        headers[name] = value;
      });
      headers.host = url.host;
      const payload = bodyOf(init.body);
      if (payload !== undefined) headers['content-length'] = String(payload.length);
      const request = httpRequest(
        {
          hostname: loopback.hostname,
          port: loopback.port,
          path: url.pathname + url.search,
          method: init.method ?? 'GET',
          headers,
          ...(init.signal ? { signal: init.signal } : {}),
        },
        (response) => {
          const responseHeaders = new Headers();
          for (const [name, value] of Object.entries(response.headers)) {
            if (value !== undefined)
              responseHeaders.set(name, Array.isArray(value) ? value.join(', ') : value);
          }
          const status = response.statusCode ?? 0;
          if (NULL_BODY_STATUSES.has(status)) {
            response.resume();
            resolve(new Response(null, { status, headers: responseHeaders }));
            return;
          }
          const body = Readable.toWeb(response) as ReadableStream<Uint8Array>;
          resolve(new Response(body, { status, headers: responseHeaders }));
        },
      );
      request.on('error', reject);
      request.end(payload);
    });
}

/** The MCP endpoint of a host on the local platform (`http://acme.localhost:<port>/mcp`). */
export function mcpUrl(platformUrl: string, host: string): URL {
  return new URL(`http://${host}:${new URL(platformUrl).port}/mcp`);
}

/** An SDK client connected (initialized) to a host's MCP endpoint with a bearer token. */
export async function connectMcp(platformUrl: string, host: string, token: string): Promise<Client> {
  const client = new Client({ name: 'execfabric-tests', version: '1.0.0' });
  const transport = new StreamableHTTPClientTransport(mcpUrl(platformUrl, host), {
    fetch: loopbackFetch(platformUrl),
    requestInit: { headers: { authorization: `Bearer ${token}` } },
  });
  await client.connect(transport);
  return client;
}
