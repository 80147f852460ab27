/**
 * HTTP resources, governed from the public domain: their configuration (versioned; every change
 * audited with what changed), the tenants they are granted to, their credential (stored behind the
 * credential-store port, rotated with the previous version kept until the new one has worked), and
 * trial runs by super-admins. Tenants read only summaries of what they were granted, and resolve a
 * resource only through their own grant. No method returns, logs or audits a credential value.
 */
import type { TrialResult as TrialResultAnswer } from '../../contract/responses.ts';
import type { AuditLog } from '../audit/chain.ts';
import { SYSTEM_ACTOR } from '../audit/chain.ts';
import { type AvailabilityState, stateChangeDetails, stateReason, stateVerb } from '../availability.ts';
import type { Table } from '../db.ts';
import { ConflictError, ForbiddenError, NotFoundError, ValidationError } from '../errors.ts';
import { type Acting, recordPublic } from '../governance/acting.ts';
import { PUBLIC_DOMAIN } from '../governance/keys.ts';
import { randomId } from '../ids.ts';
import type { Page } from '../pagination.ts';
import { CredentialMissingError, type CredentialStore, type PreviousPolicy } from '../secrets/store.ts';
import type { TenantContext } from '../tenancy/domain.ts';
import { readTenantSummary } from '../tenancy/hosts.ts';
import { planLimits } from '../tenancy/plans.ts';
import { runErrorType } from './errors.ts';
import type { EgressUse } from './jobs.ts';
import {
  assertNoMethodOverride,
  assertRequestAllowed,
  type CredentialState,
  configHash,
  configOf,
  credentialIssue,
  type HttpMethod,
  type HttpResource,
  type HttpResourceConfig,
  type HttpResourceInput,
  RESOURCE_ID_PATTERN,
  validateConfig,
} from './model.ts';
import type { OutboundResponse, Resolver } from './outbound.ts';
import { HttpResourceRepository } from './resource-repository.ts';

export interface HttpResourcesOptions {
  readonly table: Table;
  readonly audit: AuditLog;
  readonly credentials: CredentialStore;
  /** Whether this deployment honours `localDevelopment` resources. @default false */
  readonly allowLocalDevelopment?: boolean;
  readonly now?: () => Date;
  /** Name resolution for trial runs. @default the system resolver */
  readonly resolver?: Resolver;
  /** Called after a change that can affect runs of the given tenants (pending approvals are re-checked). */
  readonly onChanged?: (tenantIds: readonly string[], resourceId: string, actor: string) => Promise<void>;
}

/**
 * What a tenant sees of a resource granted to it: what its Skills and scripts may ask of it, never
 * where it is (base URL, addresses) nor how it signs in (auth scheme, credential).
 */
export interface HttpResourceSummary {
  readonly id: string;
  readonly name: string;
  readonly description: string;
  readonly methods: readonly HttpMethod[];
  /**
   * The path patterns a request must match, relative to the base URL. Not secret: saving a Skill
   * outside them is refused with that reason, and an author needs them to write one that is not.
   */
  readonly paths: readonly string[];
  /** Whether Skills bound to it may run now (the platform may disable or archive it). */
  readonly state: AvailabilityState;
}

export interface TrialRequest {
  readonly method: HttpMethod;
  readonly path: string;
  readonly query?: Readonly<Record<string, string>>;
  readonly body?: unknown;
}

/** A trial's answer as the API gives it, with the redirects followed and the credential it tried. */
export interface TrialResult extends TrialResultAnswer {
  readonly redirects: number;
  readonly credential: { readonly version: string; readonly confirmed: boolean };
}

export type HttpResourcePatch = Partial<HttpResourceInput>;

/** A resource as the governance API shows it: everything but values (there are none to show). */
export function resourceView(resource: HttpResource) {
  const { credential, ...rest } = resource;
  return {
    ...rest,
    credential:
      credential === undefined
        ? { configured: false }
        : {
            configured: true,
            version: credential.current,
            confirmed: credential.confirmed,
            previousKept: credential.previous !== undefined,
            ...(credential.previous === undefined ? {} : { previousVersion: credential.previous }),
            rotatedAt: credential.rotatedAt,
            rotatedBy: credential.rotatedBy,
            ...(credential.confirmedAt === undefined ? {} : { confirmedAt: credential.confirmedAt }),
          },
  };
}

function parseBody(text: string, contentType: string | undefined): unknown {
  if (text === '') return null;
  if (/json/i.test(contentType ?? '')) {
    try {
      return JSON.parse(text);
    } catch {
      return text;
    }
  }
  return text;
}

export class HttpResources {
  readonly #table: Table;
  readonly #store: HttpResourceRepository;
  readonly #audit: AuditLog;
  readonly #credentials: CredentialStore;
  readonly #allowLocalDevelopment: boolean;
  readonly #now: () => Date;
  readonly #resolver: Resolver | undefined;
  readonly #onChanged: NonNullable<HttpResourcesOptions['onChanged']>;

  constructor(options: HttpResourcesOptions) {
    this.#table = options.table;
    this.#store = new HttpResourceRepository(options.table);
    this.#audit = options.audit;
    this.#credentials = options.credentials;
    this.#allowLocalDevelopment = options.allowLocalDevelopment ?? false;
    this.#now = options.now ?? (() => new Date());
    this.#resolver = options.resolver;
    this.#onChanged = options.onChanged ?? (async () => undefined);
  }

  get allowLocalDevelopment(): boolean {
    return this.#allowLocalDevelopment;
  }

  // ── configuration ─────────────────────────────────────────────────────────────────────────

  async create(input: HttpResourceInput, by: Acting): Promise<HttpResource> {
    const config = validateConfig(input, { allowLocalDevelopment: this.#allowLocalDevelopment });
    const now = this.#now().toISOString();
    const resource: HttpResource = {
      ...config,
      id: randomId('hr'),
      state: 'active',
      version: 1,
      configHash: configHash(config),
      grants: [],
      createdAt: now,
      createdBy: by.actor.username,
      updatedAt: now,
      updatedBy: by.actor.username,
    };
    await this.#store.create(resource);
    await recordPublic(this.#audit, by, 'http-resource.created', `http-resource:${resource.id}`, {
      version: 1,
      config: configOf(config),
    });
    return resource;
  }

  async get(id: string): Promise<HttpResource> {
    const found = await this.#find(id);
    if (found === null) throw new NotFoundError(`HTTP resource ${id} not found`);
    return found;
  }

  async list(limit: number, cursor?: string): Promise<Page<HttpResource>> {
    return this.#store.page(limit, cursor);
  }

  /** Changes the configuration; `expectedVersion`, when given, guards against lost updates. */
  async update(
    id: string,
    patch: HttpResourcePatch,
    by: Acting,
    expectedVersion?: number,
  ): Promise<HttpResource> {
    const current = await this.get(id);
    if (expectedVersion !== undefined && expectedVersion !== current.version) {
      throw new ConflictError(`HTTP resource ${id} is at version ${current.version}, not ${expectedVersion}`);
    }
    const merged: HttpResourceInput = { ...configOf(current), ...patch };
    const config = validateConfig(merged, { allowLocalDevelopment: this.#allowLocalDevelopment });
    const hash = configHash(config);
    if (hash === current.configHash) return current;
    const before = configOf(current) as unknown as Record<string, unknown>;
    const after = config as unknown as Record<string, unknown>;
    const changed = Object.keys(after).filter(
      (field) => JSON.stringify(before[field]) !== JSON.stringify(after[field]),
    );
    const updated = await this.#store.reconfigure(id, current.version, {
      hash,
      changed: Object.fromEntries(changed.map((field) => [field, after[field]])),
      at: this.#now().toISOString(),
      by: by.actor.username,
    });
    await recordPublic(this.#audit, by, 'http-resource.updated', `http-resource:${id}`, {
      version: updated.version,
      changed: Object.fromEntries(
        changed.map((field) => [field, { before: before[field], after: after[field] }]),
      ),
    });
    await this.#onChanged(updated.grants, id, by.actor.username);
    return updated;
  }

  /**
   * Disables, archives or restores a resource (idempotent; audited in the public chain). Runs of
   * the tenants' Skills bound to it are refused while it is not active.
   */
  async setState(id: string, state: AvailabilityState, by: Acting, reason = ''): Promise<HttpResource> {
    const current = await this.get(id);
    if (current.state === state) return current;
    const note = stateReason(reason);
    const updated = await this.#store.setState(id, state, {
      at: this.#now().toISOString(),
      by: by.actor.username,
      reason: note,
    });
    await recordPublic(
      this.#audit,
      by,
      `http-resource.${stateVerb(state)}`,
      `http-resource:${id}`,
      stateChangeDetails(current.name, current.state, state, note),
    );
    return updated;
  }

  // ── grants ──────────────────────────────────────────────────────────────────────────────

  /** Grants the resource to tenants (each must exist); granting twice is harmless. */
  async grant(id: string, tenantIds: readonly string[], by: Acting): Promise<HttpResource> {
    const resource = await this.get(id);
    const wanted = [...new Set(tenantIds)];
    const domains: TenantContext[] = [];
    const unknown: string[] = [];
    for (const tenantId of wanted) {
      const tenant = await readTenantSummary(this.#table, tenantId, true);
      if (tenant === null) unknown.push(tenantId);
      else domains.push({ kind: 'tenant', host: '', tenant });
    }
    if (unknown.length > 0) {
      throw new ValidationError(
        'Unknown tenants',
        unknown.map((tenantId) => ({ path: 'tenantIds', message: `no tenant ${tenantId}` })),
      );
    }
    // A plan without HTTP resources (the free personal edition) is never granted one.
    const withoutHttp = domains.filter((domain) => !planLimits(domain.tenant.plan).httpAssets);
    if (withoutHttp.length > 0) {
      throw new ValidationError(
        'These tenants’ plans have no HTTP resources',
        withoutHttp.map((domain) => ({
          path: 'tenantIds',
          message: `${domain.tenant.id} is on the ${domain.tenant.plan} plan, which has no HTTP resources`,
        })),
      );
    }
    const added = wanted.filter((tenantId) => !resource.grants.includes(tenantId));
    if (added.length === 0) return resource;
    const now = this.#now().toISOString();
    // Index items first, then the grant set (the authority): a crash leaves at worst an index item
    // that reads filter out, never a grant a tenant cannot see.
    for (const domain of domains.filter((item) => added.includes(item.tenant.id))) {
      await this.#store.putGrantIndex(domain, id, now, by.actor.username);
    }
    const updated = await this.#store.changeGrants(id, 'ADD', added);
    await recordPublic(this.#audit, by, 'http-resource.granted', `http-resource:${id}`, { tenantIds: added });
    return updated;
  }

  async revoke(id: string, tenantId: string, by: Acting): Promise<HttpResource> {
    const resource = await this.get(id);
    if (!resource.grants.includes(tenantId))
      throw new NotFoundError(`HTTP resource ${id} is not granted to ${tenantId}`);
    // The grant set first (runs stop resolving at once), then the index item.
    const updated = await this.#store.changeGrants(id, 'DELETE', [tenantId]);
    const tenant = await readTenantSummary(this.#table, tenantId, true);
    if (tenant !== null) await this.#store.deleteGrantIndex({ kind: 'tenant', host: '', tenant }, id);
    await recordPublic(this.#audit, by, 'http-resource.revoked', `http-resource:${id}`, {
      tenantIds: [tenantId],
    });
    await this.#onChanged([tenantId], id, by.actor.username);
    return updated;
  }

  // ── the tenant side ─────────────────────────────────────────────────────────────────────

  /** The resource as a tenant may use it: only through its grant (otherwise it does not exist). */
  async forTenant(domain: TenantContext, id: string): Promise<HttpResource> {
    // A grant made before the tenant moved to a plan without HTTP resources is not honoured.
    const resource =
      RESOURCE_ID_PATTERN.test(id) && planLimits(domain.tenant.plan).httpAssets ? await this.#find(id) : null;
    if (resource === null || !resource.grants.includes(domain.tenant.id)) {
      throw new NotFoundError(
        `HTTP resource ${id} is not available to this tenant (unknown, or not granted)`,
      );
    }
    return resource;
  }

  /** Summaries of the resources granted to a tenant: name, description, allowed methods and paths. */
  async summaries(domain: TenantContext): Promise<HttpResourceSummary[]> {
    const ids = await this.#store.grantedIds(domain);
    const resources = await Promise.all(ids.map((id) => this.#find(id)));
    return resources
      .filter((resource): resource is HttpResource => resource?.grants.includes(domain.tenant.id) === true)
      .map((resource) => ({
        id: resource.id,
        name: resource.name,
        description: resource.description,
        methods: resource.methods,
        paths: resource.paths,
        state: resource.state,
      }))
      .sort((a, b) => a.name.localeCompare(b.name));
  }

  /**
   * Audits, in the public chain, that a tenant's run is handed the credential of a resource. Written
   * before the job is queued, so no use goes unrecorded; the run's own record carries the outcome.
   */
  async recordCredentialUse(
    domain: TenantContext,
    use: { resourceId: string; executionId: string; skillId: string; resourceVersion: number },
  ): Promise<void> {
    await recordPublic(
      this.#audit,
      { actor: SYSTEM_ACTOR },
      'http-resource.credential.used',
      `http-resource:${use.resourceId}`,
      {
        tenantId: domain.tenant.id,
        executionId: use.executionId,
        skillId: use.skillId,
        resourceVersion: use.resourceVersion,
      },
    );
  }

  /** A Skill's egress declaration holds only resources granted to its tenant (422 otherwise). */
  async checkEgress(domain: TenantContext, ids: readonly string[]): Promise<void> {
    const issues = [];
    for (const [index, id] of ids.entries()) {
      try {
        await this.forTenant(domain, id);
      } catch (error) {
        if (!(error instanceof NotFoundError)) throw error;
        issues.push({
          path: `egress.${index}`,
          message: `${id} is not an HTTP resource granted to this tenant`,
        });
      }
    }
    if (issues.length > 0) throw new ValidationError('The Skill declares egress it is not granted', issues);
  }

  /**
   * The credential uses of a script's `ctx.http` calls, one public audit entry each, keyed by run,
   * call and the call's time, so recording a result twice writes them once. The entry is dated when
   * it is written (with the run's result, seconds after the call); the call's time is `usedAt`. A
   * call the run's end overtook is recorded all the same, `status: 0` with `inFlight: true`; one the
   * executor stopped unanswered (the run's deadline, the resource's timeout) with `timedOut: true`.
   */
  async recordEgressUses(
    domain: TenantContext,
    run: { executionId: string; skillId: string },
    uses: readonly EgressUse[],
  ): Promise<void> {
    for (const [index, use] of uses.entries()) {
      await this.#audit.record(
        PUBLIC_DOMAIN,
        {
          actor: SYSTEM_ACTOR,
          action: 'http-resource.credential.used',
          target: `http-resource:${use.resourceId}`,
          details: {
            tenantId: domain.tenant.id,
            executionId: run.executionId,
            skillId: run.skillId,
            resourceVersion: use.resourceVersion,
            via: 'ctx.http',
            method: use.method,
            path: use.path,
            status: use.status,
            // The run ended before the call's answer: the credential may have gone out, its end is unknown.
            ...(use.inFlight === true ? { inFlight: true } : {}),
            // Stopped unanswered by the executor, at the run's deadline or the resource's timeout.
            ...(use.timedOut === true ? { timedOut: true } : {}),
            usedAt: use.at,
          },
        },
        { key: `egress:${domain.tenant.id}:${run.executionId}:${index}:${use.at}` },
      );
    }
  }

  // ── credentials ─────────────────────────────────────────────────────────────────────────

  /**
   * Stores a new credential value as current. The previous version kept is the old current one if
   * that had worked (or nothing better exists); if the old current never worked, the older previous
   * stays — so a run can still fall back to the last version known to work.
   */
  async putCredential(id: string, value: string, by: Acting): Promise<void> {
    const resource = await this.get(id);
    const issue = credentialIssue(resource.auth, value);
    if (issue !== null)
      throw new ValidationError('Invalid credential value', [{ path: 'value', message: issue }]);
    const state = resource.credential;
    const policy: PreviousPolicy =
      state === undefined || state.confirmed || state.previous === undefined ? 'current' : 'unchanged';
    const versions = await this.#credentials.put(id, value, policy);
    const now = this.#now().toISOString();
    const next: CredentialState = {
      current: versions.current,
      ...(versions.previous === undefined ? {} : { previous: versions.previous }),
      confirmed: false,
      rotatedAt: now,
      rotatedBy: by.actor.username,
    };
    await this.#store.setCredential(id, next);
    await recordPublic(
      this.#audit,
      by,
      state === undefined ? 'http-resource.credential.set' : 'http-resource.credential.rotated',
      `http-resource:${id}`,
      {
        version: versions.current,
        previousKept: versions.previous ?? null,
        ...(state === undefined ? {} : { replaced: state.current, replacedHadWorked: state.confirmed }),
      },
    );
  }

  /** Forgets the previous version now (e.g. it leaked): runs can no longer fall back to it. */
  async dropPreviousCredential(id: string, by: Acting): Promise<void> {
    const resource = await this.get(id);
    const previous = resource.credential?.previous;
    if (previous === undefined) throw new NotFoundError(`HTTP resource ${id} keeps no previous credential`);
    await this.#credentials.dropPrevious(id);
    await this.#store.dropPreviousCredential(id);
    await recordPublic(this.#audit, by, 'http-resource.credential.previous-dropped', `http-resource:${id}`, {
      version: previous,
    });
  }

  /**
   * The current version worked: it is confirmed and the previous one is forgotten. A version that
   * is no longer current (rotated meanwhile) confirms nothing.
   */
  async confirmCredential(
    id: string,
    versionId: string,
    by: Acting = { actor: SYSTEM_ACTOR },
  ): Promise<boolean> {
    const resource = await this.#find(id);
    const state = resource?.credential;
    if (state === undefined || state.current !== versionId || state.confirmed) return false;
    const stored = await this.#credentials.versions(id);
    if (stored.current !== versionId) return false;
    if (stored.previous !== undefined) await this.#credentials.dropPrevious(id);
    if (!(await this.#store.confirmCredential(id, versionId, this.#now().toISOString()))) return false;
    await recordPublic(this.#audit, by, 'http-resource.credential.confirmed', `http-resource:${id}`, {
      version: versionId,
      previousDropped: stored.previous ?? null,
    });
    return true;
  }

  // ── trial runs ──────────────────────────────────────────────────────────────────────────

  /**
   * A super-admin's trial request with the current credential, from the public domain. The answer
   * shows the status, a subset of headers and the (capped) body, with every form of the credential
   * redacted; a 2xx answer confirms the current version. Audited with its outcome, never values.
   */
  async trial(
    id: string,
    request: TrialRequest,
    by: Acting & { readonly superAdmin: boolean },
  ): Promise<TrialResult> {
    if (!by.superAdmin) throw new ForbiddenError('Trial runs are for super-admins');
    const resource = await this.get(id);
    // Refused requests are refused before the credential is even read.
    assertRequestAllowed(resource, request.method, request.path);
    assertNoMethodOverride(request.query, request.body);
    const credential = await this.#credentials.read(id, 'current');
    if (credential === null)
      throw new CredentialMissingError(`HTTP resource ${id} has no credential yet; PUT one first`);
    // The outbound client (and node:http, node:https, node:dns) only where a trial is made: the
    // governance API, and only by a super-admin; the other functions that build this never load it.
    const { SHOWN_HEADERS, sendToResource } = await import('./outbound.ts');
    let response: OutboundResponse | undefined;
    let failure: Error | undefined;
    try {
      response = await sendToResource(
        { method: request.method, path: request.path, query: request.query ?? {}, body: request.body },
        {
          resource,
          credential: credential.value,
          allowLocalDevelopment: this.#allowLocalDevelopment,
          timeoutMs: resource.timeoutSeconds * 1000,
          oversize: 'truncate',
          ...(this.#resolver === undefined ? {} : { resolver: this.#resolver }),
        },
      );
    } catch (error) {
      failure = error as Error;
    }
    await recordPublic(this.#audit, by, 'http-resource.trial', `http-resource:${id}`, {
      method: request.method,
      path: request.path,
      credentialVersion: credential.versionId,
      resourceVersion: resource.version,
      ...(response === undefined
        ? { error: runErrorType(failure ?? new Error('unknown')) }
        : { status: response.status, redirects: response.redirects }),
    });
    if (response === undefined) throw failure ?? new Error('The trial failed');
    const ok = response.status >= 200 && response.status < 300;
    const confirmed = ok ? await this.confirmCredential(id, credential.versionId, by) : false;
    const headers: Record<string, string> = {};
    for (const name of SHOWN_HEADERS) {
      const value = response.headers[name];
      if (value !== undefined) headers[name] = value;
    }
    return {
      status: response.status,
      statusText: response.statusText,
      headers,
      body: response.truncated ? response.body : parseBody(response.body, response.headers['content-type']),
      truncated: response.truncated,
      bytes: response.bytes,
      redirects: response.redirects,
      durationMs: response.durationMs,
      credential: {
        version: credential.versionId,
        confirmed:
          confirmed ||
          (resource.credential?.current === credential.versionId && resource.credential.confirmed),
      },
    };
  }

  async #find(id: string): Promise<HttpResource | null> {
    if (!RESOURCE_ID_PATTERN.test(id)) return null;
    return this.#store.find(id);
  }
}

export type { HttpResourceConfig };
