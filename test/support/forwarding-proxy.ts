/**
 * A proxy on the loopback between a client under test (an agent, the CLI) and the platform, for
 * tests that must see or hold what passes: every request is sent on to `port` as the host `host`,
 * and its answer read whole before it goes back. `hold` keeps a request unanswered (the client
 * waits as for a platform that does not answer); `onAnswer` sees each answer first and may take it
 * over (returns true: it answers, or drops, the request itself).
 */
import {
  createServer,
  request as httpRequest,
  type IncomingMessage,
  type Server,
  type ServerResponse,
} from 'node:http';
import type { AddressInfo } from 'node:net';

export interface ProxiedAnswer {
  readonly status: number;
  readonly headers: IncomingMessage['headers'];
  readonly text: string;
}

export interface ForwardingProxyOptions {
  readonly port: number;
  readonly host: string;
  readonly hold?: (incoming: IncomingMessage) => boolean;
  readonly onAnswer?: (incoming: IncomingMessage, answer: ProxiedAnswer, outgoing: ServerResponse) => boolean;
}

export interface ForwardingProxy {
  readonly server: Server;
  readonly port: number;
  close(): void;
}

export async function startForwardingProxy(options: ForwardingProxyOptions): Promise<ForwardingProxy> {
  const server = createServer((incoming, outgoing) => {
    if (options.hold?.(incoming) === true) return;
    const body: Buffer[] = [];
    incoming.on('data', (chunk: Buffer) => body.push(chunk));
    incoming.on('end', () => {
      const upstream = httpRequest(
        {
          host: '127.0.0.1',
          port: options.port,
          method: incoming.method,
          path: incoming.url,
          headers: { ...incoming.headers, host: options.host },
        },
        (answer) => {
          const chunks: Buffer[] = [];
          answer.on('data', (chunk: Buffer) => chunks.push(chunk));
          answer.on('end', () => {
            const proxied = {
              status: answer.statusCode ?? 502,
              headers: answer.headers,
              text: Buffer.concat(chunks).toString('utf8'),
            };
            if (options.onAnswer?.(incoming, proxied, outgoing) === true) return;
            outgoing.writeHead(proxied.status, proxied.headers);
            outgoing.end(proxied.text);
          });
        },
      );
      upstream.on('error', () => outgoing.destroy());
      upstream.end(Buffer.concat(body));
    });
  });
  await new Promise<void>((listening) => server.listen(0, '127.0.0.1', listening));
  return {
    server,
    port: (server.address() as AddressInfo).port,
    close() {
      server.closeAllConnections();
      server.close();
    },
  };
}
