/**
 * Browser sessions at the HTTP edge. The fronts keep their session token in a cookie the page's
 * JavaScript cannot read: `HttpOnly`, `SameSite=Strict`, `Path=/`, no `Domain` (so it is bound to
 * the one host that set it), and `Secure` with the `__Host-` name prefix when the edge says the
 * viewer came over https. The CLI and agents keep sending `Authorization: Bearer`, which wins over a
 * cookie when both are present.
 *
 * A cookie is sent by the browser whoever wrote the page, so a write authenticated by the cookie
 * must also prove it came from the platform's own page (a CSRF defence on every write): it carries
 * the session's CSRF token (an HMAC of the session id the page learns from `GET /api/me`, which no
 * other origin can read), and its `Origin` and `Sec-Fetch-Site`, when the browser sends them, name
 * this very host. Bearer-authenticated requests need none of this: no browser adds that header on
 * its own.
 */
import { timingSafeEqual } from 'node:crypto';
import { CsrfRejectedError } from '../core/errors.ts';
import { CSRF_HEADER, SCHEME_HEADER } from '../core/headers.ts';
import type { DomainContext } from '../core/tenancy/domain.ts';

/** The cookie over https: `__Host-` makes the browser refuse it unless Secure, host-only and Path=/. */
export const SECURE_SESSION_COOKIE = '__Host-efs';
/** The cookie over plain http (local development): browsers refuse `__Host-` cookies without Secure. */
export const PLAIN_SESSION_COOKIE = 'efs';

const SAFE_METHODS: ReadonlySet<string> = new Set(['GET', 'HEAD', 'OPTIONS']);

/** How a request authenticates: an Authorization header, or the session cookie. */
export type Credential =
  | { readonly kind: 'bearer'; readonly header: string }
  | { readonly kind: 'cookie'; readonly token: string };

/** Whether the viewer reached the edge over https (unknown counts as https: the safe side). */
export function viewerIsSecure(headers: Readonly<Record<string, string>>): boolean {
  return headers[SCHEME_HEADER] !== 'http';
}

export function sessionCookieName(secure: boolean): string {
  return secure ? SECURE_SESSION_COOKIE : PLAIN_SESSION_COOKIE;
}

/**
 * Cookies of a request: API Gateway (payload 2.0) hands them over as `cookies`, one `name=value`
 * per entry; a `cookie` header is read too. The first value of a name wins.
 */
export function parseCookies(
  entries: readonly string[] | undefined,
  header: string | undefined,
): Map<string, string> {
  const cookies = new Map<string, string>();
  const parts = [...(entries ?? []), ...(header === undefined ? [] : header.split(';'))];
  for (const part of parts) {
    for (const pair of part.split(';')) {
      const equals = pair.indexOf('=');
      if (equals <= 0) continue;
      const name = pair.slice(0, equals).trim();
      const value = pair.slice(equals + 1).trim();
      if (name !== '' && !cookies.has(name)) cookies.set(name, value);
    }
  }
  return cookies;
}

/** The request's credential; a cookie is read only under the name this protocol allows. */
export function credentialOf(
  headers: Readonly<Record<string, string>>,
  cookies: ReadonlyMap<string, string>,
): Credential | undefined {
  const authorization = headers.authorization;
  if (authorization !== undefined) return { kind: 'bearer', header: authorization };
  const token = cookies.get(sessionCookieName(viewerIsSecure(headers)));
  return token === undefined || token === '' ? undefined : { kind: 'cookie', token };
}

/**
 * A `Set-Cookie` value as the platform sets every cookie: HttpOnly, SameSite=Strict, Secure over
 * https; host-only and for every path unless `scope` says otherwise.
 */
export function strictCookie(
  name: string,
  value: string,
  maxAgeSeconds: number,
  secure: boolean,
  scope: { readonly domain?: string; readonly path?: string } = {},
): string {
  const domain = scope.domain === undefined ? '' : `Domain=${scope.domain}; `;
  return `${name}=${value}; Max-Age=${maxAgeSeconds}; ${domain}Path=${scope.path ?? '/'}; HttpOnly; SameSite=Strict${secure ? '; Secure' : ''}`;
}

/** `Set-Cookie` value carrying a session token until it expires. */
export function sessionCookie(token: string, expiresAt: Date, now: Date, secure: boolean): string {
  const maxAge = Math.max(0, Math.floor((expiresAt.getTime() - now.getTime()) / 1000));
  return strictCookie(sessionCookieName(secure), token, maxAge, secure);
}

/** `Set-Cookie` value that removes the session cookie. */
export function clearedSessionCookie(secure: boolean): string {
  return strictCookie(sessionCookieName(secure), '', 0, secure);
}

function sameText(given: string | undefined, expected: string): boolean {
  if (given === undefined) return false;
  const a = Buffer.from(given);
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}

/**
 * Refuses a request whose browser says it comes from another site or origin (`Sec-Fetch-Site`,
 * `Origin`); a request without those headers (an older browser, a non-browser client) passes here.
 */
export function assertFromThisOrigin(headers: Readonly<Record<string, string>>, domain: DomainContext): void {
  const site = headers['sec-fetch-site'];
  if (site !== undefined && site !== 'same-origin') {
    throw new CsrfRejectedError(`A write from another site (${site}) cannot use this session`);
  }
  const origin = headers.origin;
  if (origin === undefined) return;
  let url: URL | null = null;
  try {
    url = new URL(origin);
  } catch {
    url = null;
  }
  const scheme = viewerIsSecure(headers) ? 'https:' : 'http:';
  if (url === null || url.hostname !== domain.host || url.protocol !== scheme) {
    throw new CsrfRejectedError('A write from another origin cannot use this session');
  }
}

/**
 * Refuses a cookie-authenticated write that does not prove it came from this host's own page: it
 * must come from this origin and carry the session's CSRF token. Reads (GET, HEAD) pass: their
 * answers cannot be read by another origin (no CORS is offered).
 */
export function assertSameOriginWrite(
  method: string,
  headers: Readonly<Record<string, string>>,
  domain: DomainContext,
  expectedToken: string,
): void {
  if (SAFE_METHODS.has(method)) return;
  assertFromThisOrigin(headers, domain);
  if (!sameText(headers[CSRF_HEADER], expectedToken)) {
    throw new CsrfRejectedError(
      `A write signed in by cookie must carry the session's ${CSRF_HEADER} header (from GET /api/me)`,
    );
  }
}
