/** Reading a request's body on the local platform's internal servers, with a cap. */
import type { IncomingMessage } from 'node:http';
import type { SigV4Verifier } from './sigv4.ts';

/** Largest request body the services' guards read (dynalite's own limit). */
export const MAX_BODY_BYTES = 16 * 1024 * 1024;

/**
 * Reads a request body, up to the cap (null beyond it). Rejects when the client goes away mid-body:
 * a caller in a request listener must catch it (unhandled, it ends the thread, and the process).
 */
export async function readBody(request: IncomingMessage, cap = MAX_BODY_BYTES): Promise<Buffer | null> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of request) {
    size += (chunk as Buffer).length;
    if (size > cap) return null;
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}

/** What a signed request to an internal server turned out to be, once its body was read. */
export type SignedRequest =
  | { readonly kind: 'genuine'; readonly body: Buffer }
  /** Refused on its signature: `early` when the headers alone refused it and its body was never read. */
  | { readonly kind: 'refused'; readonly reason: string; readonly early: boolean }
  | { readonly kind: 'too-large' }
  /** The client went away mid-body: there is nobody to answer. */
  | { readonly kind: 'gone' };

/**
 * Reads a request to an internal server only as far as its signature allows: what the headers alone
 * refuse is refused before any of the body is read (a stranger's upload is never buffered); the body
 * is read up to the cap, and the signature is then verified over it. Never rejects.
 */
export async function readSignedRequest(
  verifier: SigV4Verifier,
  request: IncomingMessage,
  cap = MAX_BODY_BYTES,
): Promise<SignedRequest> {
  const early = verifier.problemBeforeBody(request.headers);
  if (early !== null) return { kind: 'refused', reason: early, early: true };
  const body = await readBody(request, cap).catch(() => undefined);
  if (body === undefined) return { kind: 'gone' };
  if (body === null) return { kind: 'too-large' };
  const problem = verifier.problem({
    method: request.method ?? 'GET',
    url: request.url ?? '/',
    headers: request.headers,
    body,
  });
  return problem === null ? { kind: 'genuine', body } : { kind: 'refused', reason: problem, early: false };
}
