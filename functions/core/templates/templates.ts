/**
 * Platform templates: a Skill definition plus its Python script, versioned in the public domain,
 * distributed to all or chosen tenants. A tenant admin installs one, which creates the script asset
 * and the Skill in that tenant with provenance `{ templateId, version }`; a newer template version
 * shows as an available update, and installing it uploads the new script version, activates it and
 * updates the Skill (its visibility, set by the tenant, is kept).
 *
 * Steps are ordered and conditional (no transactions): an install record is claimed before anything
 * is created, and moved forward only after the Skill exists.
 */
import { createHash } from 'node:crypto';
import type { Template, TemplateStanding } from '../../contract/responses.ts';
import { PUBLIC_TENANCY_ID, requireValidScript, type ScriptChecker } from '../assets/checker.ts';
import { MAX_SCRIPT_BYTES, type ScriptAssets } from '../assets/scripts.ts';
import type { AuditActor, AuditLog } from '../audit/chain.ts';
import { APPROVAL_COUNT, type ApprovalRule, MIN_APPROVALS, type Risk } from '../catalog/rules.ts';
import { assertValidSchema, type JsonSchema } from '../catalog/schemas.ts';
import type { SkillCatalog } from '../catalog/skills.ts';
import type { Table } from '../db.ts';
import {
  ConflictError,
  NotFoundError,
  PayloadTooLargeError,
  unlessNotFound,
  ValidationError,
} from '../errors.ts';
import type { ExecutionLimits } from '../executors/registry.ts';
import type { Caller } from '../identity/caller.ts';
import { randomId } from '../ids.ts';
import type { Page } from '../pagination.ts';
import type { PublicContext, TenantContext } from '../tenancy/domain.ts';
import { tenantContext } from '../tenancy/hosts.ts';
import { TemplateRepository } from './template-repository.ts';

/** Tenants read a page at a time when a template goes to every one of them. */
const BATCH_TENANTS = 100;

// The answer's shape is the contract's (functions/contract/responses.ts), read by the fronts too.
export type { Template, TemplateStanding };

export const TEMPLATE_ID_PATTERN = /^tpl-[a-z0-9]{12}$/;

export interface TemplateContent {
  readonly skill: {
    readonly name: string;
    readonly description: string;
    readonly inputSchema: JsonSchema;
    readonly outputSchema: JsonSchema;
    readonly risk: Risk;
    readonly approval?: ApprovalRule;
    readonly limits?: Partial<ExecutionLimits>;
  };
  readonly source: string;
  readonly note?: string;
}

export interface TemplateVersion {
  readonly templateId: string;
  readonly version: number;
  readonly skill: TemplateContent['skill'];
  readonly source: string;
  readonly sha256: string;
  readonly note: string;
  readonly createdAt: string;
  readonly createdBy: string;
}

export interface TenantTemplate {
  readonly id: string;
  readonly name: string;
  readonly description: string;
  readonly latestVersion: number;
  readonly installedVersion: number | null;
  readonly skillId: string | null;
  readonly updateAvailable: boolean;
}

export interface TemplatesOptions {
  readonly table: Table;
  readonly audit: AuditLog;
  readonly scripts: ScriptAssets;
  readonly skills: SkillCatalog;
  readonly checker: ScriptChecker;
  /**
   * The tenants, a page at a time in the registry's order (to distribute to every tenant, and to say
   * where a template stands with them). @default none: only the governance side distributes, and a
   * function without it cannot list tenants
   */
  readonly tenants?: (
    limit: number,
    cursor?: string,
  ) => Promise<Page<{ readonly id: string; readonly name: string }>>;
  readonly now?: () => Date;
}

/**
 * The note on a script version a template installed: the template's name and version, as the
 * tenant's people know it (its id means nothing on their side; the Skill keeps it as provenance).
 */
function versionNote(name: string, version: number): string {
  return `template "${name}" v${version}`;
}

export class Templates {
  readonly #table: Table;
  readonly #store: TemplateRepository;
  readonly #audit: AuditLog;
  readonly #scripts: ScriptAssets;
  readonly #skills: SkillCatalog;
  readonly #checker: ScriptChecker;
  readonly #tenants: TemplatesOptions['tenants'];
  readonly #now: () => Date;

  constructor(options: TemplatesOptions) {
    this.#table = options.table;
    this.#store = new TemplateRepository(options.table);
    this.#audit = options.audit;
    this.#scripts = options.scripts;
    this.#skills = options.skills;
    this.#checker = options.checker;
    this.#tenants = options.tenants;
    this.#now = options.now ?? (() => new Date());
  }

  async create(
    domain: PublicContext,
    content: TemplateContent,
    /** Who authors it: a caller, or the platform itself (SYSTEM_ACTOR) for the seeded starters. */
    actor: AuditActor,
  ): Promise<Template & { version: 1 }> {
    await this.#validate(content);
    const id = randomId('tpl');
    await this.#putVersion(id, 1, content, actor.username);
    const now = this.#now().toISOString();
    const template: Template = {
      id,
      name: content.skill.name,
      description: content.skill.description,
      latestVersion: 1,
      createdAt: now,
      updatedAt: now,
    };
    await this.#store.create(template);
    await this.#audit.record(domain, {
      actor: { username: actor.username, via: actor.via },
      action: 'template.created',
      target: `template:${id}`,
      details: { name: template.name, version: 1 },
    });
    return { ...template, version: 1 };
  }

  async addVersion(
    domain: PublicContext,
    id: string,
    content: TemplateContent,
    actor: Caller,
  ): Promise<TemplateVersion> {
    const template = await this.get(id);
    await this.#validate(content);
    const version = await this.#putVersion(id, template.latestVersion + 1, content, actor.username);
    await this.#store.advance(id, template.latestVersion, {
      version: version.version,
      name: content.skill.name,
      description: content.skill.description,
      at: this.#now().toISOString(),
    });
    await this.#audit.record(domain, {
      actor: { username: actor.username, via: actor.via },
      action: 'template.version.created',
      target: `template:${id}`,
      details: { version: version.version, sha256: version.sha256 },
    });
    return version;
  }

  async get(id: string): Promise<Template> {
    if (!TEMPLATE_ID_PATTERN.test(id)) throw new NotFoundError(`Template ${id} not found`);
    const template = await this.#store.get(id);
    if (template === null) throw new NotFoundError(`Template ${id} not found`);
    return template;
  }

  async version(id: string, version: number): Promise<TemplateVersion> {
    const found = await this.#store.version(id, version);
    if (found === null) throw new NotFoundError(`Version ${version} of template ${id} not found`);
    return found;
  }

  async list(_domain: PublicContext): Promise<Template[]> {
    return this.#store.all();
  }

  /** Every tenant id, from the lister governance gives; a function given none cannot list tenants. */
  #tenantPage(limit: number, cursor?: string): Promise<Page<{ readonly id: string; readonly name: string }>> {
    if (this.#tenants === undefined) throw new Error('This function cannot list tenants');
    return this.#tenants(limit, cursor);
  }

  async *#everyTenant(): AsyncIterable<string> {
    let cursor: string | undefined;
    do {
      const page = await this.#tenantPage(BATCH_TENANTS, cursor);
      for (const tenant of page.items) yield tenant.id;
      cursor = page.cursor;
    } while (cursor !== undefined);
  }

  /**
   * Where a template stands with the tenants, over one page of the tenant list (`limit` tenants, in
   * the registry's order): each of them it was offered to, by whom and when, and the version each
   * installed. Only offered tenants are listed, so a page may be short, or empty, and still have a
   * cursor: the tenant list's, for the next page of tenants. Each page is one read of the tenant
   * list and one batch read of two records a tenant, in the tenants' own partitions: an offer or an
   * installation is never copied elsewhere to be listed (a personal space's starter templates are
   * offered by the free entry, which may write nothing in the public partition but audit entries).
   */
  async standing(
    _domain: PublicContext,
    id: string,
    limit: number,
    cursor?: string,
  ): Promise<Page<TemplateStanding>> {
    const template = await this.get(id);
    const tenants = await this.#tenantPage(limit, cursor);
    const found = await this.#store.standing(
      template.id,
      tenants.items.map((tenant) => tenant.id),
    );
    const items = tenants.items.flatMap((tenant): TemplateStanding[] => {
      const standing = found.get(tenant.id);
      if (standing === undefined) return [];
      const installed = standing.installation?.state === 'installed' ? standing.installation : null;
      return [
        {
          tenantId: tenant.id,
          tenantName: tenant.name,
          offeredAt: standing.offeredAt,
          offeredBy: standing.offeredBy,
          installedVersion: installed?.version ?? null,
          installedAt: installed?.installedAt ?? null,
          skillId: installed?.skillId ?? null,
          updateAvailable: installed !== null && installed.version < template.latestVersion,
        },
      ];
    });
    return tenants.cursor === undefined ? { items } : { items, cursor: tenants.cursor };
  }

  /** Offers a template to the given tenants (or every tenant); repeating it changes nothing. */
  async distribute(
    domain: PublicContext,
    id: string,
    target: { all: true } | { tenantIds: readonly string[] },
    actor: Caller,
  ): Promise<{ tenants: string[] }> {
    await this.get(id);
    const tenants: string[] = [];
    const ids = 'all' in target ? this.#everyTenant() : target.tenantIds;
    for await (const tenantId of ids) {
      const domain = await tenantContext(this.#table, tenantId);
      if (domain === null)
        throw new ValidationError(`Unknown tenant ${tenantId}`, [{ path: 'tenantIds', message: tenantId }]);
      await this.grantTo(domain, id, actor.username);
      tenants.push(tenantId);
    }
    await this.#audit.record(domain, {
      actor: { username: actor.username, via: actor.via },
      action: 'template.distributed',
      target: `template:${id}`,
      details: { tenants: 'all' in target ? 'all' : tenants },
    });
    return { tenants };
  }

  /** Offers one template to one tenant (idempotent); `distribute` does it for many. */
  async grantTo(domain: TenantContext, id: string, by: string): Promise<void> {
    await this.#store.grant(domain, id, this.#now().toISOString(), by);
  }

  /** Templates offered to a tenant, with what it installed and whether an update is available. */
  async offered(domain: TenantContext): Promise<TenantTemplate[]> {
    const offered: TenantTemplate[] = [];
    for (const templateId of await this.#store.granted(domain)) {
      // A grant whose template is gone is left out; a store fault is not "gone".
      const template = await unlessNotFound(this.get(templateId));
      if (template === null) continue;
      const installed = await this.#store.installation(domain, template.id);
      const installedVersion = installed?.state === 'installed' ? installed.version : null;
      offered.push({
        id: template.id,
        name: template.name,
        description: template.description,
        latestVersion: template.latestVersion,
        installedVersion,
        skillId: installed?.skillId ?? null,
        updateAvailable: installedVersion !== null && installedVersion < template.latestVersion,
      });
    }
    return offered;
  }

  /** Installs the latest version of an offered template, or updates an installed one to it. */
  async install(domain: TenantContext, id: string, actor: Caller): Promise<TenantTemplate> {
    if (!(await this.#store.isGranted(domain, id))) throw new NotFoundError(`Template ${id} not found`);
    const template = await this.get(id);
    const content = await this.version(id, template.latestVersion);
    const provenance = { templateId: id, version: content.version, sha256: content.sha256 };
    const existing = await this.#store.installation(domain, id);

    if (existing?.state === 'installed') {
      if (existing.version >= content.version) {
        throw new ConflictError(`Template ${id} is already installed at version ${existing.version}`);
      }
      const assetId = String(existing.assetId);
      const skillId = String(existing.skillId);
      const uploaded = await this.#scripts.addVersion(
        domain,
        assetId,
        { source: content.source, note: versionNote(template.name, content.version), origin: 'template' },
        actor,
      );
      await this.#scripts.activate(domain, assetId, uploaded.version, actor);
      const skill = await this.#skills.get(domain, skillId);
      // The tenant's own choices stay: who sees it, and what its script may reach (a template
      // declares none; an update that left them out would remove them).
      await this.#skills.update(
        domain,
        skillId,
        {
          ...content.skill,
          visibility: skill.visibility,
          asset: skill.asset,
          ...(skill.egress === undefined ? {} : { egress: skill.egress }),
          ...(skill.collections === undefined ? {} : { collections: skill.collections }),
          ...(skill.parameters === undefined ? {} : { parameters: skill.parameters }),
          provenance,
        },
        actor,
      );
      await this.#store.updated(domain, id, existing.version, {
        version: content.version,
        assetId,
        skillId,
        at: this.#now().toISOString(),
      });
    } else {
      // Claim the installation before creating anything, so a concurrent install does not run twice.
      if (existing === null) {
        await this.#store.claimInstallation(domain, id, content.version);
      }
      const asset = await this.#scripts.create(
        domain,
        {
          name: `${content.skill.name}.py`,
          source: content.source,
          note: versionNote(template.name, content.version),
          provenance,
          origin: 'template',
        },
        actor,
      );
      const skill = await this.#skills.create(
        domain,
        { ...content.skill, asset: { kind: 'python-script', id: asset.id, version: 'active' }, provenance },
        actor,
      );
      await this.#store.installed(domain, id, {
        version: content.version,
        assetId: asset.id,
        skillId: skill.id,
        at: this.#now().toISOString(),
      });
    }
    await this.#audit.record(domain, {
      actor: { username: actor.username, via: actor.via },
      action: existing?.state === 'installed' ? 'template.updated' : 'template.installed',
      target: `template:${id}`,
      details: provenance,
    });
    const offered = (await this.offered(domain)).find((item) => item.id === id);
    if (offered === undefined) throw new NotFoundError(`Template ${id} not found`);
    return offered;
  }

  async #validate(content: TemplateContent): Promise<void> {
    await assertValidSchema(content.skill.inputSchema, 'skill.inputSchema');
    await assertValidSchema(content.skill.outputSchema, 'skill.outputSchema');
    const approval = content.skill.approval;
    if (approval !== undefined && APPROVAL_COUNT[approval] < MIN_APPROVALS[content.skill.risk]) {
      throw new ValidationError(`A ${content.skill.risk}-risk Skill needs more approvals`, [
        { path: 'skill.approval', message: `at least ${MIN_APPROVALS[content.skill.risk]}` },
      ]);
    }
    if (Buffer.byteLength(content.source, 'utf8') > MAX_SCRIPT_BYTES) {
      throw new PayloadTooLargeError('Script source', MAX_SCRIPT_BYTES);
    }
    // Templates are the public domain's: checked in an execution environment of the public domain.
    await requireValidScript(this.#checker, content.source, PUBLIC_TENANCY_ID);
  }

  async #putVersion(
    id: string,
    version: number,
    content: TemplateContent,
    author: string,
  ): Promise<TemplateVersion> {
    const item: TemplateVersion = {
      templateId: id,
      version,
      skill: content.skill,
      source: content.source,
      sha256: createHash('sha256').update(content.source, 'utf8').digest('hex'),
      note: content.note ?? '',
      createdAt: this.#now().toISOString(),
      createdBy: author,
    };
    await this.#store.putVersion(item);
    return item;
  }
}
