/** Reading a request's body on the local platform's internal servers, with a cap. */
import type { IncomingMessage } from 'node:http';

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
