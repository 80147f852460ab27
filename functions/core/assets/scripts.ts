/**
 * Python script assets: immutable, content-hashed versions and one active pointer. A hot update is
 * a new version plus a pointer move; a rollback is a pointer move back. Nothing is redeployed, and
 * an execution records the exact version (and hash) it runs, so moving the pointer never changes a
 * run already requested.
 *
 * Steps are ordered for a store without transactions: a version item is written (conditionally,
 * never overwritten) before anything points at it.
 */

import { createHash } from 'node:crypto';
import type { ScriptVersion as ScriptVersionAnswer } from '../../contract/responses.ts';
import type { AuditLog } from '../audit/chain.ts';
import {
  type AvailabilityState,
  type OnUnavailable,
  stateChangeDetails,
  stateReason,
  stateVerb,
} from '../availability.ts';
import { BoundedCache } from '../cache.ts';
import type { Table } from '../db.ts';
import { ConflictError, NotFoundError, PayloadTooLargeError, ValidationError } from '../errors.ts';
import type { Caller } from '../identity/caller.ts';
import { randomId } from '../ids.ts';
import { MAX_PAGE_SIZE, type Page } from '../pagination.ts';
import type { TenantContext } from '../tenancy/domain.ts';
import { assertScriptSizeAllowed } from '../tenancy/quotas.ts';
import { requireValidScript, type ScriptChecker } from './checker.ts';
import {
  ScriptRepository,
  ScriptVersionTakenError,
  scriptVersionKey,
  withoutSource,
} from './script-repository.ts';

/** Largest script source accepted, in UTF-8 bytes. */
export const MAX_SCRIPT_BYTES = 256 * 1024;
export const ASSET_ID_PATTERN = /^scr-[a-z0-9]{12}$/;

export interface ScriptAsset {
  readonly id: string;
  readonly kind: 'python-script';
  readonly name: string;
  readonly activeVersion: number;
  readonly latestVersion: number;
  /** Increments on every pointer move; pending approvals bound to an older value are invalid. */
  readonly activationSeq: number;
  /** `active`, or `disabled` / `archived`: Skills bound to it cannot run (see availability.ts). */
  readonly state: AvailabilityState;
  readonly createdAt: string;
  readonly updatedAt: string;
  readonly createdBy: string;
  readonly provenance?: Readonly<Record<string, unknown>>;
}

/** A version as listed: the API's answer without its source. */
export type ScriptVersion = Omit<ScriptVersionAnswer, 'source'>;

/** A version with its source, as one version is answered. */
export type ScriptVersionWithSource = Required<ScriptVersionAnswer>;

/**
 * Where a version's source comes from: an upload (checked by the runtime now), or a platform
 * template version (checked by the runtime when it was authored, copied byte for byte).
 */
export type SourceOrigin = 'upload' | 'template';

export interface ScriptAssetsOptions {
  readonly table: Table;
  readonly audit: AuditLog;
  readonly checker: ScriptChecker;
  readonly now?: () => Date;
  /** Called after the active pointer moved (pending approvals bound to the old version are re-checked). */
  readonly onActivated?: (domain: TenantContext, assetId: string, actor: string) => Promise<void>;
  /** Called after a script was disabled or archived (its runs not started are withdrawn). */
  readonly onUnavailable?: OnUnavailable;
}

/**
 * Script versions never change once written (content-hashed, immutable): a run resolves its version
 * and dispatches its source from here without a second read. At most 8 MiB of sources per process.
 */
const VERSIONS = new BoundedCache<string, ScriptVersionWithSource>({
  maxEntries: 256,
  maxBytes: 8 * 1024 * 1024,
  sizeOf: (version) => Buffer.byteLength(version.source, 'utf8'),
});

export class ScriptAssets {
  readonly #store: ScriptRepository;
  readonly #audit: AuditLog;
  readonly #checker: ScriptChecker;
  readonly #now: () => Date;
  readonly #onActivated: NonNullable<ScriptAssetsOptions['onActivated']>;
  readonly #onUnavailable: OnUnavailable;

  constructor(options: ScriptAssetsOptions) {
    this.#store = new ScriptRepository(options.table);
    this.#audit = options.audit;
    this.#checker = options.checker;
    this.#now = options.now ?? (() => new Date());
    this.#onActivated = options.onActivated ?? (async () => undefined);
    this.#onUnavailable = options.onUnavailable ?? (async () => undefined);
  }

  async create(
    domain: TenantContext,
    input: {
      name: string;
      source: string;
      note?: string;
      provenance?: Record<string, unknown>;
      origin?: SourceOrigin;
    },
    actor: Pick<Caller, 'username' | 'via'>,
  ): Promise<ScriptAsset & { version: number; sha256: string }> {
    await this.#checkSource(domain, input.source, input.origin);
    const id = randomId('scr');
    const version = await this.#putVersion(
      domain,
      id,
      1,
      input.source,
      input.note ?? 'first version',
      actor.username,
    );
    const now = this.#now().toISOString();
    const asset: ScriptAsset = {
      id,
      kind: 'python-script',
      name: input.name,
      activeVersion: 1,
      latestVersion: 1,
      activationSeq: 1,
      state: 'active',
      createdAt: now,
      updatedAt: now,
      createdBy: actor.username,
      ...(input.provenance === undefined ? {} : { provenance: input.provenance }),
    };
    await this.#store.create(domain, asset);
    await this.#audit.record(domain, {
      actor: { username: actor.username, via: actor.via },
      action: 'asset.created',
      target: `asset:${id}`,
      details: { name: input.name, version: 1, sha256: version.sha256, sizeBytes: version.sizeBytes },
    });
    return { ...asset, version: 1, sha256: version.sha256 };
  }

  async get(domain: TenantContext, id: string): Promise<ScriptAsset> {
    if (!ASSET_ID_PATTERN.test(id)) throw new NotFoundError(`Script ${id} not found`);
    const asset = await this.#store.get(domain, id);
    if (asset === null) throw new NotFoundError(`Script ${id} not found`);
    return asset;
  }

  /** A page of the tenant's scripts; archived ones only when asked for. */
  async list(
    domain: TenantContext,
    limit: number,
    cursor?: string,
    options: { readonly includeArchived?: boolean } = {},
  ): Promise<Page<ScriptAsset>> {
    return this.#store.list(domain, limit, cursor, options.includeArchived === true);
  }

  /** Disables, archives or restores a script (idempotent; audited when it changes). */
  async setState(
    domain: TenantContext,
    id: string,
    state: AvailabilityState,
    actor: Pick<Caller, 'username' | 'via'>,
    reason = '',
  ): Promise<ScriptAsset> {
    const current = await this.get(domain, id);
    if (current.state === state) return current;
    const note = stateReason(reason);
    const now = this.#now().toISOString();
    const changed = await this.#store.setState(domain, id, state, {
      at: now,
      by: actor.username,
      reason: note,
    });
    await this.#audit.record(domain, {
      actor: { username: actor.username, via: actor.via },
      action: `asset.${stateVerb(state)}`,
      target: `asset:${id}`,
      details: stateChangeDetails(current.name, current.state, state, note),
    });
    if (state !== 'active') {
      await this.#onUnavailable(domain, { subject: 'script', id, name: current.name, state }, actor.username);
    }
    return changed;
  }

  /**
   * Renames a script (idempotent; audited when it changes). The name is a label: Skills, runs and
   * approvals hold the script's id, so nothing else moves. An archived script may be renamed too,
   * as it may get new versions: a state pauses runs, it does not freeze the script.
   */
  async rename(
    domain: TenantContext,
    id: string,
    name: string,
    actor: Pick<Caller, 'username' | 'via'>,
  ): Promise<ScriptAsset> {
    const current = await this.get(domain, id);
    if (current.name === name) return current;
    const renamed = await this.#store.rename(domain, id, name, this.#now().toISOString());
    await this.#audit.record(domain, {
      actor: { username: actor.username, via: actor.via },
      action: 'asset.renamed',
      target: `asset:${id}`,
      details: { from: current.name, to: name },
    });
    return renamed;
  }

  /**
   * The ids of the tenant's other scripts named `name`, archived ones left out: the ones `execfabric
   * push` would find beside it (it lists the scripts as this list does) and could not tell apart.
   */
  async namesakes(domain: TenantContext, name: string, exceptId: string): Promise<string[]> {
    const ids: string[] = [];
    let cursor: string | undefined;
    do {
      const page = await this.#store.list(domain, MAX_PAGE_SIZE, cursor, false);
      for (const script of page.items)
        if (script.name === name && script.id !== exceptId) ids.push(script.id);
      cursor = page.cursor;
    } while (cursor !== undefined);
    return ids;
  }

  /** Uploads the next version; it does not become active until the pointer moves. */
  async addVersion(
    domain: TenantContext,
    id: string,
    input: { source: string; note?: string; origin?: SourceOrigin },
    actor: Pick<Caller, 'username' | 'via'>,
  ): Promise<ScriptVersion> {
    const asset = await this.get(domain, id);
    await this.#checkSource(domain, input.source, input.origin);
    let next = asset.latestVersion + 1;
    let version: ScriptVersionWithSource | undefined;
    for (let attempt = 0; attempt < 5 && version === undefined; attempt++) {
      try {
        version = await this.#putVersion(domain, id, next, input.source, input.note ?? '', actor.username);
      } catch (error) {
        if (!(error instanceof ScriptVersionTakenError)) throw error;
        next++; // a concurrent upload took this number
      }
    }
    if (version === undefined) throw new ConflictError('Too many concurrent uploads; retry');
    await this.#store.raiseLatest(domain, id, version.version, this.#now().toISOString());
    await this.#audit.record(domain, {
      actor: { username: actor.username, via: actor.via },
      action: 'asset.version.uploaded',
      target: `asset:${id}`,
      details: {
        version: version.version,
        sha256: version.sha256,
        sizeBytes: version.sizeBytes,
        note: version.note,
      },
    });
    return withoutSource(version);
  }

  /** Newest first; without sources. */
  async versions(
    domain: TenantContext,
    id: string,
    limit: number,
    cursor?: string,
  ): Promise<Page<ScriptVersion>> {
    await this.get(domain, id);
    return this.#store.versions(domain, id, limit, cursor);
  }

  async version(domain: TenantContext, id: string, version: number): Promise<ScriptVersionWithSource> {
    if (!ASSET_ID_PATTERN.test(id) || !Number.isInteger(version) || version < 1) {
      throw new NotFoundError(`Version ${version} of script ${id} not found`);
    }
    const key = scriptVersionKey(domain, id, version);
    const cacheKey = `${key.PK}\n${key.SK}`;
    const cached = VERSIONS.get(cacheKey);
    if (cached !== undefined) return cached;
    const stored = await this.#store.version(domain, id, version);
    if (stored === null) throw new NotFoundError(`Version ${version} of script ${id} not found`);
    const found = Object.freeze(stored);
    VERSIONS.set(cacheKey, found);
    return found;
  }

  /** Moves the active pointer (hot update or rollback). */
  async activate(
    domain: TenantContext,
    id: string,
    version: number,
    actor: Pick<Caller, 'username' | 'via'>,
  ): Promise<ScriptAsset> {
    const before = await this.get(domain, id);
    await this.version(domain, id, version).catch((cause: unknown) => {
      if (!(cause instanceof NotFoundError)) throw cause; // a store fault is not "no such version"
      throw new ValidationError(
        `Version ${version} does not exist`,
        [{ path: 'version', message: 'no such version' }],
        {
          cause,
        },
      );
    });
    const activated = await this.#store.activate(domain, id, version, this.#now().toISOString());
    await this.#audit.record(domain, {
      actor: { username: actor.username, via: actor.via },
      action: 'asset.activated',
      target: `asset:${id}`,
      details: { from: before.activeVersion, to: version },
    });
    await this.#onActivated(domain, id, actor.username);
    return activated;
  }

  /**
   * The platform's size limit (413), the plan's (403), then the runtime's syntax check — skipped for
   * a platform template's source, which the runtime checked when the template version was authored.
   */
  async #checkSource(domain: TenantContext, source: string, origin: SourceOrigin = 'upload'): Promise<void> {
    const bytes = Buffer.byteLength(source, 'utf8');
    if (bytes > MAX_SCRIPT_BYTES) throw new PayloadTooLargeError('Script source', MAX_SCRIPT_BYTES);
    assertScriptSizeAllowed(domain.tenant.plan, bytes);
    if (origin === 'template') return;
    await requireValidScript(this.#checker, source, domain.tenant.id);
  }

  async #putVersion(
    domain: TenantContext,
    assetId: string,
    version: number,
    source: string,
    note: string,
    author: string,
  ): Promise<ScriptVersionWithSource> {
    const item: ScriptVersionWithSource = {
      assetId,
      version,
      sha256: createHash('sha256').update(source, 'utf8').digest('hex'),
      sizeBytes: Buffer.byteLength(source, 'utf8'),
      note: note.slice(0, 500),
      author,
      createdAt: this.#now().toISOString(),
      source,
    };
    await this.#store.putVersion(domain, item);
    return item;
  }
}
