/**
 * The limits on the local platform's connections (docs/decisions/edge-connections.md): how long a
 * client may take to send its request, how long a connection may sit idle, and how many may be open
 * at once. Node's defaults bound none of it usefully (60 s for the headers, 300 s for a request,
 * checked every 30 s, no cap on connections), so one client holding sockets open with slow headers,
 * a trickled body or idle connections could starve every tenant.
 *
 * `createEdgeServer` builds the edge's HTTP server with them, answers what HTTP allows (408 for a
 * request too slow to arrive, 503 with Retry-After past the connection cap, 504 for an answer that
 * never came) as problem+json, and logs each kind of cut, throttled so an attack cannot flood the log.
 * `limitInternalServer` applies the time limits and a cap to the loopback servers behind the edge.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { isIPv4, type Socket } from 'node:net';
import { parseIPv6 } from '../../functions/core/http-resources/addresses.ts';
import { edgeProblem } from '../edge/problem.ts';

export interface ConnectionLimits {
  /**
   * Milliseconds from a connection's opening (or, on a kept-alive one, a request's first byte) to
   * the end of the request's head. Past it: 408 and closed. @default 10_000
   */
  readonly headersTimeoutMs: number;
  /**
   * Milliseconds to receive a whole request, head and body. Only the receiving: an answer may take
   * as long as it takes (a `Prefer: wait` run request, an agent's long poll). Past it: 408 and
   * closed; the request never reaches its function. @default 30_000
   */
  readonly requestTimeoutMs: number;
  /**
   * Milliseconds an idle kept-alive connection stays open between requests (advertised in
   * `Keep-Alive: timeout=`; Node closes it about a second after, so the client closes first).
   * @default 5_000
   */
  readonly keepAliveTimeoutMs: number;
  /**
   * Milliseconds a connection may go without a byte in either direction while a request is in hand:
   * a client that stops reading its answer (cut one to two periods after it stalls: Node re-arms the
   * timer once for a write still moving at its first expiry), or a function that never answers (504).
   * Above every answer the API holds open (`Prefer: wait` 20 s; API functions' timeouts, at most 30 s).
   * @default 60_000
   */
  readonly idleTimeoutMs: number;
  /**
   * Connections open at once. One past it is answered 503 with Retry-After (its request's head must
   * come within OVERFLOW_GRACE_MS); more than OVERFLOW_CONNECTIONS past it are closed unanswered.
   * @default 1_024
   */
  readonly maxConnections: number;
  /**
   * Connections one client may have open at once: one IPv4 address, or one IPv6 /64 (what a single
   * host is commonly given, so it cannot multiply itself by its addresses). One past it is answered
   * 503 with Retry-After, like one past `maxConnections`, so no one client can hold every slot of
   * the cap while other clients are served. @default 256
   */
  readonly maxConnectionsPerClient: number;
}

/** The edge's limits, as documented in docs/guide/operating.md. */
export const EDGE_LIMITS: ConnectionLimits = Object.freeze({
  headersTimeoutMs: 10_000,
  requestTimeoutMs: 30_000,
  keepAliveTimeoutMs: 5_000,
  idleTimeoutMs: 60_000,
  maxConnections: 1_024,
  maxConnectionsPerClient: 256,
});

/**
 * Whose budget of `maxConnectionsPerClient` a connection from `address` counts against: the IPv4
 * address (also when written IPv4-mapped, `::ffff:a.b.c.d`), or the IPv6 address's /64.
 */
export function clientOf(address: string | undefined): string {
  if (address === undefined || isIPv4(address)) return address ?? 'unknown';
  const bytes = parseIPv6(address);
  if (bytes === null) return 'unknown';
  // ::ffff:a.b.c.d
  if (bytes.slice(0, 10).every((byte) => byte === 0) && bytes[10] === 0xff && bytes[11] === 0xff)
    return bytes.slice(12).join('.');
  const groups = [0, 2, 4, 6].map((at) => (((bytes[at] ?? 0) << 8) | (bytes[at + 1] ?? 0)).toString(16));
  return `${groups.join(':')}::/64`;
}

/** Connections past the cap that are still answered (503); beyond them Node drops new ones at accept. */
export const OVERFLOW_CONNECTIONS = 64;
/** How long a connection past the cap has to send its request's head before it is closed. */
export const OVERFLOW_GRACE_MS = 1_000;
/**
 * Requests one connection may have in hand at once, the one being answered and those pipelined
 * behind it. They are passed on one at a time, in order (their answers go out in that order anyway);
 * past this many the connection is closed. No browser pipelines, nor Node's or undici's clients by
 * default; before, every pipelined request went to its function at once, so one connection sending
 * 20,000 API requests in 1 MiB held 20,000 invocations (~1.2 GiB of heap) and the cap on connections
 * bounded nothing.
 */
export const MAX_REQUESTS_IN_HAND = 8;
/** What a 503 past the cap asks the client to wait, in seconds. */
export const RETRY_AFTER_SECONDS = 1;
/** The timeouts above are checked this often at most (Node's default is every 30 s). */
const MAX_CHECK_INTERVAL_MS = 1_000;
/** After a cut is logged, more of its kind are counted and summed up once per this period. */
export const LOG_PERIOD_MS = 10_000;

/**
 * The loopback servers behind the edge (the Lambda endpoint, dynalite, fauxqs): the edge's time
 * limits on receiving a request, no idle timeout (a Lambda invocation answers when its function
 * ends, up to the function's timeout; an SQS long poll takes 20 s), and a cap twice the edge's, so
 * that the platform's own SDK clients (up to 50 sockets each) never meet it.
 */
export const INTERNAL_LIMITS: Omit<ConnectionLimits, 'idleTimeoutMs' | 'maxConnectionsPerClient'> =
  Object.freeze({
    headersTimeoutMs: EDGE_LIMITS.headersTimeoutMs,
    requestTimeoutMs: EDGE_LIMITS.requestTimeoutMs,
    keepAliveTimeoutMs: EDGE_LIMITS.keepAliveTimeoutMs,
    maxConnections: 2 * EDGE_LIMITS.maxConnections,
  });

export class ConnectionLimitsError extends Error {
  override readonly name = 'ConnectionLimitsError';
}

/** The limits given over the defaults, checked: whole positive numbers, headers within the request. */
export function connectionLimits(overrides: Partial<ConnectionLimits> = {}): ConnectionLimits {
  const limits = { ...EDGE_LIMITS, ...overrides };
  for (const [name, value] of Object.entries(limits)) {
    if (!Number.isSafeInteger(value) || value <= 0) {
      throw new ConnectionLimitsError(`${name} must be a whole number above 0, got ${value}`);
    }
  }
  if (limits.headersTimeoutMs > limits.requestTimeoutMs) {
    throw new ConnectionLimitsError(
      `headersTimeoutMs (${limits.headersTimeoutMs}) must not pass requestTimeoutMs (${limits.requestTimeoutMs})`,
    );
  }
  return Object.freeze(limits);
}

/** Checks a tenth of the shortest time limit apart (at least 10 ms, at most every second). */
function checkInterval(limits: Pick<ConnectionLimits, 'headersTimeoutMs' | 'requestTimeoutMs'>): number {
  const shortest = Math.min(limits.headersTimeoutMs, limits.requestTimeoutMs);
  return Math.max(10, Math.min(MAX_CHECK_INTERVAL_MS, Math.floor(shortest / 10)));
}

/** Sets Node's own limits on `server`; before it listens (the checking interval starts then). */
function applyTimeLimits(
  server: Server,
  limits: Pick<ConnectionLimits, 'headersTimeoutMs' | 'requestTimeoutMs' | 'keepAliveTimeoutMs'>,
): void {
  server.headersTimeout = limits.headersTimeoutMs;
  server.requestTimeout = limits.requestTimeoutMs;
  server.keepAliveTimeout = limits.keepAliveTimeoutMs;
  // A public property Node reads when the server starts listening (`connectionsCheckingInterval`).
  (server as Server & { connectionsCheckingInterval: number }).connectionsCheckingInterval =
    checkInterval(limits);
}

/**
 * Puts INTERNAL_LIMITS on one of the loopback servers behind the edge, before it listens. Only
 * the platform's own clients talk to them (anything else is refused on its signature), so past the
 * cap a connection is closed unanswered: the SDK retries, and a stranger learns nothing.
 */
export function limitInternalServer(server: Server): void {
  applyTimeLimits(server, INTERNAL_LIMITS);
  server.maxConnections = INTERNAL_LIMITS.maxConnections;
}

type CutKind =
  | 'headers'
  | 'request'
  | 'idle'
  | 'no-answer'
  | 'over-cap'
  | 'over-client-cap'
  | 'dropped'
  | 'pipelined';

/**
 * The edge's log of cut connections: the first of each kind is logged at once, with its details;
 * the others are counted and summed up once per LOG_PERIOD_MS while they go on.
 */
class CutLog {
  readonly #log: (line: string) => void;
  readonly #counts = new Map<CutKind, { count: number; what: string }>();
  #timer: NodeJS.Timeout | undefined;

  constructor(log: (line: string) => void) {
    this.#log = log;
  }

  note(kind: CutKind, line: string, what: string): void {
    const counted = this.#counts.get(kind);
    if (counted !== undefined) {
      counted.count += 1;
      return;
    }
    this.#log(`local edge: ${line}`);
    this.#counts.set(kind, { count: 0, what });
    this.#timer ??= setInterval(() => this.#flush(), LOG_PERIOD_MS).unref();
  }

  #flush(): void {
    for (const [kind, { count, what }] of this.#counts) {
      if (count === 0) this.#counts.delete(kind);
      else {
        this.#log(`local edge: ${count} more ${what} in the last ${LOG_PERIOD_MS / 1000} s`);
        this.#counts.set(kind, { count: 0, what });
      }
    }
    if (this.#counts.size === 0) {
      clearInterval(this.#timer);
      this.#timer = undefined;
    }
  }

  stop(): void {
    clearInterval(this.#timer);
    this.#timer = undefined;
  }
}

/** A whole answer written straight to a socket that has no answer under way (Connection: close). */
function rawProblem(status: number, reason: string, code: string, detail: string, extra = ''): string {
  const body = JSON.stringify(edgeProblem(status, code, detail, detail));
  return (
    `HTTP/1.1 ${status} ${reason}\r\nContent-Type: application/problem+json\r\n` +
    `Content-Length: ${Buffer.byteLength(body)}\r\n${extra}Connection: close\r\n\r\n${body}`
  );
}

/** What Node's parser refused, answered as Node would (same statuses), as problem+json. */
function clientErrorAnswer(code: string | undefined, limits: ConnectionLimits): string {
  switch (code) {
    case 'ERR_HTTP_REQUEST_TIMEOUT':
      return rawProblem(
        408,
        'Request Timeout',
        'request-timeout',
        `The request did not arrive in time (head within ${limits.headersTimeoutMs} ms, whole within ${limits.requestTimeoutMs} ms)`,
      );
    case 'HPE_HEADER_OVERFLOW':
      return rawProblem(
        431,
        'Request Header Fields Too Large',
        'headers-too-large',
        'Request headers too large',
      );
    case 'HPE_CHUNK_EXTENSIONS_OVERFLOW':
      return rawProblem(413, 'Payload Too Large', 'payload-too-large', 'Chunk extensions too large');
    default:
      return rawProblem(400, 'Bad Request', 'malformed-request', 'Malformed request');
  }
}

function peer(socket: Socket): string {
  return `${socket.remoteAddress ?? 'unknown'}:${socket.remotePort ?? 0}`;
}

interface InHand {
  readonly request: IncomingMessage;
  readonly response: ServerResponse;
  /** Given to the listener (the first in hand is; the others when the ones before are answered). */
  passedOn: boolean;
}

export interface EdgeServer {
  readonly server: Server;
  /** Connections open now (answered and over the cap alike). */
  connections(): number;
  /** Stops the log's timer; the server is closed by its owner. */
  stop(): void;
}

/**
 * The edge's HTTP server around `listener` (the local router), with `limits` (see
 * ConnectionLimits; checked by `connectionLimits`). What the limits cut is logged to `log`.
 */
export function createEdgeServer(
  listener: (request: IncomingMessage, response: ServerResponse) => Promise<void> | void,
  limits: ConnectionLimits,
  log: (line: string) => void,
): EdgeServer {
  const cuts = new CutLog(log);
  /**
   * Per connection, its requests that have no finished answer yet, in order: the first is passed on,
   * the ones pipelined behind it wait for its answer to finish (at most MAX_REQUESTS_IN_HAND in all).
   */
  const inHand = new WeakMap<Socket, InHand[]>();
  /**
   * Connections past the cap, or past their client's share of it: their request is answered 503,
   * whatever it is.
   */
  const overCap = new WeakMap<Socket, 'edge' | 'client'>();
  /** Connections open now by client (clientOf), while it has any. */
  const byClient = new Map<string, number>();
  let open = 0;

  const server = createServer((request, response) => {
    const socket = request.socket;
    const over = overCap.get(socket);
    if (over !== undefined) {
      // The request's body is not read: the connection closes after the answer.
      response.writeHead(503, {
        'content-type': 'application/problem+json',
        'retry-after': String(RETRY_AFTER_SECONDS),
        connection: 'close',
      });
      response.end(
        JSON.stringify(
          over === 'edge'
            ? edgeProblem(
                503,
                'service-unavailable',
                'The edge has as many connections open as it takes; try again shortly',
                `At most ${limits.maxConnections} connections at once`,
              )
            : edgeProblem(
                503,
                'service-unavailable',
                'This client has as many connections open as the edge gives one client; close some, or try again shortly',
                `At most ${limits.maxConnectionsPerClient} connections at once from one client`,
              ),
        ),
      );
      return;
    }
    // Closed for pipelining past the limit: what the parser still had in hand is dropped.
    if (socket.destroyed) return;
    const pending = inHand.get(socket) ?? [];
    if (pending.length >= MAX_REQUESTS_IN_HAND) {
      cuts.note(
        'pipelined',
        `${peer(socket)}: more than ${MAX_REQUESTS_IN_HAND} requests pipelined on one connection: closed`,
        `connections closed with more than ${MAX_REQUESTS_IN_HAND} requests pipelined`,
      );
      socket.destroy();
      return;
    }
    const entry: InHand = { request, response, passedOn: false };
    pending.push(entry);
    inHand.set(socket, pending);
    const passOn = (next: InHand) => {
      next.passedOn = true;
      void listener(next.request, next.response);
    };
    response.once('close', () => {
      const index = pending.indexOf(entry);
      if (index >= 0) pending.splice(index, 1);
      const next = pending[0];
      if (next !== undefined && !next.passedOn && !socket.destroyed) passOn(next);
    });
    if (pending.length === 1) passOn(entry);
  });
  applyTimeLimits(server, limits);
  server.timeout = limits.idleTimeoutMs;
  server.maxConnections = limits.maxConnections + OVERFLOW_CONNECTIONS;

  server.on('connection', (socket: Socket) => {
    const client = clientOf(socket.remoteAddress);
    const mine = (byClient.get(client) ?? 0) + 1;
    byClient.set(client, mine);
    open += 1;
    socket.once('close', () => {
      open -= 1;
      const left = (byClient.get(client) ?? 1) - 1;
      if (left === 0) byClient.delete(client);
      else byClient.set(client, left);
    });
    if (open <= limits.maxConnections && mine <= limits.maxConnectionsPerClient) return;
    const over = open > limits.maxConnections ? 'edge' : 'client';
    overCap.set(socket, over);
    const grace = setTimeout(() => socket.destroy(), OVERFLOW_GRACE_MS).unref();
    socket.once('close', () => clearTimeout(grace));
    if (over === 'edge') {
      cuts.note(
        'over-cap',
        `${peer(socket)}: ${open} connections open, past the cap of ${limits.maxConnections}: answered 503 (Retry-After: ${RETRY_AFTER_SECONDS})`,
        `connections answered 503 past the cap of ${limits.maxConnections}`,
      );
    } else {
      cuts.note(
        'over-client-cap',
        `${peer(socket)}: ${mine} connections open from ${client}, past one client's cap of ${limits.maxConnectionsPerClient}: answered 503 (Retry-After: ${RETRY_AFTER_SECONDS})`,
        `connections answered 503 past one client's cap of ${limits.maxConnectionsPerClient}`,
      );
    }
  });
  server.on('drop', (data?: { remoteAddress?: string; remotePort?: number }) => {
    cuts.note(
      'dropped',
      `${data?.remoteAddress ?? 'unknown'}:${data?.remotePort ?? 0}: ${limits.maxConnections + OVERFLOW_CONNECTIONS} connections open: closed unanswered`,
      `connections closed unanswered past ${limits.maxConnections + OVERFLOW_CONNECTIONS} open`,
    );
  });

  server.on('clientError', (error: NodeJS.ErrnoException, socket: Socket) => {
    const pending = inHand.get(socket) ?? [];
    const current = pending[0];
    if (error.code === 'ERR_HTTP_REQUEST_TIMEOUT') {
      if (current === undefined) {
        cuts.note(
          'headers',
          `${peer(socket)}: no complete request head within ${limits.headersTimeoutMs} ms: answered 408, closed`,
          `connections cut at the request-head limit (${limits.headersTimeoutMs} ms)`,
        );
      } else {
        const { method, url } = current.request;
        cuts.note(
          'request',
          `${peer(socket)}: ${method} ${(url ?? '/').split('?')[0]}: the request did not arrive within ${limits.requestTimeoutMs} ms: answered 408, closed; nothing of it was passed on`,
          `requests cut at the request limit (${limits.requestTimeoutMs} ms)`,
        );
      }
    }
    // Only where no answer has begun: bytes after a started answer would corrupt it.
    if (socket.writable && pending.every(({ response }) => !response.headersSent)) {
      socket.write(clientErrorAnswer(error.code, limits));
    }
    socket.destroy(error);
  });

  server.on('timeout', (socket: Socket) => {
    const current = (inHand.get(socket) ?? [])[0];
    // Between requests this is the kept-alive connection's end: routine, not logged.
    if (current !== undefined) {
      const { request, response } = current;
      const what = `${request.method} ${(request.url ?? '/').split('?')[0]}`;
      if (!response.headersSent && request.complete) {
        cuts.note(
          'no-answer',
          `${peer(socket)}: ${what}: no answer within ${limits.idleTimeoutMs} ms: answered 504, closed`,
          `requests answered 504 after ${limits.idleTimeoutMs} ms without an answer`,
        );
        response.writeHead(504, { 'content-type': 'application/problem+json', connection: 'close' });
        response.end(
          JSON.stringify(
            edgeProblem(
              504,
              'gateway-timeout',
              'The function did not answer in time',
              `No answer within ${limits.idleTimeoutMs} ms`,
            ),
          ),
        );
        // Closed once the answer is out (Connection: close); should it stall, this runs again.
        return;
      }
      cuts.note(
        'idle',
        `${peer(socket)}: ${what}: idle for ${limits.idleTimeoutMs} ms mid-exchange: closed`,
        `connections closed idle mid-exchange (${limits.idleTimeoutMs} ms)`,
      );
    }
    socket.destroy();
  });

  return { server, connections: () => open, stop: () => cuts.stop() };
}
