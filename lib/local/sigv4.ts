/**
 * Signature Version 4 on the local platform's internal servers. dynalite and fauxqs accept any
 * request; in front of them (and of the local Lambda endpoint) every request must carry a SigV4
 * signature made with the credentials of this start, which are random and known only to the
 * platform's process. So another local user, a browser page that found the port, or anything else
 * that can reach loopback cannot read or write the table, the queues or a function.
 *
 * The expected signature is recomputed over the request as received, limited to the headers the
 * client says it signed, in the canonical form of the SDK's own signer (`@smithy/signature-v4`,
 * whose canonical request is reused as is). The body's SHA-256 is computed here: a signed
 * `x-amz-content-sha256` that is not the body's own is refused, so a signature never vouches for a
 * body it was not made over. What is kept between requests is the derived signing key per day,
 * region and service (the key the SDK derives too), never a verdict: every request is verified.
 *
 * What can be checked on the headers alone (`problemBeforeBody`) is checked before the body is read,
 * so a stranger's upload is refused without the platform buffering it (a web page can POST a large
 * body to a loopback port).
 */
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import { getCanonicalHeaders, SignatureV4 } from '@smithy/signature-v4';
import { Sha256 } from '../../functions/core/sdk-clients.ts';

/** A signed request older (or newer) than this is refused. */
export const MAX_CLOCK_SKEW_MS = 5 * 60 * 1000;

export interface LocalCredentials {
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
}

export interface ReceivedRequest {
  readonly method: string;
  /** Path and query, as received. */
  readonly url: string;
  readonly headers: IncomingHttpHeaders;
  readonly body: Buffer;
}

const AUTHORIZATION =
  /^AWS4-HMAC-SHA256 Credential=([^/,\s]+)\/(\d{8})\/([^/,\s]+)\/([^/,\s]+)\/aws4_request,\s*SignedHeaders=([a-z0-9;-]+),\s*Signature=([0-9a-f]{64})$/;

function amzDate(text: string): Date | null {
  const match = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(text);
  if (match === null) return null;
  const [, y, mo, d, h, mi, s] = match;
  return new Date(Date.UTC(Number(y), Number(mo) - 1, Number(d), Number(h), Number(mi), Number(s)));
}

function queryOf(search: string): Record<string, string | string[]> {
  const query: Record<string, string | string[]> = {};
  for (const [name, value] of new URLSearchParams(search)) {
    const existing = query[name];
    if (existing === undefined) query[name] = value;
    else query[name] = Array.isArray(existing) ? [...existing, value] : [existing, value];
  }
  return query;
}

/** What a request's headers say about its signature (read before its body). */
interface ParsedSignature {
  readonly day: string;
  readonly region: string;
  readonly service: string;
  readonly signature: string;
  readonly dateHeader: string;
  /** The signed headers, by lower-case name, as received. */
  readonly headers: Record<string, string>;
}

/** Signing keys kept per verifier: a few days × regions × services (oldest dropped first). */
const SIGNING_KEYS_KEPT = 16;

/** A request as the SDK's signer takes it. */
type SignableRequest = Parameters<SignatureV4['presign']>[0];

/** The SDK signer's canonical request of a received request, reached without signing anything. */
class CanonicalRequests extends SignatureV4 {
  constructor(service: string) {
    super({
      credentials: { accessKeyId: '', secretAccessKey: '' },
      region: '',
      service,
      sha256: Sha256,
      applyChecksum: false,
    });
  }

  of(request: SignableRequest, payloadHash: string): string {
    return this.createCanonicalRequest(request, getCanonicalHeaders(request), payloadHash);
  }
}

function sha256Hex(data: string | Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}

/**
 * Verifies requests signed with one start's credentials (see the module header). One per server:
 * it keeps the signing keys it derived, per day, region and service, and nothing else.
 */
export class SigV4Verifier {
  readonly #credentials: LocalCredentials;
  readonly #keys = new Map<string, Buffer>();
  readonly #canonical = new Map<string, CanonicalRequests>();
  /** Headers that passed `problemBeforeBody`, until their request's `problem` (the object is the key). */
  readonly #parsed = new WeakMap<IncomingHttpHeaders, ParsedSignature>();

  constructor(credentials: LocalCredentials) {
    this.#credentials = credentials;
  }

  /**
   * Why a request is refused from its headers alone, or null when it may be genuine: read before its
   * body, so a request that cannot be this start's (no signature, another key id, a date outside the
   * clock skew, a signature that leaves out the host or names a header it lacks) costs no buffered
   * body. `problem` checks all of this again, and the signature over the body.
   */
  problemBeforeBody(headers: IncomingHttpHeaders, now: number = Date.now()): string | null {
    const parsed = this.#parse(headers, now);
    if (typeof parsed === 'string') return parsed;
    // The same headers object reaches `problem` with its body: their parse is not done twice.
    this.#parsed.set(headers, parsed);
    return null;
  }

  /** Why a request is refused, or null when its signature is this start's. */
  problem(request: ReceivedRequest, now: number = Date.now()): string | null {
    const parsed = this.#parsed.get(request.headers) ?? this.#parse(request.headers, now);
    this.#parsed.delete(request.headers);
    if (typeof parsed === 'string') return parsed;
    const { day, region, service, signature, dateHeader, headers } = parsed;
    const payloadHash = sha256Hex(request.body);
    const claimed = headers['x-amz-content-sha256'];
    if (claimed !== undefined && claimed !== payloadHash) return 'the body is not the one signed';
    const question = request.url.indexOf('?');
    const canonicalRequest = this.#canonicalFor(service).of(
      {
        method: request.method,
        protocol: 'http:',
        hostname: headers.host?.split(':')[0] ?? '',
        path: question < 0 ? request.url : request.url.slice(0, question),
        query: queryOf(question < 0 ? '' : request.url.slice(question + 1)),
        headers,
        body: request.body,
      },
      payloadHash,
    );
    const scope = `${day}/${region}/${service}/aws4_request`;
    const stringToSign = `AWS4-HMAC-SHA256\n${dateHeader}\n${scope}\n${sha256Hex(canonicalRequest)}`;
    const computed = createHmac('sha256', this.#signingKey(day, region, service))
      .update(stringToSign)
      .digest();
    return timingSafeEqual(computed, Buffer.from(signature, 'hex')) ? null : 'the signature does not match';
  }

  /** The signature's parts and the signed headers, or why the headers alone refuse the request. */
  #parse(received: IncomingHttpHeaders, now: number): ParsedSignature | string {
    const header = received.authorization;
    const match = typeof header === 'string' ? AUTHORIZATION.exec(header) : null;
    if (match === null) return 'the request carries no SigV4 signature';
    const [, keyId, day, region, service, signedList, signature] = match as unknown as [
      string,
      string,
      string,
      string,
      string,
      string,
      string,
    ];
    if (keyId !== this.#credentials.accessKeyId) return 'the request is signed with unknown credentials';
    const dateHeader = received['x-amz-date'];
    const signingDate = typeof dateHeader === 'string' ? amzDate(dateHeader) : null;
    if (signingDate === null || typeof dateHeader !== 'string' || !dateHeader.startsWith(day))
      return 'the request has no valid x-amz-date';
    if (Math.abs(now - signingDate.getTime()) > MAX_CLOCK_SKEW_MS) return 'the signature has expired';
    const signed = signedList.split(';');
    if (!signed.includes('host')) return 'the signature does not cover the host';
    const headers: Record<string, string> = {};
    for (const name of signed) {
      const value = received[name];
      if (value === undefined) return `the signed header ${name} is missing`;
      headers[name] = Array.isArray(value) ? value.join(',') : value;
    }
    return { day, region, service, signature, dateHeader, headers };
  }

  #canonicalFor(service: string): CanonicalRequests {
    let canonical = this.#canonical.get(service);
    if (canonical === undefined) {
      canonical = new CanonicalRequests(service);
      this.#canonical.set(service, canonical);
      // The service is named by the request before its signature is checked: keep a few at most.
      while (this.#canonical.size > SIGNING_KEYS_KEPT)
        this.#canonical.delete(this.#canonical.keys().next().value as string);
    }
    return canonical;
  }

  /** SigV4's derived key: HMAC chain of the secret over day, region, service and `aws4_request`. */
  #signingKey(day: string, region: string, service: string): Buffer {
    const id = `${day}/${region}/${service}`;
    let key = this.#keys.get(id);
    if (key === undefined) {
      key = Buffer.from(`AWS4${this.#credentials.secretAccessKey}`, 'utf8');
      for (const part of [day, region, service, 'aws4_request']) {
        key = createHmac('sha256', key).update(part).digest();
      }
      this.#keys.set(id, key);
      while (this.#keys.size > SIGNING_KEYS_KEPT) this.#keys.delete(this.#keys.keys().next().value as string);
    }
    return key;
  }
}

/**
 * Signs a request anew with these credentials (for code in this process that forwards a request it
 * received to an internal server, e.g. a test's recording proxy): the headers to send.
 */
export async function resign(
  request: ReceivedRequest & { readonly host: string },
  credentials: LocalCredentials,
  scope: { readonly region: string; readonly service: string },
): Promise<Record<string, string>> {
  const question = request.url.indexOf('?');
  const headers: Record<string, string> = { host: request.host };
  for (const [name, value] of Object.entries(request.headers)) {
    if (
      value === undefined ||
      /^(authorization|x-amz-date|x-amz-security-token|host|connection|content-length)$/i.test(name)
    )
      continue;
    headers[name] = Array.isArray(value) ? value.join(',') : value;
  }
  const signer = new SignatureV4({ credentials, ...scope, sha256: Sha256, applyChecksum: false });
  const signedRequest = await signer.sign({
    method: request.method,
    protocol: 'http:',
    hostname: request.host.split(':')[0] ?? '',
    path: question < 0 ? request.url : request.url.slice(0, question),
    query: queryOf(question < 0 ? '' : request.url.slice(question + 1)),
    headers,
    body: request.body,
  });
  return {
    ...(signedRequest.headers as Record<string, string>),
    'content-length': String(request.body.length),
  };
}
