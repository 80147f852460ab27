/**
 * The API contract in tests: each API's OpenAPI document as its host serves it, checked against the
 * OpenAPI 3.1 schema, and every response a suite gets checked against it — status, media type and
 * body — with a real OpenAPI 3.1 JSON Schema validator (@hyperjump/json-schema's OpenAPI dialect).
 * Calls name the operation by its path template, and the contract keeps which operations answered.
 *
 * The platform under test runs in the same process and removes hyperjump's `file:` and `http(s):`
 * schemes (tenant schemas must not reach either; functions/core/catalog/schemas.ts), so the documents
 * are handed to hyperjump under a scheme of the tests' own, `execfabric-contract:`, from memory.
 */
import { addUriSchemePlugin } from '@hyperjump/browser';
import type { Output, Validator } from '@hyperjump/json-schema';
import { BASIC } from '@hyperjump/json-schema/experimental';
import { validate } from '@hyperjump/json-schema/openapi-3-1';
import { expect } from 'vitest';
import type { TestRequest, TestResponse } from './http.ts';

/** What hyperjump's OpenAPI 3.1 dialect calls the schema of a whole OpenAPI document. */
export const OPENAPI_31_SCHEMA = 'https://spec.openapis.org/oas/3.1/schema-base';

type Json = Parameters<Validator>[0];

const CONTRACT_SCHEME = 'execfabric-contract';
const served = new Map<string, string>();
addUriSchemePlugin(CONTRACT_SCHEME, {
  retrieve: async (uri: string) => {
    const name = uri.slice(`${CONTRACT_SCHEME}:`.length).split('#')[0] ?? '';
    const text = served.get(name);
    if (text === undefined) throw new Error(`No contract document ${name}`);
    const response = new Response(text, { headers: { 'content-type': 'application/openapi+json' } });
    Object.defineProperty(response, 'url', { value: `${CONTRACT_SCHEME}:${name}` });
    return response;
  },
});

export interface OpenApiDocument {
  readonly openapi: string;
  readonly paths: Record<string, Record<string, Operation>>;
  readonly [member: string]: unknown;
}

interface Operation {
  readonly responses: Record<string, { content?: Record<string, unknown> }>;
}

/** Validates a whole document against the OpenAPI 3.1 schema; the errors say where it is wrong. */
export async function validateDocument(document: unknown) {
  const output = await validate(OPENAPI_31_SCHEMA, document as Json, BASIC);
  return { valid: output.valid, errors: errorsOf(output) };
}

function errorsOf(output: Output) {
  return output.valid ? [] : (output.errors ?? []);
}

function pointerPart(text: string): string {
  return text.replace(/~/g, '~0').replace(/\//g, '~1');
}

const METHODS = ['get', 'post', 'put', 'patch', 'delete'] as const;

export interface ContractCall extends Omit<TestRequest, 'path' | 'host'> {
  /** The operation's path template, e.g. `/api/skills/{id}`. */
  readonly path: string;
  readonly params?: Readonly<Record<string, string>>;
  readonly query?: Readonly<Record<string, string>>;
}

export class ApiContract {
  readonly #document: OpenApiDocument;
  readonly #uri: string;
  readonly #validators = new Map<string, Validator>();
  /** `GET /api/skills/{id}` → statuses answered. */
  readonly answered = new Map<string, Set<number>>();

  readonly name: string;
  readonly #send: (request: Omit<TestRequest, 'host'>) => Promise<TestResponse>;

  constructor(
    name: string,
    document: OpenApiDocument,
    send: (request: Omit<TestRequest, 'host'>) => Promise<TestResponse>,
  ) {
    this.name = name;
    this.#send = send;
    this.#document = document;
    // Each contract its own name, so two suites (or two platforms) never share a document.
    const key = `${name}-${served.size}`;
    served.set(key, JSON.stringify(document));
    this.#uri = `${CONTRACT_SCHEME}:${key}`;
  }

  get document(): OpenApiDocument {
    return this.#document;
  }

  /** Every operation of the document, as `METHOD /template`. */
  operations(): string[] {
    return Object.entries(this.#document.paths).flatMap(([path, item]) =>
      METHODS.filter((method) => item[method] !== undefined).map(
        (method) => `${method.toUpperCase()} ${path}`,
      ),
    );
  }

  /** Operations that never answered with a success (2xx). */
  unanswered(): string[] {
    return this.operations().filter(
      (operation) => ![...(this.answered.get(operation) ?? [])].some((status) => status < 300),
    );
  }

  async #validator(pointer: string) {
    let validator = this.#validators.get(pointer);
    if (validator === undefined) {
      validator = await validate(`${this.#uri}#${pointer.split('/').map(encodeURIComponent).join('/')}`);
      this.#validators.set(pointer, validator);
    }
    return validator;
  }

  /** Calls an operation and checks the answer against the document; returns the answer. */
  async call(call: ContractCall): Promise<TestResponse> {
    const method = (call.method ?? 'GET').toUpperCase();
    let path = call.path;
    for (const [name, value] of Object.entries(call.params ?? {})) {
      path = path.replace(`{${name}}`, encodeURIComponent(value));
    }
    const search = new URLSearchParams(call.query ?? {}).toString();
    const { params: _params, query: _query, ...rest } = call;
    const response = await this.#send({ ...rest, method, path: search === '' ? path : `${path}?${search}` });
    await this.check(method, call.path, response);
    return response;
  }

  /** Checks one answer of `METHOD template` against the document. */
  async check(method: string, template: string, response: TestResponse): Promise<void> {
    const operationName = `${method} ${template}`;
    const where = `${this.name}: ${operationName} → ${response.status} ${response.text.slice(0, 400)}`;
    const operation = this.#document.paths[template]?.[method.toLowerCase()];
    expect(operation, `${where}: not in the document`).toBeDefined();
    if (operation === undefined) return;
    const statuses = this.answered.get(operationName) ?? new Set<number>();
    statuses.add(response.status);
    this.answered.set(operationName, statuses);

    const key =
      operation.responses[String(response.status)] !== undefined ? String(response.status) : 'default';
    const declared = operation.responses[key];
    expect(declared, `${where}: status not declared`).toBeDefined();
    if (response.status >= 400) {
      expect(response.status < 300, where).toBe(false);
    }
    const content = declared?.content;
    if (content === undefined) {
      expect(response.text, `${where}: no body declared`).toBe('');
      return;
    }
    const mediaType = (response.headers['content-type'] ?? '').split(';')[0]?.trim() ?? '';
    const media = Object.keys(content).find((name) => name.split(';')[0]?.trim() === mediaType);
    expect(
      media,
      `${where}: media type ${mediaType} not among ${Object.keys(content).join(', ')}`,
    ).toBeDefined();
    if (media === undefined) return;
    if (!('schema' in (content[media] as object))) return;
    const pointer = `/paths/${pointerPart(template)}/${method.toLowerCase()}/responses/${key}/content/${pointerPart(media)}/schema`;
    const validator = await this.#validator(pointer);
    const lines = /ndjson|jsonl/.test(media);
    const values: unknown[] = lines
      ? response.text
          .split('\n')
          .filter((line) => line !== '')
          .map((line) => JSON.parse(line))
      : [JSON.parse(response.text)];
    for (const value of values) {
      const result = validator(value as Json, BASIC);
      expect(
        result.valid,
        `${where}: body does not match ${pointer}: ${JSON.stringify(errorsOf(result)).slice(0, 1500)}`,
      ).toBe(true);
    }
  }
}
