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
import { GetCommand, PutCommand, QueryCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { PUBLIC_TENANCY_ID, requireValidScript, type ScriptChecker } from '../assets/checker.ts';
import { MAX_SCRIPT_BYTES, type ScriptAssets } from '../assets/scripts.ts';
import type { AuditLog } from '../audit/chain.ts';
import { assertValidSchema, type JsonSchema } from '../catalog/schemas.ts';
import {
  APPROVAL_COUNT,
  type ApprovalRule,
  MIN_APPROVALS,
  type Risk,
  type SkillCatalog,
} from '../catalog/skills.ts';
import { isConditionFailure, queryAll, type Table } from '../db.ts';
import { ConflictError, NotFoundError, PayloadTooLargeError, ValidationError } from '../errors.ts';
import type { ExecutionLimits } from '../executors/registry.ts';
import type { Caller } from '../identity/caller.ts';
import { ordinalKey, randomId } from '../ids.ts';
import { parseJson, stringifyJson } from '../json.ts';
import { domainPk, ITEM_TYPE, itemKey, publicItemKey, TAG, typePrefix } from '../keys.ts';
import type { PublicContext, TenantContext } from '../tenancy/domain.ts';
import { tenantContext } from '../tenancy/hosts.ts';

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

export interface Template {
  readonly id: string;
  readonly name: string;
  readonly description: string;
  readonly latestVersion: number;
  readonly createdAt: string;
  readonly updatedAt: string;
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
  /** Every tenant id, page by page (for distribution to all tenants). */
  readonly tenantIds: () => AsyncIterable<string>;
  readonly now?: () => Date;
}

function toTemplate(item: Record<string, unknown>): Template {
  return {
    id: String(item.id),
    name: String(item.name),
    description: String(item.description ?? ''),
    latestVersion: Number(item.latestVersion),
    createdAt: String(item.createdAt),
    updatedAt: String(item.updatedAt),
  };
}

export class Templates {
  readonly #table: Table;
  readonly #audit: AuditLog;
  readonly #scripts: ScriptAssets;
  readonly #skills: SkillCatalog;
  readonly #checker: ScriptChecker;
  readonly #tenantIds: () => AsyncIterable<string>;
  readonly #now: () => Date;

  constructor(options: TemplatesOptions) {
    this.#table = options.table;
    this.#audit = options.audit;
    this.#scripts = options.scripts;
    this.#skills = options.skills;
    this.#checker = options.checker;
    this.#tenantIds = options.tenantIds;
    this.#now = options.now ?? (() => new Date());
  }

  async create(
    domain: PublicContext,
    content: TemplateContent,
    actor: Caller,
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
    await this.#table.client.send(
      new PutCommand({
        TableName: this.#table.name,
        Item: { ...itemKey(domain, TAG.template, id), type: ITEM_TYPE.template, ...template },
        ConditionExpression: 'attribute_not_exists(PK)',
      }),
    );
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
    await this.#table.client.send(
      new UpdateCommand({
        TableName: this.#table.name,
        Key: itemKey(domain, TAG.template, id),
        UpdateExpression:
          'SET latestVersion = :version, updatedAt = :now, #name = :name, description = :description',
        ConditionExpression: 'latestVersion = :previous',
        ExpressionAttributeNames: { '#name': 'name' },
        ExpressionAttributeValues: {
          ':version': version.version,
          ':previous': template.latestVersion,
          ':now': this.#now().toISOString(),
          ':name': content.skill.name,
          ':description': content.skill.description,
        },
      }),
    );
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
    const result = await this.#table.client.send(
      new GetCommand({
        TableName: this.#table.name,
        Key: publicItemKey(TAG.template, id),
        ConsistentRead: true,
      }),
    );
    if (result.Item === undefined) throw new NotFoundError(`Template ${id} not found`);
    return toTemplate(result.Item);
  }

  async version(id: string, version: number): Promise<TemplateVersion> {
    const result = await this.#table.client.send(
      new GetCommand({
        TableName: this.#table.name,
        Key: publicItemKey(TAG.templateVersion, id, ordinalKey(version)),
        ConsistentRead: true,
      }),
    );
    if (result.Item === undefined) throw new NotFoundError(`Version ${version} of template ${id} not found`);
    const { PK: _pk, SK: _sk, type: _type, skillJson, ...rest } = result.Item;
    return {
      ...(rest as TemplateVersion),
      ...(typeof skillJson === 'string' ? { skill: parseJson(skillJson) as TemplateVersion['skill'] } : {}),
    };
  }

  async list(domain: PublicContext): Promise<Template[]> {
    const items: Template[] = [];
    for await (const item of queryAll(this.#table, {
      KeyConditionExpression: 'PK = :pk AND begins_with(SK, :prefix)',
      ExpressionAttributeValues: { ':pk': domainPk(domain), ':prefix': typePrefix(TAG.template) },
    })) {
      items.push(toTemplate(item));
    }
    return items;
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
    const ids = 'all' in target ? this.#tenantIds() : target.tenantIds;
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
    await this.#table.client
      .send(
        new PutCommand({
          TableName: this.#table.name,
          Item: {
            ...itemKey(domain, TAG.templateGrant, id),
            type: ITEM_TYPE.templateGrant,
            templateId: id,
            distributedAt: this.#now().toISOString(),
            distributedBy: by,
          },
          ConditionExpression: 'attribute_not_exists(PK)',
        }),
      )
      .catch((error: unknown) => {
        if (!isConditionFailure(error)) throw error;
      });
  }

  /** Templates offered to a tenant, with what it installed and whether an update is available. */
  async offered(domain: TenantContext): Promise<TenantTemplate[]> {
    const result = await this.#table.client.send(
      new QueryCommand({
        TableName: this.#table.name,
        KeyConditionExpression: 'PK = :pk AND begins_with(SK, :prefix)',
        ExpressionAttributeValues: { ':pk': domainPk(domain), ':prefix': typePrefix(TAG.templateGrant) },
      }),
    );
    const offered: TenantTemplate[] = [];
    for (const grant of result.Items ?? []) {
      const template = await this.get(String(grant.templateId)).catch(() => null);
      if (template === null) continue;
      const installed = await this.#installation(domain, template.id);
      const installedVersion = installed?.state === 'installed' ? Number(installed.version) : null;
      offered.push({
        id: template.id,
        name: template.name,
        description: template.description,
        latestVersion: template.latestVersion,
        installedVersion,
        skillId: typeof installed?.skillId === 'string' ? installed.skillId : null,
        updateAvailable: installedVersion !== null && installedVersion < template.latestVersion,
      });
    }
    return offered;
  }

  /** Installs the latest version of an offered template, or updates an installed one to it. */
  async install(domain: TenantContext, id: string, actor: Caller): Promise<TenantTemplate> {
    const grant = await this.#table.client.send(
      new GetCommand({
        TableName: this.#table.name,
        Key: itemKey(domain, TAG.templateGrant, id),
        ConsistentRead: true,
      }),
    );
    if (grant.Item === undefined) throw new NotFoundError(`Template ${id} not found`);
    const template = await this.get(id);
    const content = await this.version(id, template.latestVersion);
    const provenance = { templateId: id, version: content.version, sha256: content.sha256 };
    const key = itemKey(domain, TAG.templateInstall, id);
    const existing = await this.#installation(domain, id);

    if (existing?.state === 'installed') {
      if (Number(existing.version) >= content.version) {
        throw new ConflictError(`Template ${id} is already installed at version ${String(existing.version)}`);
      }
      const assetId = String(existing.assetId);
      const skillId = String(existing.skillId);
      const uploaded = await this.#scripts.addVersion(
        domain,
        assetId,
        { source: content.source, note: `template ${id} v${content.version}`, origin: 'template' },
        actor,
      );
      await this.#scripts.activate(domain, assetId, uploaded.version, actor);
      const skill = await this.#skills.get(domain, skillId);
      await this.#skills.update(
        domain,
        skillId,
        { ...content.skill, visibility: skill.visibility, asset: skill.asset, provenance },
        actor,
      );
      await this.#record(
        key,
        { state: 'installed', version: content.version, assetId, skillId },
        Number(existing.version),
      );
    } else {
      // Claim the installation before creating anything, so a concurrent install does not run twice.
      if (existing === null) {
        try {
          await this.#table.client.send(
            new PutCommand({
              TableName: this.#table.name,
              Item: {
                ...key,
                type: ITEM_TYPE.templateInstall,
                templateId: id,
                state: 'installing',
                version: content.version,
              },
              ConditionExpression: 'attribute_not_exists(PK)',
            }),
          );
        } catch (error) {
          if (isConditionFailure(error))
            throw new ConflictError(`Template ${id} is being installed`, { cause: error });
          throw error;
        }
      }
      const asset = await this.#scripts.create(
        domain,
        {
          name: `${content.skill.name}.py`,
          source: content.source,
          note: `template ${id} v${content.version}`,
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
      await this.#table.client.send(
        new PutCommand({
          TableName: this.#table.name,
          Item: {
            ...key,
            type: ITEM_TYPE.templateInstall,
            templateId: id,
            state: 'installed',
            version: content.version,
            assetId: asset.id,
            skillId: skill.id,
            installedAt: this.#now().toISOString(),
          },
        }),
      );
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

  async #record(key: { PK: string; SK: string }, fields: Record<string, unknown>, previousVersion: number) {
    await this.#table.client.send(
      new UpdateCommand({
        TableName: this.#table.name,
        Key: key,
        UpdateExpression:
          'SET #state = :state, version = :version, assetId = :asset, skillId = :skill, installedAt = :now',
        ConditionExpression: 'version = :previous',
        ExpressionAttributeNames: { '#state': 'state' },
        ExpressionAttributeValues: {
          ':state': fields.state,
          ':version': fields.version,
          ':asset': fields.assetId,
          ':skill': fields.skillId,
          ':now': this.#now().toISOString(),
          ':previous': previousVersion,
        },
      }),
    );
  }

  async #installation(domain: TenantContext, id: string): Promise<Record<string, unknown> | null> {
    const result = await this.#table.client.send(
      new GetCommand({
        TableName: this.#table.name,
        Key: itemKey(domain, TAG.templateInstall, id),
        ConsistentRead: true,
      }),
    );
    return result.Item ?? null;
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
    try {
      await this.#table.client.send(
        new PutCommand({
          TableName: this.#table.name,
          // The Skill part (schemas) as JSON text: a map cannot hold every schema (see catalog/skills.ts).
          Item: {
            ...publicItemKey(TAG.templateVersion, id, ordinalKey(version)),
            type: ITEM_TYPE.templateVersion,
            ...item,
            skill: undefined,
            skillJson: stringifyJson(item.skill),
          },
          ConditionExpression: 'attribute_not_exists(PK)',
        }),
      );
    } catch (error) {
      if (isConditionFailure(error))
        throw new ConflictError(`Template ${id} changed concurrently; retry`, { cause: error });
      throw error;
    }
    return item;
  }
}
