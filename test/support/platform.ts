/**
 * Helpers shared by the integration suites: one embedded platform per test file, sign-in, the
 * problem+json contract, the route tables of both APIs, and sample bodies derived from each route's
 * own zod schema (so routes added later are exercised without editing the suites).
 */

import { expect } from 'vitest';
import { z } from 'zod';
import { tableFromEnv } from '../../functions/clients/dynamodb.ts';
import { builtCore } from '../../functions/core/assembly/sign-in.ts';
import { ENV, requireEnv } from '../../functions/core/env.ts';
import { type Core, createCore } from '../../functions/core/platform.ts';
import { governanceRoutes } from '../../functions/governance-api/routes.ts';
import { loadRoutes, type Route } from '../../functions/http/router.ts';
import { tenantRoutes } from '../../functions/tenant-api/routes.ts';
import {
  type LocalPlatform,
  type LocalPlatformOptions,
  startLocalPlatform,
} from '../../lib/local/platform.ts';
import { call, type TestRequest, type TestResponse } from './http.ts';
import { signIn } from './session.ts';

export const PROBLEM_TYPE_PREFIX = 'urn:execfabric:problem:';

export const HOSTS = {
  admin: 'admin.localhost',
  free: 'free.localhost',
  acme: 'acme.localhost',
  globex: 'globex.localhost',
} as const;

export interface TestPlatform {
  readonly platform: LocalPlatform;
  /** A core of our own on the platform's table (the secret and table come from `platform.env`). */
  readonly core: Core;
  readonly password: string;
  readonly tokenSecret: string;
  send(request: TestRequest): Promise<TestResponse>;
  /** Signs in and returns the session token; fails the test when sign-in fails. */
  login(host: string, username: string, password?: string): Promise<string>;
  stop(): Promise<void>;
}

/**
 * Starts the embedded platform in memory, seeded, without schedules, and without the edge's per-host
 * rate limit unless `hostRateLimit` sets one: the suites send thousands of requests from one host
 * within a minute (the isolation sweep, the fuzzer, the floods of the attack passes), far more than a
 * tenant may; the limit has its own tests (attacks-host-rate, host-rate-limit).
 */
export async function startTestPlatform(
  password: string,
  options: Pick<
    LocalPlatformOptions,
    | 'freeSignupLimits'
    | 'visibilityTimeoutSeconds'
    | 'viewerScheme'
    | 'edgeLimits'
    | 'log'
    | 'hostRateLimit'
    | 'hostRateClock'
  > = {},
): Promise<TestPlatform> {
  const platform = await startLocalPlatform({
    port: 0,
    dataDir: null,
    schedules: false,
    demoPassword: password,
    log: () => undefined,
    hostRateLimit: false,
    ...options,
  });
  const tokenSecret = requireEnv(ENV.tokenSecret, platform.env);
  const core = createCore({ table: tableFromEnv(platform.env), tokenSecret, env: platform.env });
  const send = (request: TestRequest) => call(platform.url, request);
  return {
    platform,
    core,
    password,
    tokenSecret,
    send,
    login: (host, username, secret = password) => signIn(platform.url, host, username, secret),
    async stop() {
      core.table.client.destroy();
      await platform.stop();
    },
  };
}

/** The response is application/problem+json with a stable type and the HTTP status in its body. */
/** One caller's requests to one host: `caller(t, HOSTS.admin, token)('POST', '/api/…', body)`. */
export function caller(t: TestPlatform, host: string, token: string) {
  return (method: string, path: string, body?: unknown): Promise<TestResponse> =>
    t.send({ host, token, method, path, ...(body === undefined ? {} : { body }) });
}

export function expectProblem(response: TestResponse, statuses: number | readonly number[], context = '') {
  const allowed = typeof statuses === 'number' ? [statuses] : statuses;
  const where = `${context} → ${response.status} ${response.text.slice(0, 300)}`;
  expect(allowed, where).toContain(response.status);
  expect(response.headers['content-type'], where).toBe('application/problem+json');
  expect(typeof response.body, where).toBe('object');
  expect(String(response.body.type), where).toMatch(/^urn:execfabric:problem:[a-z0-9-]+$/);
  expect(response.body.status, where).toBe(response.status);
  expect(typeof response.body.title, where).toBe('string');
}

export function problemType(code: string): string {
  return `${PROBLEM_TYPE_PREFIX}${code}`;
}

export interface ApiRoute {
  readonly api: 'tenant' | 'governance';
  readonly route: Route;
  /** `POST /api/users` */
  readonly name: string;
}

/** Every route of both APIs, from the same tables the handlers are built from (every group loaded). */
export async function enumerateRoutes(core: Core): Promise<{ tenant: ApiRoute[]; governance: ApiRoute[] }> {
  const describe = (api: ApiRoute['api']) => (route: Route) => ({
    api,
    route,
    name: `${route.method} ${route.path}`,
  });
  return {
    tenant: (await loadRoutes(tenantRoutes(builtCore(core)))).map(describe('tenant')),
    governance: (await loadRoutes(governanceRoutes(builtCore(core)))).map(describe('governance')),
  };
}

/** Names of a path template's parameters: `/api/roles/{name}` → `['name']`. */
export function pathParams(path: string): string[] {
  return [...path.matchAll(/\{([a-zA-Z][a-zA-Z0-9]*)\}/g)].map((match) => match[1] ?? '');
}

/** The collection a parameter belongs to: the path segment before it (`/api/roles/{name}` → `roles`). */
export function collectionOf(path: string, param: string): string {
  const segments = path.split('/');
  const index = segments.indexOf(`{${param}}`);
  return index > 0 ? (segments[index - 1] ?? '') : '';
}

export function fillPath(path: string, value: (param: string) => string): string {
  return path.replace(/\{([a-zA-Z][a-zA-Z0-9]*)\}/g, (_, name: string) => encodeURIComponent(value(name)));
}

type JsonSchema = {
  readonly type?: string | readonly string[];
  readonly properties?: Readonly<Record<string, JsonSchema>>;
  readonly required?: readonly string[];
  readonly items?: JsonSchema;
  readonly enum?: readonly unknown[];
  readonly const?: unknown;
  readonly anyOf?: readonly JsonSchema[];
  readonly oneOf?: readonly JsonSchema[];
  readonly minLength?: number;
  readonly minItems?: number;
  readonly minimum?: number;
  readonly exclusiveMinimum?: number;
  readonly default?: unknown;
  readonly format?: string;
};

function sampleOf(schema: JsonSchema, seed: string): unknown {
  if (schema.const !== undefined) return schema.const;
  if (schema.enum !== undefined && schema.enum.length > 0) return schema.enum[0];
  const alternatives = schema.anyOf ?? schema.oneOf;
  if (alternatives !== undefined && alternatives.length > 0) return sampleOf(alternatives[0] ?? {}, seed);
  const type = Array.isArray(schema.type) ? schema.type[0] : schema.type;
  switch (type) {
    case 'object': {
      const result: Record<string, unknown> = {};
      for (const name of schema.required ?? []) {
        result[name] = sampleOf(schema.properties?.[name] ?? {}, `${seed}${name}`);
      }
      return result;
    }
    case 'array':
      return Array.from({ length: schema.minItems ?? 0 }, (_, index) =>
        sampleOf(schema.items ?? {}, `${seed}${index}`),
      );
    case 'string': {
      if (schema.format === 'date-time') return new Date(Date.now() + 30 * 86_400_000).toISOString();
      if (schema.format === 'uri') return 'https://example.com/';
      const base = `s${seed.replace(/[^a-z0-9]/gi, '').toLowerCase()}`.slice(0, 20);
      return base.padEnd(Math.max(schema.minLength ?? 1, 10), 'x');
    }
    case 'integer':
    case 'number':
      return schema.minimum ?? (schema.exclusiveMinimum === undefined ? 1 : schema.exclusiveMinimum + 1);
    case 'boolean':
      return false;
    case 'null':
      return null;
    default:
      return {};
  }
}

function bodySchema(route: Route): JsonSchema {
  return route.body === undefined
    ? {}
    : (z.toJSONSchema(route.body, { io: 'input', unrepresentable: 'any' }) as JsonSchema);
}

/** Top-level member names a route's body schema declares (required or not). */
export function bodyMembers(route: Route): string[] {
  return Object.keys(bodySchema(route).properties ?? {});
}

/**
 * A body that has the shape a route's schema asks for (required members only, smallest values).
 * Semantic rules of the core may still refuse it; the point is to get past the shape check.
 */
export function sampleBody(route: Route): unknown {
  if (route.body === undefined) return undefined;
  return sampleOf(bodySchema(route), route.path.replace(/\W/g, ''));
}

/** Which of `markers` appear in `text` (foreign data leaking into an answer). */
export function leakedMarkers(text: string, markers: readonly string[]): string[] {
  return markers.filter((marker) => marker !== '' && text.includes(marker));
}
