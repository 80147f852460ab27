/**
 * A raw TCP client of a local HTTP server, for tests that send what no HTTP client would: a head in
 * slow pieces, pipelined requests, a connection held open. And the local edge
 * (lib/local/connection-limits.ts) around a stand-in router, stopped after each test.
 */
import { once } from 'node:events';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { type AddressInfo, connect, type Socket } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, expect } from 'vitest';
import {
  type ConnectionLimits,
  connectionLimits,
  createEdgeServer,
  type EdgeServer,
} from '../../lib/local/connection-limits.ts';

export interface Raw {
  readonly socket: Socket;
  /** Everything answered so far. */
  text(): string;
  /** When the server closed the connection, in ms after it opened. */
  readonly closed: Promise<number>;
}

/**
 * A connection to `port` on 127.0.0.1, once it is open; from `localAddress` when given (any address
 * of 127.0.0.0/8 is this machine's, so a test can be several clients).
 */
export function raw(port: number, localAddress?: string): Promise<Raw> {
  return new Promise((resolve) => {
    const socket = connect({
      port,
      host: '127.0.0.1',
      ...(localAddress === undefined ? {} : { localAddress }),
    });
    const opened = Date.now();
    let text = '';
    socket.on('data', (chunk: Buffer) => {
      text += chunk.toString('latin1');
    });
    socket.on('error', () => undefined);
    const closed = new Promise<number>((done) => socket.on('close', () => done(Date.now() - opened)));
    socket.on('connect', () => resolve({ socket, text: () => text, closed }));
  });
}

/**
 * The edge's answer to a connection past its cap or past its client's share of it: 503, to be tried
 * again in a second, as problem+json.
 */
export function expectRetryLater(answer: string): void {
  expect(answer).toMatch(/^HTTP\/1\.1 503 Service Unavailable\r\n/);
  expect(answer.toLowerCase()).toContain('retry-after: 1\r\n');
  expect(answer).toContain('urn:execfabric:problem:service-unavailable');
}

/** Writes `bytes` spread evenly over `overMs`, one piece at a time; stops if the socket closes. */
export async function trickle(socket: Socket, bytes: string, pieces: number, overMs: number): Promise<void> {
  const size = Math.ceil(bytes.length / pieces);
  for (let at = 0; at < bytes.length; at += size) {
    if (socket.destroyed) return;
    socket.write(bytes.slice(at, at + size));
    await sleep(overMs / pieces);
  }
}

type Router = (request: IncomingMessage, response: ServerResponse) => Promise<void> | void;

/**
 * Call at the top of a test file: a function that starts the edge with `limits` over the defaults
 * around `router`, on a free port of 127.0.0.1 (its port, the lines it logged, the edge); each is stopped
 * after its test.
 */
export function edgeStands(): (
  router: Router,
  limits?: Partial<ConnectionLimits>,
) => Promise<{ port: number; lines: string[]; edge: EdgeServer }> {
  let edge: EdgeServer | undefined;
  afterEach(async () => {
    if (edge === undefined) return;
    edge.stop();
    edge.server.closeAllConnections();
    await new Promise((resolve) => edge?.server.close(resolve));
    edge = undefined;
  });
  return async (router, limits = {}) => {
    const lines: string[] = [];
    const started = createEdgeServer(router, connectionLimits(limits), (line) => lines.push(line));
    edge = started;
    started.server.listen(0, '127.0.0.1');
    await once(started.server, 'listening');
    return { port: (started.server.address() as AddressInfo).port, lines, edge: started };
  };
}
