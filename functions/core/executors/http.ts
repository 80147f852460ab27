/**
 * The `http` executor: a Skill bound to an HTTP resource granted to its tenant, with a request
 * template `{ method, path, query?, body? }` whose `{input.field}` placeholders take the run's input.
 *
 * At save the binding must name a resource granted to the tenant, a method inside its allowance and
 * write boundary, and a path template every substitution of which stays within its path patterns.
 * Resolution binds a run (and its approvals) to the resource's configuration version plus the
 * request template — never to the credential. Dispatch re-reads the resource: a revoked grant or a
 * configuration that changed since resolution ends the run with that reason (the job carries it to
 * the executor, so the run ends through the one recording path); otherwise the credential use is
 * audited in the public chain and the job goes to the fair `http-executions` queue (group = tenant).
 */
import { canonicalJson } from '../audit/chain.ts';
import { NotFoundError, ValidationError } from '../errors.ts';
import { sha256 } from '../hashing.ts';
import { HttpRequestRefusedError } from '../http-resources/errors.ts';
import { HTTP_QUEUE, type HttpJob, type HttpRequestTemplate } from '../http-resources/jobs.ts';
import {
  assertNoMethodOverride,
  HTTP_METHODS,
  type HttpResource,
  methodIssue,
  snapshotOf,
} from '../http-resources/model.ts';
import type { HttpResources } from '../http-resources/resources.ts';
import { checkPathTemplate, placeholdersIn, templateAllowed } from '../http-resources/templates.ts';
import type { Queues } from '../queues.ts';
import type { TenantContext } from '../tenancy/domain.ts';
import * as z from '../zod-mini.ts';
import { jobId } from './python-script.ts';
import {
  type AssetBinding,
  type DispatchRequest,
  type Executor,
  parseBindingOf,
  type ResolvedAsset,
} from './registry.ts';

/** Largest request template (serialised), body included. */
export const MAX_TEMPLATE_BYTES = 32 * 1024;

const binding = z.strictObject({
  kind: z.literal('http'),
  id: z.string().check(z.minLength(1), z.maxLength(64)),
  request: z.strictObject({
    method: z.enum(HTTP_METHODS),
    path: z.string().check(z.minLength(1), z.maxLength(2048)),
    query: z.optional(
      z.record(z.string().check(z.minLength(1), z.maxLength(128)), z.string().check(z.maxLength(2048))),
    ),
    body: z.optional(z.unknown()),
  }),
});

export type HttpBinding = z.output<typeof binding>;

export class HttpExecutor implements Executor {
  readonly kind = 'http';
  readonly #resources: HttpResources;
  readonly #queues: Queues;

  constructor(resources: HttpResources, queues: Queues) {
    this.#resources = resources;
    this.#queues = queues;
  }

  parseBinding(value: unknown): AssetBinding {
    const parsed = parseBindingOf('http', binding, value);
    const { request } = parsed;
    checkPathTemplate(request.path, 'asset.request.path');
    try {
      // The template's own names; a body that is one placeholder is checked again at run time.
      assertNoMethodOverride(request.query, request.body);
    } catch (error) {
      if (!(error instanceof HttpRequestRefusedError)) throw error;
      throw new ValidationError(
        'Invalid http binding',
        error.issues.map((issue) => ({ path: `asset.request.${issue.path}`, message: issue.message })),
      );
    }
    if (request.body !== undefined && (request.method === 'GET' || request.method === 'HEAD')) {
      throw new ValidationError('Invalid http binding', [
        { path: 'asset.request.body', message: `a ${request.method} request has no body` },
      ]);
    }
    if (Buffer.byteLength(JSON.stringify(request), 'utf8') > MAX_TEMPLATE_BYTES) {
      throw new ValidationError('Invalid http binding', [
        { path: 'asset.request', message: `at most ${MAX_TEMPLATE_BYTES} bytes` },
      ]);
    }
    return parsed;
  }

  async validateBinding(domain: TenantContext, value: AssetBinding): Promise<void> {
    const { id, request } = value as HttpBinding;
    let resource: HttpResource;
    try {
      resource = await this.#resources.forTenant(domain, id);
    } catch (cause) {
      if (!(cause instanceof NotFoundError)) throw cause;
      throw new ValidationError(
        cause.message,
        [{ path: 'asset.id', message: 'not granted to this tenant' }],
        {
          cause,
        },
      );
    }
    const methodProblem = methodIssue(resource, request.method);
    if (methodProblem !== null) {
      throw new ValidationError('The request is outside what the HTTP resource allows', [
        { path: 'asset.request.method', message: methodProblem },
      ]);
    }
    if (!templateAllowed(resource.paths, request.path)) {
      throw new ValidationError('The request is outside what the HTTP resource allows', [
        {
          path: 'asset.request.path',
          message:
            placeholdersIn(request.path).length > 0
              ? 'outside the paths this resource allows (a placeholder must fill a whole * segment)'
              : 'outside the paths this resource allows',
        },
      ]);
    }
  }

  async resolve(domain: TenantContext, value: AssetBinding): Promise<ResolvedAsset> {
    const { id, request } = value as HttpBinding;
    const resource = await this.#resources.forTenant(domain, id);
    return { kind: this.kind, id, version: resource.version, sha256: resolutionHash(resource, request) };
  }

  async dispatch(domain: TenantContext, request: DispatchRequest): Promise<void> {
    const template = (request.binding as HttpBinding).request;
    const resource = await this.#resources.forTenant(domain, request.asset.id).catch((error: unknown) => {
      if (error instanceof NotFoundError) return null;
      throw error;
    });
    let refused: HttpJob['refused'];
    if (resource === null) {
      refused = {
        type: 'HttpResourceNotGranted',
        message: 'The HTTP resource is no longer available to this tenant',
      };
    } else if (
      resource.version !== Number(request.asset.version) ||
      resolutionHash(resource, template) !== request.asset.sha256
    ) {
      refused = {
        type: 'HttpResourceChanged',
        message: 'The HTTP resource changed after the run was requested; request the run again',
      };
    }
    if (resource !== null && refused === undefined) {
      await this.#resources.recordCredentialUse(domain, {
        resourceId: resource.id,
        executionId: request.executionId,
        skillId: request.skillId,
        resourceVersion: resource.version,
      });
    }
    await this.#send(domain, request, template, resource, refused);
  }

  async #send(
    domain: TenantContext,
    request: DispatchRequest,
    template: HttpRequestTemplate,
    resource: HttpResource | null,
    refused: HttpJob['refused'],
  ): Promise<void> {
    const job: HttpJob = {
      kind: 'http',
      jobId: jobId(domain.tenant.id, request.executionId),
      executionId: request.executionId,
      tenantId: domain.tenant.id,
      skillId: request.skillId,
      ...(resource === null ? {} : { resource: snapshotOf(resource) }),
      request: template,
      input: request.input,
      limits: { timeoutSeconds: request.limits.timeoutSeconds },
      requestedAt: request.requestedAt,
      ...(refused === undefined ? {} : { refused }),
    };
    await this.#queues.send(HTTP_QUEUE, job, domain.tenant.id);
  }
}

/** What a run and its approvals bind to: the configuration version and the request template. */
export function resolutionHash(resource: HttpResource, request: HttpRequestTemplate): string {
  return sha256(
    canonicalJson({ resource: resource.id, version: resource.version, config: resource.configHash, request }),
  );
}
