/**
 * Header names the platform owns. Every `x-execfabric-*` header a client sends is deleted at the
 * edge (the CloudFront Function, and the local router running the same code) before these are set.
 */
export const PLATFORM_HEADER_PREFIX = 'x-execfabric-';
/** The viewer's Host, as seen by the edge. The only host the APIs trust. */
export const HOST_HEADER = `${PLATFORM_HEADER_PREFIX}host`;
/** Proof that a request came through the edge; its value is a deploy-time secret. */
export const ORIGIN_HEADER = `${PLATFORM_HEADER_PREFIX}origin`;
/** Idempotency of execution requests. */
export const IDEMPOTENCY_HEADER = 'idempotency-key';
/**
 * The viewer's protocol as the edge saw it (`https` | `http`), set by the edge after client
 * `x-execfabric-*` headers are deleted; absent means https (the AWS edge serves `/api` over https only).
 */
export const PROTO_HEADER = `${PLATFORM_HEADER_PREFIX}proto`;
/** The CSRF token a cookie-authenticated write must echo (see functions/http/session.ts). */
export const CSRF_HEADER = 'x-csrf-token';
