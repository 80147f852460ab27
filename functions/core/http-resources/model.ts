/**
 * What an HTTP resource is: its configuration (base URL, allowed methods and paths, the write
 * boundary, auth scheme, limits) with its rules, the credential's state (version ids only), and the
 * checks every request passes before anything is sent. Shared by the governance service, the trial
 * runner, the `http` executor (Skill binding) and the http-executor function.
 */

import { createHash } from 'node:crypto';
import { canonicalJson } from '../audit/chain.ts';
import type { AvailabilityState } from '../availability.ts';
import { type FieldIssue, ValidationError } from '../errors.ts';
import { ipLiteral } from './addresses.ts';
import { HttpRequestRefusedError } from './errors.ts';
import { checkConcretePath, pathAllowed, patternIssue } from './templates.ts';

export const HTTP_METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE'] as const;
export type HttpMethod = (typeof HTTP_METHODS)[number];
/** Methods inside the read-only boundary; every other one needs `writeAllowed`. */
export const READ_METHODS: ReadonlySet<string> = new Set(['GET', 'HEAD']);

export const AUTH_SCHEMES = ['bearer', 'header', 'basic'] as const;
export type AuthScheme = (typeof AUTH_SCHEMES)[number];

export const RESOURCE_LIMITS = {
  timeoutSeconds: { min: 1, max: 50, default: 15 },
  maxResponseBytes: { min: 1024, max: 1024 * 1024, default: 256 * 1024 },
  paths: 50,
} as const;

export const RESOURCE_ID_PATTERN = /^hr-[a-z0-9]{12}$/;

/** Header names a credential may not be sent in (framing, routing, cookies, the platform's own). */
const RESERVED_HEADERS: ReadonlySet<string> = new Set([
  'host',
  'content-length',
  'content-type',
  'transfer-encoding',
  'connection',
  'keep-alive',
  'upgrade',
  'te',
  'trailer',
  'expect',
  'cookie',
  'accept',
  'accept-encoding',
  'user-agent',
]);
const HEADER_NAME = /^[A-Za-z0-9!#$%&'*+.^_`|~-]{1,64}$/;

export interface HttpAuth {
  readonly scheme: AuthScheme;
  /** The header that carries the credential (scheme `header` only). */
  readonly header?: string;
}

export interface HttpResourceConfig {
  readonly name: string;
  readonly description: string;
  readonly baseUrl: string;
  readonly methods: readonly HttpMethod[];
  readonly paths: readonly string[];
  readonly writeAllowed: boolean;
  readonly auth: HttpAuth;
  readonly timeoutSeconds: number;
  readonly maxResponseBytes: number;
  readonly localDevelopment: boolean;
}

/** Where the credential stands; version ids only, never a value. */
export interface CredentialState {
  readonly current: string;
  /** Kept until the current version has worked once (see docs/decisions/http-credentials.md). */
  readonly previous?: string;
  /** Whether a request with the current version has succeeded. */
  readonly confirmed: boolean;
  readonly rotatedAt: string;
  readonly rotatedBy: string;
  readonly confirmedAt?: string;
}

export interface HttpResource extends HttpResourceConfig {
  readonly id: string;
  /** `active`, or `disabled` / `archived`: tenants' runs of it are refused (see availability.ts). */
  readonly state: AvailabilityState;
  /** Bumped by every configuration change; runs and approvals bind to it. */
  readonly version: number;
  /** Hash of the configuration at this version. */
  readonly configHash: string;
  /** Tenants the resource is granted to. */
  readonly grants: readonly string[];
  readonly credential?: CredentialState;
  readonly createdAt: string;
  readonly createdBy: string;
  readonly updatedAt: string;
  readonly updatedBy: string;
}

/** The configuration a job carries to the executor (which reads no table). */
export interface HttpResourceSnapshot extends HttpResourceConfig {
  readonly id: string;
  readonly version: number;
  readonly configHash: string;
}

export interface HttpResourceInput {
  readonly name: string;
  readonly description?: string;
  readonly baseUrl: string;
  readonly methods: readonly HttpMethod[];
  readonly paths: readonly string[];
  readonly writeAllowed: boolean;
  readonly auth: HttpAuth;
  readonly timeoutSeconds?: number;
  readonly maxResponseBytes?: number;
  readonly localDevelopment?: boolean;
}

const CONFIG_FIELDS = [
  'name',
  'description',
  'baseUrl',
  'methods',
  'paths',
  'writeAllowed',
  'auth',
  'timeoutSeconds',
  'maxResponseBytes',
  'localDevelopment',
] as const satisfies readonly (keyof HttpResourceConfig)[];

export function configOf(resource: HttpResourceConfig): HttpResourceConfig {
  const picked: Record<string, unknown> = {};
  for (const field of CONFIG_FIELDS) picked[field] = resource[field];
  return picked as unknown as HttpResourceConfig;
}

export function configHash(config: HttpResourceConfig): string {
  return createHash('sha256')
    .update(canonicalJson(configOf(config)), 'utf8')
    .digest('hex');
}

export function snapshotOf(resource: HttpResource): HttpResourceSnapshot {
  return {
    ...configOf(resource),
    id: resource.id,
    version: resource.version,
    configHash: resource.configHash,
  };
}

/** A base URL with its trailing slash removed (paths are appended to it). */
export function normaliseBaseUrl(raw: string): string {
  const url = new URL(raw);
  const path = url.pathname.replace(/\/+$/, '');
  return `${url.protocol}//${url.host}${path}`;
}

/** Checks and completes a configuration; every problem is reported with its field. */
export function validateConfig(
  input: HttpResourceInput,
  options: { readonly allowLocalDevelopment: boolean },
): HttpResourceConfig {
  const issues: FieldIssue[] = [];
  const localDevelopment = input.localDevelopment === true;
  let baseUrl = input.baseUrl;
  let url: URL | null = null;
  try {
    url = new URL(input.baseUrl);
  } catch {
    issues.push({ path: 'baseUrl', message: 'not an absolute URL' });
  }
  if (url !== null) {
    if (url.protocol !== 'https:' && url.protocol !== 'http:')
      issues.push({ path: 'baseUrl', message: 'http or https only' });
    else if (url.protocol === 'http:' && !localDevelopment)
      issues.push({ path: 'baseUrl', message: 'https is required (plain http only for localDevelopment)' });
    if (url.username !== '' || url.password !== '')
      issues.push({ path: 'baseUrl', message: 'credentials never go in the URL; use PUT …/credential' });
    if (url.search !== '' || url.hash !== '' || input.baseUrl.includes('?') || input.baseUrl.includes('#'))
      issues.push({ path: 'baseUrl', message: 'no query or fragment' });
    if (url.hostname === '') issues.push({ path: 'baseUrl', message: 'a host is required' });
    else if (ipLiteral(url.hostname) === null && !/^[A-Za-z0-9.-]+$/.test(url.hostname))
      issues.push({ path: 'baseUrl', message: 'the host must be a DNS name or an IP address' });
    if (issues.length === 0) baseUrl = normaliseBaseUrl(input.baseUrl);
  }
  if (localDevelopment && !options.allowLocalDevelopment) {
    issues.push({
      path: 'localDevelopment',
      message: 'local development resources are only available on a local platform',
    });
  }
  const methods = [...new Set(input.methods)];
  if (methods.length === 0) issues.push({ path: 'methods', message: 'at least one method' });
  const writes = methods.filter((method) => !READ_METHODS.has(method));
  if (writes.length > 0 && !input.writeAllowed) {
    issues.push({
      path: 'methods',
      message: `${writes.join(', ')} ${writes.length === 1 ? 'writes' : 'write'}: set writeAllowed to allow writes`,
    });
  }
  const paths = [...new Set(input.paths)];
  if (paths.length === 0) issues.push({ path: 'paths', message: 'at least one path pattern' });
  if (paths.length > RESOURCE_LIMITS.paths)
    issues.push({ path: 'paths', message: `at most ${RESOURCE_LIMITS.paths}` });
  paths.forEach((pattern, index) => {
    const issue = patternIssue(pattern);
    if (issue !== null) issues.push({ path: `paths.${index}`, message: issue });
  });
  const auth = input.auth;
  if (auth.scheme === 'header') {
    const header = auth.header?.toLowerCase() ?? '';
    if (!HEADER_NAME.test(header)) issues.push({ path: 'auth.header', message: 'a header name' });
    else if (
      RESERVED_HEADERS.has(header) ||
      header.startsWith('x-execfabric-') ||
      header.startsWith('proxy-')
    )
      issues.push({ path: 'auth.header', message: `${header} cannot carry a credential` });
  } else if (auth.header !== undefined) {
    issues.push({ path: 'auth.header', message: `only the header scheme names a header` });
  }
  const timeoutSeconds = input.timeoutSeconds ?? RESOURCE_LIMITS.timeoutSeconds.default;
  const maxResponseBytes = input.maxResponseBytes ?? RESOURCE_LIMITS.maxResponseBytes.default;
  for (const [field, value] of [
    ['timeoutSeconds', timeoutSeconds],
    ['maxResponseBytes', maxResponseBytes],
  ] as const) {
    const bounds = RESOURCE_LIMITS[field];
    if (!Number.isInteger(value) || value < bounds.min || value > bounds.max)
      issues.push({ path: field, message: `an integer from ${bounds.min} to ${bounds.max}` });
  }
  if (issues.length > 0) throw new ValidationError('Invalid HTTP resource', issues);
  return {
    name: input.name,
    description: input.description ?? '',
    baseUrl,
    methods,
    paths,
    writeAllowed: input.writeAllowed,
    auth:
      auth.scheme === 'header'
        ? { scheme: 'header', header: (auth.header ?? '').toLowerCase() }
        : { scheme: auth.scheme },
    timeoutSeconds,
    maxResponseBytes,
    localDevelopment,
  };
}

/** Whether the method is one the resource allows, inside its write boundary. */
export function methodIssue(resource: HttpResourceConfig, method: string): string | null {
  if (!(resource.methods as readonly string[]).includes(method))
    return `${method} is not among the methods this resource allows (${resource.methods.join(', ')})`;
  if (!READ_METHODS.has(method) && !resource.writeAllowed)
    return `${method} writes, and this resource is read-only`;
  return null;
}

/**
 * The check every concrete request passes before anything is sent: method and write boundary,
 * then the path's own shape (a dot segment in any spelling, a control character…: refused saying
 * why), then the path against the allowance.
 */
export function assertRequestAllowed(resource: HttpResourceConfig, method: string, path: string): void {
  const methodProblem = methodIssue(resource, method);
  if (methodProblem !== null) throw new HttpRequestRefusedError(methodProblem, 'method');
  checkConcretePath(path);
  if (!pathAllowed(resource.paths, path))
    throw new HttpRequestRefusedError('The request path is outside the paths this resource allows', 'path');
}

/**
 * A name frameworks read as the request's method: Rails (Rack::MethodOverride), Laravel and Symfony
 * turn a POST with a `_method=DELETE` parameter or body field into a DELETE. PHP reads `.method`,
 * ` method` and `[method` as `_method` (it turns `.`, a space and `[` in a name into `_`), and
 * `_method[]` as an array under that name.
 */
const METHOD_OVERRIDE_FIELD = /^\s*[\s_.[]method(?:\[|$)/i;

/**
 * Refuses a request that carries a method override in its query or as a top-level field of a JSON
 * object body, whatever its value: the resource's methods and write boundary would otherwise be
 * only what the request says first. Bodies are only ever sent as JSON (never form-encoded).
 */
export function assertNoMethodOverride(
  query: Readonly<Record<string, string>> | undefined,
  body: unknown,
  bodyField = 'body',
): void {
  const refuse = (where: string, name: string, field: string) =>
    new HttpRequestRefusedError(
      `The request ${where} may not hold ${JSON.stringify(name)}: servers read it as another method`,
      field,
    );
  for (const name of Object.keys(query ?? {})) {
    if (METHOD_OVERRIDE_FIELD.test(name)) throw refuse('query', name, 'query');
  }
  if (body !== null && typeof body === 'object' && !Array.isArray(body)) {
    for (const name of Object.keys(body)) {
      if (METHOD_OVERRIDE_FIELD.test(name)) throw refuse('body', name, bodyField);
    }
  }
}

/** The header that carries a credential under the resource's scheme. */
export function authHeader(auth: HttpAuth, value: string): { name: string; value: string } {
  switch (auth.scheme) {
    case 'bearer':
      return { name: 'authorization', value: `Bearer ${value}` };
    case 'basic':
      return { name: 'authorization', value: `Basic ${Buffer.from(value, 'utf8').toString('base64')}` };
    case 'header':
      return { name: auth.header ?? 'authorization', value };
  }
}

/**
 * The forms in which a credential could come back in a response (to be redacted from it): the
 * value, its base64, the base64 of the whole header value as sent (`Bearer <token>` encoded is not
 * the token's base64 with a prefix), each of these percent-encoded, and the value JSON-escaped.
 * Not hex, HTML entities or any other transform: an upstream that echoes the credential so
 * spelled reveals it (docs/decisions/http-credentials.md).
 */
export function credentialForms(value: string, auth: HttpAuth): string[] {
  const base64 = (text: string) => Buffer.from(text, 'utf8').toString('base64');
  const raw = [value, base64(value), base64(authHeader(auth, value).value)];
  const forms = new Set([...raw, ...raw.map(encodeURIComponent), JSON.stringify(value).slice(1, -1)]);
  return [...forms].filter((form) => form.length > 0).sort((a, b) => b.length - a.length);
}

/** Checks a credential value as it is stored: printable, one line, sensible size. */
export function credentialIssue(auth: HttpAuth, value: string): string | null {
  if (value.length < 8) return 'at least 8 characters';
  if (value.length > 4096) return 'at most 4096 characters';
  if ([...value].some((char) => char.charCodeAt(0) < 0x20 || char.charCodeAt(0) === 0x7f))
    return 'no control characters or line breaks';
  if (!/^[\u0020-\u007e]+$/.test(value) && auth.scheme !== 'basic') return 'printable ASCII only';
  if (auth.scheme === 'basic' && !value.includes(':')) return 'user:password for the basic scheme';
  return null;
}
