/**
 * The one way the platform sends a request to an HTTP resource (trial runs and the http-executor).
 *
 * Before anything is sent: the method and path must be within the resource's allowance, and the
 * host is resolved once and every address it resolves to is checked (see addresses.ts). The
 * connection is then made to exactly the checked addresses, through a `lookup` that answers with
 * them — no second resolution, so no DNS-rebinding window. Redirects are never followed by the
 * client: a redirect on the resource's own origin (and under its base path) is followed here, at
 * most MAX_REDIRECTS times, each hop checked again like the first; any other redirect is refused.
 * The response is capped at the resource's size limit and the whole exchange at its timeout.
 *
 * The credential is added as one header and never appears in an error, a log or a result: the
 * forms of it an upstream is likely to echo (see `credentialForms`), in every spelling JSON allows
 * (`\u0026`, `\/`…) and percent escapes in either case, are redacted from the returned status
 * text, headers and body. Other transforms (hex, HTML entities…) are not: past these, the
 * credential's confidentiality rests on the upstream not echoing it. A body cut at the cap is
 * redacted before it is cut, so the cut cannot leave the start of a credential behind.
 */
import { lookup as dnsLookup } from 'node:dns/promises';
import { request as httpRequest, type IncomingMessage, type RequestOptions } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { LookupFunction } from 'node:net';
import { StringDecoder } from 'node:string_decoder';
import { type AddressVerdict, checkAddress, ipLiteral } from './addresses.ts';
import {
  HttpRequestRefusedError,
  LocalDevelopmentDisabledError,
  OutboundAddressRefusedError,
  RedirectRefusedError,
  ResponseTooLargeError,
  UpstreamError,
  UpstreamTimeoutError,
} from './errors.ts';
import {
  assertNoMethodOverride,
  assertRequestAllowed,
  authHeader,
  credentialForms,
  type HttpAuth,
  type HttpResourceConfig,
} from './model.ts';

export const MAX_REDIRECTS = 3;
const REDIRECTS: ReadonlySet<number> = new Set([301, 302, 303, 307, 308]);
/** Response headers a trial shows (never cookies). */
export const SHOWN_HEADERS = [
  'content-type',
  'content-length',
  'location',
  'retry-after',
  'cache-control',
  'etag',
  'last-modified',
  'date',
  'www-authenticate',
] as const;

export interface ResolvedAddress {
  readonly address: string;
  readonly family: 4 | 6;
}

/** Name resolution, once per hop. @default the system resolver (getaddrinfo), every address */
export type Resolver = (hostname: string) => Promise<readonly ResolvedAddress[]>;

export const systemResolver: Resolver = async (hostname) => {
  const found = await dnsLookup(hostname, { all: true, order: 'verbatim' });
  return found.map((entry) => ({ address: entry.address, family: entry.family === 6 ? 6 : 4 }));
};

export interface OutboundRequest {
  readonly method: string;
  /** Concrete path relative to the base URL (already substituted). */
  readonly path: string;
  readonly query?: Readonly<Record<string, string>>;
  /** A JSON body (not for GET/HEAD). */
  readonly body?: unknown;
  /** Extra request headers a script asked for; only names `extraHeaderIssue` accepts. */
  readonly headers?: Readonly<Record<string, string>>;
}

/** Header names a script may add to a relayed request (conditional requests, preferences, `x-*`). */
const EXTRA_HEADER =
  /^(accept-language|if-match|if-none-match|if-modified-since|if-unmodified-since|prefer|x-[a-z0-9-]+)$/;
/**
 * `x-` header families that proxies, load balancers and frameworks set themselves, and that a back
 * end trusts as theirs: a prefix each (`x-forwarded` is `x-forwarded-for`, `-host`, `-proto`…).
 * The client's address (`x-real-ip`, `x-client-ip`, `x-cluster-client-ip`, `x-originating-ip`,
 * `x-remote-addr`, `x-remote-ip`…: IP allow-lists and rate limits read them), the host
 * (`x-host`), the request before a rewrite (`x-original-url`, `x-original-host`…), the
 * proxy's own (`x-envoy-*`, AWS's `x-amz-*`/`x-amzn-*`, the platform's `x-execfabric-*`), and a
 * framework's internal subrequest (`x-middleware-subrequest`: Next.js skips its middleware, auth
 * included, CVE-2025-29927; `x-nextjs-*`, `x-invoke-*`, `x-matched-path`, read by Next.js too).
 */
const PLATFORM_HEADER_FAMILIES = [
  'forwarded',
  'real-ip',
  'client-ip',
  'cluster-client-ip',
  'originating-ip',
  'remote-',
  'true-client-ip',
  'host',
  'original',
  'envoy-',
  'amz',
  'amzn',
  'execfabric',
  'middleware-',
  'nextjs-',
  'invoke-',
  'matched-path',
] as const;
const PLATFORM_HEADER = new RegExp(`^x-(${PLATFORM_HEADER_FAMILIES.join('|')})`);
/** Headers servers read as another method or path: they would step around the resource's allowance. */
const OVERRIDE_HEADER = /^x-(http-method|http-method-override|method-override|rewrite-url|override-url)$/;

/** Why a script may not send this header to this resource, or null when it may. */
export function extraHeaderIssue(resource: HttpResourceConfig, name: string, value: string): string | null {
  const lower = name.toLowerCase();
  if (!EXTRA_HEADER.test(lower) || PLATFORM_HEADER.test(lower) || OVERRIDE_HEADER.test(lower))
    return `${name} is not a header a script may set`;
  if (lower === authHeader(resource.auth, 'x').name.toLowerCase())
    return `${name} carries the resource's credential`;
  if (/[\r\n\0]/.test(value)) return `${name} holds a line break`;
  // What Node's HTTP client would throw on (a control character, or one outside Latin-1).
  if (/[^\t\x20-\x7e\x80-\xff]/.test(value)) return `${name} holds a character a header value may not`;
  return null;
}

export interface OutboundOptions {
  readonly resource: HttpResourceConfig;
  /** The credential's value; null sends the request without one. */
  readonly credential: string | null;
  /** Whether this deployment honours `localDevelopment` resources. */
  readonly allowLocalDevelopment: boolean;
  /** Overall time budget (the resource's timeout or less). */
  readonly timeoutMs: number;
  /** `fail` throws ResponseTooLargeError past the cap; `truncate` keeps the first bytes. */
  readonly oversize: 'fail' | 'truncate';
  readonly resolver?: Resolver;
}

export interface OutboundResponse {
  readonly status: number;
  readonly statusText: string;
  /** Lower-cased names, redacted values. */
  readonly headers: Readonly<Record<string, string>>;
  /** The body as received (at most the cap), with every form of the credential redacted. */
  readonly body: string;
  readonly bytes: number;
  readonly truncated: boolean;
  readonly redirects: number;
  readonly durationMs: number;
  /** Method and path of the last hop (relative to the base URL). */
  readonly method: string;
  readonly path: string;
}

export const REDACTED = '[redacted]';

/** JSON's short escapes for the characters a credential may hold, as regular expressions. */
const SHORT_ESCAPES: Readonly<Record<string, string>> = {
  '/': String.raw`\\/`,
  '"': String.raw`\\"`,
  '\\': String.raw`\\\\`,
};

/** One UTF-16 code unit as JSON may spell it: itself, `\uXXXX` in either case, or its short escape. */
function jsonSpellings(unit: string): string {
  const hex = [...unit.charCodeAt(0).toString(16).padStart(4, '0')]
    .map((digit) => (/[a-f]/.test(digit) ? `[${digit}${digit.toUpperCase()}]` : digit))
    .join('');
  const literal = unit.replace(/[\\^$.*+?()[\]{}|/-]/g, '\\$&');
  const short = SHORT_ESCAPES[unit];
  return `(?:${literal}|${String.raw`\\u`}${hex}${short === undefined ? '' : `|${short}`})`;
}

/** A character as a pattern: in every spelling JSON allows, and in either case where it is a letter. */
function caselessSpellings(unit: string): string {
  const [lower, upper] = [unit.toLowerCase(), unit.toUpperCase()];
  return lower === upper ? jsonSpellings(unit) : `(?:${jsonSpellings(lower)}|${jsonSpellings(upper)})`;
}

/**
 * A form as a pattern: each character in every spelling JSON allows, and the hex digits of a
 * percent escape in either case (encoders differ: `%2F` or `%2f`).
 */
function formSource(form: string): string {
  return (form.match(/%[0-9A-Fa-f]{2}|[\s\S]/g) ?? [])
    .map((token) => (token.length === 1 ? jsonSpellings(token) : [...token].map(caselessSpellings).join('')))
    .join('');
}

/** How one credential is found in a text: computed once per request. */
interface CredentialMatch {
  /** Every form of the credential, in every spelling JSON allows, longest form first. */
  readonly pattern: RegExp;
  /** The most bytes one match can span (`\uXXXX`, six bytes, is the longest spelling of a character). */
  readonly span: number;
}

function credentialMatch(secret: string, auth: HttpAuth): CredentialMatch {
  const forms = credentialForms(secret, auth);
  return {
    pattern: new RegExp(forms.map(formSource).join('|'), 'g'),
    span: 6 * Math.max(...forms.map((form) => form.length)),
  };
}

/** Replaces every match of `pattern` in a text (none to replace without a credential). */
function replacing(pattern: RegExp | null): (text: string) => string {
  return pattern === null ? (text) => text : (text) => text.replace(pattern, REDACTED);
}

/** Replaces every form of the secret, sent under `auth`, in a text. */
export function redactor(secret: string | null, auth: HttpAuth): (text: string) => string {
  return replacing(secret === null ? null : credentialMatch(secret, auth).pattern);
}

/**
 * The first `limit` code units of a text, redacted as the whole text is: a credential that starts
 * before the limit is replaced whole, wherever it ends.
 */
function redactedPrefix(text: string, limit: number, pattern: RegExp | null): string {
  if (pattern === null) return text.slice(0, limit);
  let kept = '';
  let from = 0;
  for (const match of text.matchAll(pattern)) {
    if (match.index >= limit) break;
    kept += `${text.slice(from, match.index)}${REDACTED}`;
    from = match.index + match[0].length;
  }
  return from < limit ? `${kept}${text.slice(from, limit)}` : kept;
}

/** Redacts strings (keys included) throughout a JSON value. */
export function redactJson(value: unknown, redact: (text: string) => string): unknown {
  if (typeof value === 'string') return redact(value);
  if (Array.isArray(value)) return value.map((item) => redactJson(item, redact));
  if (value !== null && typeof value === 'object') {
    const result: Record<string, unknown> = {};
    for (const [key, item] of Object.entries(value)) result[redact(key)] = redactJson(item, redact);
    return result;
  }
  return value;
}

function refusedAddress(verdict: AddressVerdict, literal: boolean): OutboundAddressRefusedError {
  const how = literal ? 'is' : 'resolves to';
  const what = verdict.category === 'invalid' ? 'an invalid' : `a ${verdict.category}`;
  return new OutboundAddressRefusedError(
    `The resource's host ${how} ${what} address${verdict.via === undefined ? '' : ` (${verdict.via})`}; requests to it are refused`,
    { extra: { category: verdict.category, address: verdict.address } },
  );
}

/** Resolves a host once and checks every address; returns the ones to connect to. */
export async function checkedAddresses(
  hostname: string,
  localDevelopment: boolean,
  resolver: Resolver,
): Promise<ResolvedAddress[]> {
  const literal = ipLiteral(hostname);
  let addresses: readonly ResolvedAddress[];
  if (literal !== null) {
    addresses = [{ address: literal, family: literal.includes(':') ? 6 : 4 }];
  } else {
    try {
      addresses = await resolver(hostname);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code ?? 'unknown';
      throw new UpstreamError(`The resource's host could not be resolved (${code})`);
    }
  }
  if (addresses.length === 0) throw new UpstreamError("The resource's host resolved to no address");
  // One refused address refuses the host: a name that mixes public and internal addresses is not trusted.
  for (const entry of addresses) {
    const verdict = checkAddress(entry.address, { localDevelopment });
    if (!verdict.allowed) throw refusedAddress(verdict, literal !== null);
  }
  return [...addresses];
}

/** A `lookup` that answers with the checked addresses only (never resolves again). */
export function pinnedLookup(addresses: readonly ResolvedAddress[]): LookupFunction {
  return (_hostname, options, callback) => {
    const first = addresses[0];
    if (first === undefined) {
      callback(Object.assign(new Error('no checked address'), { code: 'ENOTFOUND' }), '', 4);
      return;
    }
    if (options.all === true)
      callback(
        null,
        addresses.map((entry) => ({ ...entry })),
      );
    else callback(null, first.address, first.family);
  };
}

interface Hop {
  readonly url: URL;
  readonly method: string;
  readonly body: Buffer | undefined;
}

interface RawResponse {
  readonly status: number;
  readonly statusText: string;
  readonly headers: IncomingMessage['headers'];
  readonly body: Buffer;
  readonly truncated: boolean;
}

function send(
  hop: Hop,
  addresses: readonly ResolvedAddress[],
  headers: Record<string, string>,
  limits: { deadline: number; maxBytes: number; oversize: 'fail' | 'truncate'; lookahead: number },
): Promise<RawResponse> {
  // When truncating, bytes past the cap are read too (not returned), so that a credential the cap
  // cuts through is seen whole and redacted.
  const room = limits.oversize === 'truncate' ? limits.maxBytes + limits.lookahead : limits.maxBytes;
  return new Promise((resolve, reject) => {
    const remaining = limits.deadline - Date.now();
    if (remaining <= 0) {
      reject(new UpstreamTimeoutError('The request timed out'));
      return;
    }
    const hostname = hop.url.hostname.startsWith('[') ? hop.url.hostname.slice(1, -1) : hop.url.hostname;
    const options: RequestOptions = {
      protocol: hop.url.protocol,
      hostname,
      port: hop.url.port === '' ? undefined : Number(hop.url.port),
      path: `${hop.url.pathname}${hop.url.search}`,
      method: hop.method,
      headers: {
        ...headers,
        ...(hop.body === undefined
          ? {}
          : { 'content-type': 'application/json', 'content-length': String(hop.body.length) }),
      },
      lookup: pinnedLookup(addresses),
      agent: false,
    };
    const request = (hop.url.protocol === 'https:' ? httpsRequest : httpRequest)(options);
    let settled = false;
    const finish = (outcome: () => void) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      outcome();
    };
    const timer = setTimeout(() => {
      finish(() => reject(new UpstreamTimeoutError('The request timed out')));
      request.destroy();
    }, remaining);
    request.on('error', (error: NodeJS.ErrnoException) => {
      // Node's messages name the address; only the code is kept.
      finish(() => reject(new UpstreamError(`The request failed (${error.code ?? 'connection error'})`)));
    });
    request.on('response', (response) => {
      const chunks: Buffer[] = [];
      let size = 0;
      const declared = Number(response.headers['content-length']);
      if (limits.oversize === 'fail' && Number.isFinite(declared) && declared > limits.maxBytes) {
        finish(() => reject(new ResponseTooLargeError(`The response exceeds ${limits.maxBytes} bytes`)));
        request.destroy();
        return;
      }
      const done = (truncated: boolean) =>
        finish(() =>
          resolve({
            status: response.statusCode ?? 0,
            statusText: response.statusMessage ?? '',
            headers: response.headers,
            body: Buffer.concat(chunks),
            truncated,
          }),
        );
      response.on('data', (chunk: Buffer) => {
        if (settled) return;
        if (size + chunk.length > room) {
          if (limits.oversize === 'fail') {
            finish(() => reject(new ResponseTooLargeError(`The response exceeds ${limits.maxBytes} bytes`)));
          } else {
            chunks.push(chunk.subarray(0, room - size));
            size = room;
            done(true);
          }
          request.destroy();
          return;
        }
        chunks.push(chunk);
        size += chunk.length;
      });
      response.on('end', () => done(false));
      response.on('error', () => finish(() => reject(new UpstreamError('The response was cut off'))));
    });
    request.end(hop.body);
  });
}

function headerText(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value.join(', ') : value;
}

/** The path of a URL relative to the base path, or null when it is outside it. */
function relativePath(url: URL, basePath: string): string | null {
  if (basePath === '') return url.pathname;
  if (url.pathname === basePath) return '/';
  return url.pathname.startsWith(`${basePath}/`) ? url.pathname.slice(basePath.length) : null;
}

/** The promise's outcome, or a timeout once the deadline passes (name resolution has no deadline of its own). */
function beforeDeadline<T>(work: Promise<T>, deadline: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new UpstreamTimeoutError('The request timed out')),
      Math.max(0, deadline - Date.now()),
    );
  });
  return Promise.race([work, timeout]).finally(() => clearTimeout(timer));
}

/** Sends one request to a resource, with every check above. */
export async function sendToResource(
  request: OutboundRequest,
  options: OutboundOptions,
): Promise<OutboundResponse> {
  const { resource } = options;
  const started = Date.now();
  const deadline = started + options.timeoutMs;
  if (resource.localDevelopment && !options.allowLocalDevelopment) {
    throw new LocalDevelopmentDisabledError('Local development resources are disabled on this deployment');
  }
  const base = new URL(resource.baseUrl);
  if (base.protocol === 'http:' && !resource.localDevelopment) {
    throw new HttpRequestRefusedError(
      'Plain http is only allowed for local development resources',
      'baseUrl',
    );
  }
  const basePath = base.pathname.replace(/\/+$/, '');
  let method = request.method.toUpperCase();
  assertRequestAllowed(resource, method, request.path);
  assertNoMethodOverride(request.query, request.body);
  if (request.body !== undefined && (method === 'GET' || method === 'HEAD')) {
    throw new HttpRequestRefusedError(`A ${method} request has no body`, 'body');
  }

  const url = new URL(`${base.origin}${basePath}${request.path}`);
  for (const [name, value] of Object.entries(request.query ?? {})) url.searchParams.append(name, value);
  const headers: Record<string, string> = {
    accept: 'application/json',
    'accept-encoding': 'identity',
    'user-agent': 'ExecFabric-HttpExecutor/1',
  };
  for (const [name, value] of Object.entries(request.headers ?? {})) {
    const issue = extraHeaderIssue(resource, name, value);
    if (issue !== null) throw new HttpRequestRefusedError(issue, 'headers');
    headers[name.toLowerCase()] = value;
  }
  if (options.credential !== null) {
    const auth = authHeader(resource.auth, options.credential);
    headers[auth.name] = auth.value;
  }
  const match = options.credential === null ? null : credentialMatch(options.credential, resource.auth);
  const pattern = match?.pattern ?? null;
  const redact = replacing(pattern);
  const lookahead = match?.span ?? 0;
  const resolver = options.resolver ?? systemResolver;

  let hop: Hop = {
    url,
    method,
    body: request.body === undefined ? undefined : Buffer.from(JSON.stringify(request.body), 'utf8'),
  };
  let path = request.path;
  for (let redirects = 0; ; redirects++) {
    const addresses = await beforeDeadline(
      checkedAddresses(hop.url.hostname, resource.localDevelopment, resolver),
      deadline,
    );
    const raw = await send(hop, addresses, headers, {
      deadline,
      maxBytes: resource.maxResponseBytes,
      oversize: options.oversize,
      lookahead,
    });
    const location = headerText(raw.headers.location);
    if (REDIRECTS.has(raw.status) && location !== undefined) {
      if (redirects >= MAX_REDIRECTS) throw new RedirectRefusedError(`More than ${MAX_REDIRECTS} redirects`);
      let next: URL;
      try {
        next = new URL(location, hop.url);
      } catch {
        throw new RedirectRefusedError('The upstream redirected to an invalid location');
      }
      const nextPath = next.origin === base.origin ? relativePath(next, basePath) : null;
      if (nextPath === null) {
        throw new RedirectRefusedError(
          "The upstream redirected off the resource's origin or base path; only redirects on the resource itself are followed",
        );
      }
      const changes = raw.status === 303 || ((raw.status === 301 || raw.status === 302) && method === 'POST');
      method = changes && method !== 'HEAD' ? 'GET' : method;
      assertRequestAllowed(resource, method, nextPath);
      // An upstream that builds its redirects from the request could be led to add an override.
      assertNoMethodOverride(Object.fromEntries(next.searchParams), undefined);
      hop = { url: next, method, body: changes ? undefined : hop.body };
      path = nextPath;
      continue;
    }
    const shown: Record<string, string> = {};
    for (const [name, value] of Object.entries(raw.headers)) {
      const text = headerText(value);
      if (text !== undefined && name !== 'set-cookie') shown[name] = redact(text);
    }
    const text = raw.body.toString('utf8');
    const cut = raw.truncated || raw.body.length > resource.maxResponseBytes;
    // The whole characters within the cap, redacted as the text read past it is, and cut to the cap
    // again (a marker may be longer than the piece of a credential it replaced).
    const within = (bytes: Buffer) =>
      new StringDecoder('utf8').write(bytes.subarray(0, resource.maxResponseBytes));
    return {
      status: raw.status,
      statusText: redact(raw.statusText),
      headers: shown,
      body: cut
        ? within(Buffer.from(redactedPrefix(text, within(raw.body).length, pattern), 'utf8'))
        : redact(text),
      bytes: Math.min(raw.body.length, resource.maxResponseBytes),
      truncated: cut,
      redirects,
      durationMs: Date.now() - started,
      method,
      path,
    };
  }
}
