/**
 * Header names the platform owns. Every `x-execfabric-*` header a client sends is deleted at the
 * edge (the CloudFront Function, and the local router running the same code) before these are set.
 */
export const PLATFORM_HEADER_PREFIX = 'x-execfabric-';
/** The viewer's Host, as seen by the edge. The only host the APIs trust. */
export const HOST_HEADER = `${PLATFORM_HEADER_PREFIX}host`;
/** The port of the viewer's Host, when it named one (local platforms; never on CloudFront). */
export const PORT_HEADER = `${PLATFORM_HEADER_PREFIX}port`;
/**
 * The scheme viewers reach the edge with: set by the edge on every request it forwards to an API
 * (a CloudFront origin custom header, `https`; the local router, `http`), so an API can write
 * absolute links to its own host and mark session cookies Secure over https (absent means https).
 */
export const SCHEME_HEADER = `${PLATFORM_HEADER_PREFIX}scheme`;
/**
 * The viewer's own address, as the edge saw the connection (CloudFront Functions' `event.viewer.ip`;
 * the local router's socket). Behind CloudFront, API Gateway's source IP is an edge server's, so
 * per-address limits (sign-ups) and security events read this one; a client cannot send it.
 */
export const VIEWER_IP_HEADER = `${PLATFORM_HEADER_PREFIX}viewer-ip`;
/** Proof that a request came through the edge; its value is a deploy-time secret. */
export const ORIGIN_HEADER = `${PLATFORM_HEADER_PREFIX}origin`;
/**
 * RFC 7240 preferences. `wait=N` on a run request asks the API to answer once the run has ended (or
 * waits for approval), for at most N seconds (capped at MAX_RUN_WAIT_SECONDS); the answer names what
 * it applied in `Preference-Applied`.
 */
export const PREFER_HEADER = 'prefer';
export const PREFERENCE_APPLIED_HEADER = 'preference-applied';
/** The longest a run request may be held open for its run (API Gateway ends a request at 29 s). */
export const MAX_RUN_WAIT_SECONDS = 20;
/**
 * RFC 9111 request directives a read may carry for the API's own per-process caches (today the Skill
 * catalogue of `GET /api/skills`): `no-cache` (or `max-age=0`) reads the store now, `max-age=N`
 * accepts an answer read at most N seconds ago. `Pragma: no-cache` counts as `no-cache` only when
 * there is no `Cache-Control` (RFC 9111 §5.4).
 */
export const CACHE_CONTROL_HEADER = 'cache-control';
export const PRAGMA_HEADER = 'pragma';
/**
 * The oldest answer the API's caches give a read that asks nothing else (seconds): what a change made
 * on another container may lag by. A client that wrote within this window revalidates its reads, so
 * its user sees their own change whichever container answers.
 */
export const CACHED_READ_MAX_AGE_SECONDS = 5;
/** Idempotency of execution requests. */
export const IDEMPOTENCY_HEADER = 'idempotency-key';
/**
 * How long a client should wait before sending a refused request again (RFC 9110 §10.2.3): on a 429
 * (a rate limit or a quota) and on a 503 (a store or the edge busy for a moment). Delta-seconds here;
 * an HTTP-date is also valid.
 */
export const RETRY_AFTER_HEADER = 'retry-after';
/** The CSRF token a cookie-authenticated write must echo (see functions/http/session.ts). */
export const CSRF_HEADER = 'x-csrf-token';
/** A paged answer that is not JSON (an NDJSON export) names its next page's cursor here. */
export const NEXT_CURSOR_HEADER = `${PLATFORM_HEADER_PREFIX}next-cursor`;
/** The media type of every error answer (RFC 9457), from the API and from the edge. */
export const PROBLEM_CONTENT_TYPE = 'application/problem+json';
/** Every problem's `type` is this prefix and a stable slug, e.g. `…:rate-limited`. */
export const PROBLEM_TYPE_PREFIX = 'urn:execfabric:problem:';
