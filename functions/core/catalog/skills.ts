/**
 * The Skill catalogue of a tenant. A Skill is what users (and agents) see: name, input/output
 * JSON Schema, risk, approval rule, visibility, its binding to an execution asset and its limits.
 * Every save writes an immutable revision (executions record the revision they ran, so the output is
 * checked against the schema of that revision), then moves the head with a conditional write.
 */

import { createHash } from 'node:crypto';
import type { AuditLog } from '../audit/chain.ts';
import { canonicalJson } from '../audit/chain.ts';
import {
  type AvailabilityState,
  type OnUnavailable,
  stateChangeDetails,
  stateReason,
  stateVerb,
} from '../availability.ts';
import { BoundedCache } from '../cache.ts';
import type { Table } from '../db.ts';
import { ConflictError, type FieldIssue, NotFoundError, unlessNotFound, ValidationError } from '../errors.ts';
import type { AssetBinding, ExecutionLimits, ExecutorRegistry } from '../executors/registry.ts';
import { PARAMETER_KEY_PATTERN } from '../foundation/parameters.ts';
import type { Caller } from '../identity/caller.ts';
import { randomId } from '../ids.ts';
import type { TenantContext } from '../tenancy/domain.ts';
import { assertHttpAssetsAllowed } from '../tenancy/quotas.ts';
import { CatalogCache, type CatalogCacheOptions } from './catalog-cache.ts';
import {
  APPROVAL_COUNT,
  type ApprovalRule,
  defaultApproval,
  LIMIT_BOUNDS,
  MAX_EGRESS,
  MAX_SKILL_COLLECTIONS,
  MAX_SKILL_PARAMETERS,
  MAX_SKILL_TAGS,
  MIN_APPROVALS,
  type Risk,
  SKILL_TAG_PATTERN,
} from './rules.ts';
import { assertValidSchema, type JsonSchema, schemaIssues } from './schemas.ts';
import { SkillRepository, skillRevisionKey } from './skill-repository.ts';

export const SKILL_ID_PATTERN = /^skl-[a-z0-9]{12}$/;

export interface SkillDefinition {
  readonly name: string;
  readonly description: string;
  readonly inputSchema: JsonSchema;
  readonly outputSchema: JsonSchema;
  readonly risk: Risk;
  readonly approval: ApprovalRule;
  /** Roles that may see and run the Skill; empty: every role holding `skill:read`. */
  readonly visibility: { readonly roles: readonly string[] };
  /** Labels grouping Skills (not part of what approvals bind to: they change no run). */
  readonly tags: readonly string[];
  readonly asset: AssetBinding;
  readonly limits: ExecutionLimits;
  /**
   * HTTP resources (ids) the Skill's script may call through `ctx.http`; absent when none. Part of
   * the definition hash, so approvers approve what a run may reach.
   */
  readonly egress?: readonly string[];
  /**
   * Collections of the tenant's extension data the script may use through `ctx.data`, and tenant
   * parameters it may read through `ctx.params`; absent when none. Both are part of the definition
   * hash, so approvers approve what a run may read and write.
   */
  readonly collections?: readonly string[];
  readonly parameters?: readonly string[];
  readonly provenance?: Readonly<Record<string, unknown>>;
}

export interface Skill extends SkillDefinition {
  readonly id: string;
  readonly revision: number;
  /** `active`, or `disabled` / `archived` (runs refused; see availability.ts). Not part of a revision. */
  readonly state: AvailabilityState;
  readonly stateChangedAt?: string;
  readonly stateChangedBy?: string;
  readonly stateReason?: string;
  /** Hash of the definition (what approvals bind to, with the asset version). */
  readonly definitionHash: string;
  readonly createdAt: string;
  readonly updatedAt: string;
  readonly createdBy: string;
  readonly updatedBy: string;
}

export interface SkillInput {
  readonly name: string;
  readonly description?: string;
  readonly inputSchema: unknown;
  readonly outputSchema: unknown;
  readonly risk: Risk;
  readonly approval?: ApprovalRule;
  readonly visibility?: { readonly roles: readonly string[] };
  readonly tags?: readonly string[];
  readonly asset: unknown;
  readonly limits?: Partial<ExecutionLimits>;
  readonly egress?: readonly string[];
  readonly collections?: readonly string[];
  readonly parameters?: readonly string[];
  readonly provenance?: Record<string, unknown>;
}

/** Checks that every resource a Skill declares is granted to the tenant; throws ValidationError. */
export type EgressCheck = (domain: TenantContext, resourceIds: readonly string[]) => Promise<void>;

/** Checks that every collection a Skill declares exists in the tenant; throws ValidationError. */
export type CollectionCheck = (domain: TenantContext, names: readonly string[]) => Promise<void>;

const DEFINITION_FIELDS = [
  'name',
  'description',
  'inputSchema',
  'outputSchema',
  'risk',
  'approval',
  'visibility',
  'asset',
  'limits',
  // Absent (not hashed) on Skills that declare none, so their hashes did not change when they came.
  'egress',
  'collections',
  'parameters',
] as const;

export function definitionHash(definition: SkillDefinition): string {
  const picked: Record<string, unknown> = {};
  for (const field of DEFINITION_FIELDS) picked[field] = definition[field];
  return createHash('sha256').update(canonicalJson(picked), 'utf8').digest('hex');
}

/** Whether a caller may see (and, with `skill:run`, run) a Skill. */
export function canSee(
  caller: Pick<Caller, 'permissions' | 'roles'>,
  skill: Pick<Skill, 'visibility'>,
): boolean {
  if (caller.permissions.has('skill:manage')) return true;
  if (!caller.permissions.has('skill:read')) return false;
  const roles = skill.visibility.roles;
  return roles.length === 0 || roles.some((role) => caller.roles.includes(role));
}

export interface SkillCatalogOptions {
  readonly table: Table;
  readonly audit: AuditLog;
  readonly executors: ExecutorRegistry;
  readonly now?: () => Date;
  /** Called after a Skill's definition changed (pending approvals bound to it are re-checked). */
  readonly onChanged?: (domain: TenantContext, skillId: string, actor: string) => Promise<void>;
  /** Called after a Skill was disabled or archived (its runs not started are withdrawn). */
  readonly onUnavailable?: OnUnavailable;
  /** Checks a Skill's egress declaration. @default every declaration is refused */
  readonly egressCheck?: EgressCheck;
  /** Checks a Skill's collections. @default every declaration is refused */
  readonly collectionCheck?: CollectionCheck;
  /**
   * The plan's count of Skills a tenant keeps (tenancy/quotas.ts): a place is taken before a Skill
   * is created or restored from the archive, and given back when it is archived.
   * @default no count
   */
  readonly quota?: SkillQuota;
  /** The list reads' per-process cache (catalog-cache.ts): its lifetime, bounds and clock. @default its defaults */
  readonly cache?: Omit<CatalogCacheOptions, 'table' | 'read'>;
}

/** What a list read accepts of the catalogue cache. */
export interface ListOptions {
  /**
   * Archived Skills too (their runs stay readable: run listings ask for them). Left out unless true;
   * a list read given no options at all includes them.
   */
  readonly includeArchived?: boolean;
  /**
   * How old a catalogue the caller accepts, capped at the cache's lifetime (CATALOG_MAX_AGE_MS);
   * 0 reads the store now (a request's `Cache-Control: no-cache`). @default the cache's lifetime
   */
  readonly maxAgeMs?: number;
}

/** Skill revisions never change once written: the recorder checks outputs without reading one again. */
const REVISIONS = new BoundedCache<string, Skill>({
  maxEntries: 512,
  maxBytes: 4 * 1024 * 1024,
  sizeOf: (skill) => JSON.stringify(skill).length,
});

/** The part of the plan quotas the catalogue uses. */
export interface SkillQuota {
  reserveSkill(domain: TenantContext, skillId: string): Promise<{ release(): Promise<void> }>;
  releaseSkill(domain: TenantContext, skillId: string): Promise<void>;
}

const NO_QUOTA: SkillQuota = {
  reserveSkill: async () => ({ release: async () => undefined }),
  releaseSkill: async () => undefined,
};

export class SkillCatalog {
  readonly #store: SkillRepository;
  readonly #audit: AuditLog;
  readonly #executors: ExecutorRegistry;
  readonly #now: () => Date;
  readonly #onChanged: NonNullable<SkillCatalogOptions['onChanged']>;
  readonly #onUnavailable: OnUnavailable;
  readonly #egressCheck: EgressCheck;
  readonly #collectionCheck: CollectionCheck;
  readonly #quota: SkillQuota;
  readonly #listed: CatalogCache;

  constructor(options: SkillCatalogOptions) {
    this.#quota = options.quota ?? NO_QUOTA;
    this.#store = new SkillRepository(options.table);
    this.#listed = new CatalogCache({
      ...options.cache,
      table: options.table,
      read: async (domain) => {
        const skills: Skill[] = [];
        for await (const skill of this.#store.all(domain)) skills.push(skill);
        return skills;
      },
    });
    this.#audit = options.audit;
    this.#executors = options.executors;
    this.#now = options.now ?? (() => new Date());
    this.#onChanged = options.onChanged ?? (async () => undefined);
    this.#onUnavailable = options.onUnavailable ?? (async () => undefined);
    this.#egressCheck =
      options.egressCheck ??
      (async () => {
        throw new ValidationError('This deployment grants no egress', [
          { path: 'egress', message: 'no HTTP resources can be declared here' },
        ]);
      });
    this.#collectionCheck =
      options.collectionCheck ??
      (async () => {
        throw new ValidationError('This deployment keeps no extension data', [
          { path: 'collections', message: 'no collections can be declared here' },
        ]);
      });
  }

  async create(
    domain: TenantContext,
    input: SkillInput,
    actor: Pick<Caller, 'username' | 'via'>,
  ): Promise<Skill> {
    const definition = await this.#definition(domain, input);
    const id = randomId('skl');
    const now = this.#now().toISOString();
    const skill: Skill = {
      ...definition,
      id,
      revision: 1,
      state: 'active',
      definitionHash: definitionHash(definition),
      createdAt: now,
      updatedAt: now,
      createdBy: actor.username,
      updatedBy: actor.username,
    };
    // The plan's place first: a Skill over the plan's count is never written.
    const place = await this.#quota.reserveSkill(domain, id);
    try {
      await this.#store.putRevision(domain, skill);
      await this.#store.create(domain, skill);
    } catch (error) {
      await place.release();
      throw error;
    }
    await this.#audit.record(domain, {
      actor: { username: actor.username, via: actor.via },
      action: 'skill.created',
      target: `skill:${id}`,
      details: {
        name: skill.name,
        revision: 1,
        risk: skill.risk,
        approval: skill.approval,
        asset: skill.asset,
        ...(skill.egress === undefined ? {} : { egress: skill.egress }),
        ...(skill.collections === undefined ? {} : { collections: skill.collections }),
        ...(skill.parameters === undefined ? {} : { parameters: skill.parameters }),
      },
    });
    return skill;
  }

  /** Replaces the definition; `expectedRevision`, when given, guards against lost updates. */
  async update(
    domain: TenantContext,
    id: string,
    input: SkillInput,
    actor: Pick<Caller, 'username' | 'via'>,
    expectedRevision?: number,
  ): Promise<Skill> {
    const current = await this.get(domain, id);
    if (expectedRevision !== undefined && expectedRevision !== current.revision) {
      throw new ConflictError(`Skill ${id} is at revision ${current.revision}, not ${expectedRevision}`);
    }
    const definition = await this.#definition(domain, input);
    // What a run may reach is what this definition declares: a declaration it leaves out is gone,
    // not kept from the revision before (the definition holds none of the three when empty).
    const { egress: _egress, collections: _collections, parameters: _parameters, ...kept } = current;
    const skill: Skill = {
      ...kept,
      ...definition,
      revision: current.revision + 1,
      definitionHash: definitionHash(definition),
      updatedAt: this.#now().toISOString(),
      updatedBy: actor.username,
    };
    await this.#store.putRevision(domain, skill);
    await this.#store.replace(domain, skill, current.revision);
    await this.#audit.record(domain, {
      actor: { username: actor.username, via: actor.via },
      action: 'skill.updated',
      target: `skill:${id}`,
      details: {
        revision: skill.revision,
        definitionHash: skill.definitionHash,
        asset: skill.asset,
        ...(skill.egress === undefined ? {} : { egress: skill.egress }),
        ...(skill.collections === undefined ? {} : { collections: skill.collections }),
        ...(skill.parameters === undefined ? {} : { parameters: skill.parameters }),
      },
    });
    await this.#onChanged(domain, id, actor.username);
    return skill;
  }

  /** Disables, archives or restores a Skill (idempotent; audited when it changes). */
  async setState(
    domain: TenantContext,
    id: string,
    state: AvailabilityState,
    actor: Pick<Caller, 'username' | 'via'>,
    reason = '',
  ): Promise<Skill> {
    const current = await this.get(domain, id);
    if (current.state === state) return current;
    const now = this.#now().toISOString();
    const note = stateReason(reason);
    // Out of the archive takes a place in the plan's count again; into it gives one back (below).
    const place =
      current.state === 'archived'
        ? await this.#quota.reserveSkill(domain, id)
        : { release: async () => undefined };
    let changed: Skill;
    try {
      changed = await this.#store.setState(domain, id, current.state, state, {
        at: now,
        by: actor.username,
        reason: note,
      });
    } catch (error) {
      // A place taken for a restore is given back only if the Skill is still archived.
      if ((await unlessNotFound(this.get(domain, id)))?.state === 'archived') await place.release();
      throw error;
    }
    if (state === 'archived') await this.#quota.releaseSkill(domain, id);
    await this.#audit.record(domain, {
      actor: { username: actor.username, via: actor.via },
      action: `skill.${stateVerb(state)}`,
      target: `skill:${id}`,
      details: stateChangeDetails(current.name, current.state, state, note),
    });
    if (state !== 'active') {
      await this.#onUnavailable(domain, { subject: 'Skill', id, name: current.name, state }, actor.username);
    }
    return changed;
  }

  async get(domain: TenantContext, id: string): Promise<Skill> {
    if (!SKILL_ID_PATTERN.test(id)) throw new NotFoundError(`Skill ${id} not found`);
    const skill = await this.#store.head(domain, id);
    if (skill === null) throw new NotFoundError(`Skill ${id} not found`);
    return skill;
  }

  /** A Skill as a caller may see it: hidden Skills are reported as missing, not forbidden. */
  async getVisible(domain: TenantContext, caller: Caller, id: string): Promise<Skill> {
    const skill = await this.get(domain, id);
    if (!canSee(caller, skill)) throw new NotFoundError(`Skill ${id} not found`);
    return skill;
  }

  async revision(domain: TenantContext, id: string, revision: number): Promise<Skill> {
    const key = skillRevisionKey(domain, id, revision);
    const cacheKey = `${key.PK}\n${key.SK}`;
    const cached = REVISIONS.get(cacheKey);
    if (cached !== undefined) return cached;
    const stored = await this.#store.revision(domain, id, revision);
    if (stored === null) throw new NotFoundError(`Revision ${revision} of skill ${id} not found`);
    const found = Object.freeze(stored);
    REVISIONS.set(cacheKey, found);
    return found;
  }

  /**
   * Every Skill of the tenant, whoever may see it (bounded; read in pages), from the store: for the
   * rules that count or check Skills (the plan's count, a collection in use), never cached.
   */
  async *all(domain: TenantContext): AsyncGenerator<Skill> {
    yield* this.#store.all(domain);
  }

  /**
   * The ids of the tenant's other Skills named `name`, archived ones left out: the ones `execfabric
   * push` would find beside it and could not tell apart. Only Skill managers are told (they see every
   * Skill), so no id leaks to someone the Skill is hidden from.
   */
  async namesakes(domain: TenantContext, name: string, exceptId: string): Promise<string[]> {
    const ids: string[] = [];
    for await (const skill of this.#store.all(domain)) {
      if (skill.name === name && skill.id !== exceptId && skill.state !== 'archived') ids.push(skill.id);
    }
    return ids;
  }

  /**
   * Every Skill the caller may see, by name, for a list (the catalogue, MCP `tools/list`, the run
   * history's filter): from the per-process catalogue cache (catalog-cache.ts), filtered for the
   * caller after it. Archived Skills are left out unless asked for. Never for a decision about a
   * run or an approval: those read the Skill's head (`get`).
   */
  async listVisible(
    domain: TenantContext,
    caller: Caller,
    options: ListOptions = { includeArchived: true },
  ): Promise<Skill[]> {
    const catalogue = await this.#listed.skills(domain, options.maxAgeMs);
    return catalogue.filter(
      (skill) => canSee(caller, skill) && (skill.state !== 'archived' || options.includeArchived === true),
    );
  }

  /** Input problems against the Skill's input schema (empty when valid). */
  inputIssues(domain: TenantContext, skill: Skill, input: unknown): Promise<FieldIssue[]> {
    return schemaIssues(
      `${domain.tenant.id}/${skill.id}@${skill.revision}/in`,
      skill.inputSchema,
      input,
      'input.',
    );
  }

  outputIssues(domain: TenantContext, skill: Skill, output: unknown): Promise<FieldIssue[]> {
    return schemaIssues(
      `${domain.tenant.id}/${skill.id}@${skill.revision}/out`,
      skill.outputSchema,
      output,
      'output.',
    );
  }

  async #definition(domain: TenantContext, input: SkillInput): Promise<SkillDefinition> {
    await assertValidSchema(input.inputSchema, 'inputSchema');
    await assertValidSchema(input.outputSchema, 'outputSchema');
    const approval = input.approval ?? defaultApproval(input.risk);
    if (APPROVAL_COUNT[approval] < MIN_APPROVALS[input.risk]) {
      throw new ValidationError(
        `A ${input.risk}-risk Skill needs at least ${MIN_APPROVALS[input.risk]} approvals`,
        [{ path: 'approval', message: `at least ${MIN_APPROVALS[input.risk]} for risk ${input.risk}` }],
      );
    }
    const limits: ExecutionLimits = {
      timeoutSeconds: input.limits?.timeoutSeconds ?? LIMIT_BOUNDS.timeoutSeconds.default,
      memoryMb: input.limits?.memoryMb ?? LIMIT_BOUNDS.memoryMb.default,
    };
    for (const key of ['timeoutSeconds', 'memoryMb'] as const) {
      const bounds = LIMIT_BOUNDS[key];
      if (!Number.isInteger(limits[key]) || limits[key] < bounds.min || limits[key] > bounds.max) {
        throw new ValidationError(`limits.${key} is out of bounds`, [
          { path: `limits.${key}`, message: `an integer from ${bounds.min} to ${bounds.max}` },
        ]);
      }
    }
    const tags = [...new Set(input.tags ?? [])];
    const badTag = tags.findIndex((tag) => !SKILL_TAG_PATTERN.test(tag));
    if (badTag >= 0 || tags.length > MAX_SKILL_TAGS) {
      throw new ValidationError('Invalid tags', [
        badTag >= 0
          ? {
              path: `tags.${badTag}`,
              message: 'a-z, 0-9 and hyphens, 1-40 characters, starting with a letter or digit',
            }
          : { path: 'tags', message: `at most ${MAX_SKILL_TAGS} tags` },
      ]);
    }
    const asset = this.#executors.parseBinding(input.asset);
    // A plan without HTTP resources refuses them before anything is looked up (403, not a 404).
    if (asset.kind === 'http')
      assertHttpAssetsAllowed(domain.tenant.plan, 'a Skill bound to an HTTP resource');
    if ((input.egress ?? []).length > 0)
      assertHttpAssetsAllowed(domain.tenant.plan, 'calling HTTP resources from a script (egress)');
    const executor = this.#executors.get(asset.kind);
    await executor.validateBinding(domain, asset);
    const egress = [...new Set(input.egress ?? [])];
    if (egress.length > MAX_EGRESS) {
      throw new ValidationError('Too many egress resources', [
        { path: 'egress', message: `at most ${MAX_EGRESS} resources` },
      ]);
    }
    if (egress.length > 0) {
      if (executor.runsScripts !== true) {
        throw new ValidationError(`A Skill bound to a ${asset.kind} asset runs no script to call resources`, [
          { path: 'egress', message: 'only Skills that run a script declare egress' },
        ]);
      }
      await this.#egressCheck(domain, egress);
    }
    const collections = [...new Set(input.collections ?? [])];
    const parameters = [...new Set(input.parameters ?? [])];
    if (collections.length > MAX_SKILL_COLLECTIONS || parameters.length > MAX_SKILL_PARAMETERS) {
      throw new ValidationError('Too many declarations', [
        collections.length > MAX_SKILL_COLLECTIONS
          ? { path: 'collections', message: `at most ${MAX_SKILL_COLLECTIONS} collections` }
          : { path: 'parameters', message: `at most ${MAX_SKILL_PARAMETERS} parameters` },
      ]);
    }
    const badParameter = parameters.findIndex((key) => !PARAMETER_KEY_PATTERN.test(key));
    if (badParameter >= 0) {
      throw new ValidationError('Invalid parameter key', [
        { path: `parameters.${badParameter}`, message: 'a letter, then letters, digits, _ . - (max 64)' },
      ]);
    }
    if ((collections.length > 0 || parameters.length > 0) && executor.runsScripts !== true) {
      throw new ValidationError(`A Skill bound to a ${asset.kind} asset runs no script to use data`, [
        {
          path: collections.length > 0 ? 'collections' : 'parameters',
          message: 'only Skills that run a script declare collections and parameters',
        },
      ]);
    }
    if (collections.length > 0) await this.#collectionCheck(domain, collections);
    return {
      name: input.name,
      description: input.description ?? '',
      inputSchema: input.inputSchema as JsonSchema,
      outputSchema: input.outputSchema as JsonSchema,
      risk: input.risk,
      approval,
      visibility: { roles: [...new Set(input.visibility?.roles ?? [])] },
      tags: tags.sort(),
      asset,
      limits,
      ...(egress.length === 0 ? {} : { egress }),
      ...(collections.length === 0 ? {} : { collections: collections.sort() }),
      ...(parameters.length === 0 ? {} : { parameters: parameters.sort() }),
      ...(input.provenance === undefined ? {} : { provenance: input.provenance }),
    };
  }
}
