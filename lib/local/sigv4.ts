/**
 * Signature Version 4 on the local platform's internal servers. dynalite and fauxqs accept any
 * request; in front of them (and of the local Lambda endpoint) every request must carry a SigV4
 * signature made with the credentials of this start, which are random and known only to the
 * platform's process. So another local user, a browser page that found the port, or anything else
 * that can reach loopback cannot read or write the table, the queues or a function.
 *
 * The expected signature is recomputed with the SDK's own signer (`@smithy/signature-v4`) over the
 * request as received, limited to the headers the client says it signed.
 */
import { createHash, createHmac, type Hash, type Hmac, timingSafeEqual } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import { SignatureV4 } from '@smithy/signature-v4';

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

/** The SHA-256 (and HMAC) the SDK's signer asks for, on node:crypto. */
export class Sha256 {
  readonly #hash: Hash | Hmac;
  constructor(secret?: unknown) {
    this.#hash =
      secret === undefined ? createHash('sha256') : createHmac('sha256', secret as string | Uint8Array);
  }
  update(data: string | Uint8Array): void {
    this.#hash.update(data);
  }
  async digest(): Promise<Uint8Array> {
    return this.#hash.digest();
  }
}

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

/** Why a request is refused, or null when its signature is this start's. */
export async function sigv4Problem(
  request: ReceivedRequest,
  credentials: LocalCredentials,
  now: number = Date.now(),
): Promise<string | null> {
  const header = request.headers.authorization;
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
  if (keyId !== credentials.accessKeyId) return 'the request is signed with unknown credentials';
  const dateHeader = request.headers['x-amz-date'];
  const signingDate = typeof dateHeader === 'string' ? amzDate(dateHeader) : null;
  if (signingDate === null || typeof dateHeader !== 'string' || !dateHeader.startsWith(day))
    return 'the request has no valid x-amz-date';
  if (Math.abs(now - signingDate.getTime()) > MAX_CLOCK_SKEW_MS) return 'the signature has expired';
  const signed = signedList.split(';');
  if (!signed.includes('host')) return 'the signature does not cover the host';
  const headers: Record<string, string> = {};
  for (const name of signed) {
    const value = request.headers[name];
    if (value === undefined) return `the signed header ${name} is missing`;
    headers[name] = Array.isArray(value) ? value.join(',') : value;
  }
  const question = request.url.indexOf('?');
  const path = question < 0 ? request.url : request.url.slice(0, question);
  const search = question < 0 ? '' : request.url.slice(question + 1);
  const signer = new SignatureV4({ credentials, region, service, sha256: Sha256, applyChecksum: false });
  const expected = await signer.sign(
    {
      method: request.method,
      protocol: 'http:',
      hostname: headers.host?.split(':')[0] ?? '',
      path,
      query: queryOf(search),
      headers,
      body: request.body,
    },
    { signingDate, signingRegion: region, signingService: service },
  );
  const computed = /Signature=([0-9a-f]{64})/.exec(String(expected.headers.authorization ?? ''))?.[1];
  if (computed === undefined) return 'the signature could not be recomputed';
  return timingSafeEqual(Buffer.from(computed, 'hex'), Buffer.from(signature, 'hex'))
    ? null
    : 'the signature does not match';
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
