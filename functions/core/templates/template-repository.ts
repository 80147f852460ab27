/**
 * Where platform templates are stored: the template (`TEMPLATE#<id>`) and its immutable versions
 * (`TEMPLATEV#<id>#<version>`, the Skill part as JSON text) in the public partition; in each tenant's
 * partition, the offer (`TEMPLATEGRANT#<id>`) and the installation record (`TEMPLATEINSTALL#<id>`).
 * Every DynamoDB call of the templates is here; items are parsed at this boundary and a write
 * refused by its condition comes out as a typed error (TemplateConflictError, still a 409) or, for
 * an offer made twice, as nothing. The install steps and their order stay in templates.ts.
 */
import { GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import { batchGetMany, queryAll, type Table } from '../db.ts';
import { ConflictError } from '../errors.ts';
import { ordinalKey } from '../ids.ts';
import { parseJson, stringifyJson } from '../json.ts';
import {
  domainPk,
  ITEM_TYPE,
  itemKey,
  type Key,
  publicItemKey,
  publicPk,
  TAG,
  tenantItemKey,
  tenantPk,
  typePrefix,
} from '../keys.ts';
import { putItem, updateItem } from '../store/conditional.ts';
import type { TenantContext } from '../tenancy/domain.ts';
import type { Template, TemplateVersion } from './templates.ts';

/** A template write lost a race, or an installation is under way. Still a 409. */
export class TemplateConflictError extends ConflictError {}

/** What a tenant's installation record says. */
export interface Installation {
  readonly state: 'installing' | 'installed';
  readonly version: number;
  readonly assetId: string | null;
  readonly skillId: string | null;
}

/** Where a template stands with one tenant: its offer, and what it installed of it. */
export interface Standing {
  readonly offeredAt: string;
  readonly offeredBy: string;
  readonly installation: (Installation & { readonly installedAt: string | null }) | null;
}

function toInstallation(item: Record<string, unknown>): Installation {
  return {
    state: item.state === 'installed' ? 'installed' : 'installing',
    version: Number(item.version),
    assetId: typeof item.assetId === 'string' ? item.assetId : null,
    skillId: typeof item.skillId === 'string' ? item.skillId : null,
  };
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

function templateKey(id: string): Key {
  return publicItemKey(TAG.template, id);
}

function versionKey(id: string, version: number): Key {
  return publicItemKey(TAG.templateVersion, id, ordinalKey(version));
}

function installationKey(domain: TenantContext, id: string): Key {
  return itemKey(domain, TAG.templateInstall, id);
}

export class TemplateRepository {
  readonly #table: Table;

  constructor(table: Table) {
    this.#table = table;
  }

  async get(id: string): Promise<Template | null> {
    const result = await this.#table.client.send(
      new GetCommand({ TableName: this.#table.name, Key: templateKey(id), ConsistentRead: true }),
    );
    return result.Item === undefined ? null : toTemplate(result.Item);
  }

  async all(): Promise<Template[]> {
    const templates: Template[] = [];
    for await (const item of queryAll(this.#table, {
      KeyConditionExpression: 'PK = :pk AND begins_with(SK, :prefix)',
      ExpressionAttributeValues: { ':pk': publicPk, ':prefix': typePrefix(TAG.template) },
    })) {
      templates.push(toTemplate(item));
    }
    return templates;
  }

  async create(template: Template): Promise<void> {
    await this.#write(`Template ${template.id} exists`, {
      Item: { ...templateKey(template.id), type: ITEM_TYPE.template, ...template },
      ConditionExpression: 'attribute_not_exists(PK)',
    });
  }

  /** Moves the template to its next version, if it is still at `previous`. */
  async advance(
    id: string,
    previous: number,
    next: { version: number; name: string; description: string; at: string },
  ): Promise<void> {
    await updateItem(
      this.#table,
      {
        Key: templateKey(id),
        UpdateExpression:
          'SET latestVersion = :version, updatedAt = :now, #name = :name, description = :description',
        ConditionExpression: 'latestVersion = :previous',
        ExpressionAttributeNames: { '#name': 'name' },
        ExpressionAttributeValues: {
          ':version': next.version,
          ':previous': previous,
          ':now': next.at,
          ':name': next.name,
          ':description': next.description,
        },
      },
      (error) => new TemplateConflictError(`Template ${id} changed concurrently; retry`, { cause: error }),
    );
  }

  async version(id: string, version: number): Promise<TemplateVersion | null> {
    const result = await this.#table.client.send(
      new GetCommand({ TableName: this.#table.name, Key: versionKey(id, version), ConsistentRead: true }),
    );
    if (result.Item === undefined) return null;
    const { PK: _pk, SK: _sk, type: _type, skillJson, ...rest } = result.Item;
    return {
      ...(rest as TemplateVersion),
      ...(typeof skillJson === 'string' ? { skill: parseJson(skillJson) as TemplateVersion['skill'] } : {}),
    };
  }

  /** Writes an immutable version; its number taken already is a TemplateConflictError. */
  async putVersion(version: TemplateVersion): Promise<void> {
    await this.#write(`Template ${version.templateId} changed concurrently; retry`, {
      // The Skill part (schemas) as JSON text: a map cannot hold every schema (see catalog/skills.ts).
      Item: {
        ...versionKey(version.templateId, version.version),
        type: ITEM_TYPE.templateVersion,
        ...version,
        skill: undefined,
        skillJson: stringifyJson(version.skill),
      },
      ConditionExpression: 'attribute_not_exists(PK)',
    });
  }

  /** Offers a template to a tenant; an offer made already is left as it is. */
  async grant(domain: TenantContext, id: string, at: string, by: string): Promise<void> {
    await putItem(this.#table, {
      Item: {
        ...itemKey(domain, TAG.templateGrant, id),
        type: ITEM_TYPE.templateGrant,
        templateId: id,
        distributedAt: at,
        distributedBy: by,
      },
      ConditionExpression: 'attribute_not_exists(PK)',
    });
  }

  async isGranted(domain: TenantContext, id: string): Promise<boolean> {
    const result = await this.#table.client.send(
      new GetCommand({
        TableName: this.#table.name,
        Key: itemKey(domain, TAG.templateGrant, id),
        ConsistentRead: true,
      }),
    );
    return result.Item !== undefined;
  }

  /** Ids of the templates offered to a tenant. */
  async granted(domain: TenantContext): Promise<string[]> {
    const ids: string[] = [];
    for await (const item of queryAll(this.#table, {
      KeyConditionExpression: 'PK = :pk AND begins_with(SK, :prefix)',
      ExpressionAttributeValues: { ':pk': domainPk(domain), ':prefix': typePrefix(TAG.templateGrant) },
    })) {
      ids.push(String(item.templateId));
    }
    return ids;
  }

  async installation(domain: TenantContext, id: string): Promise<Installation | null> {
    const result = await this.#table.client.send(
      new GetCommand({ TableName: this.#table.name, Key: installationKey(domain, id), ConsistentRead: true }),
    );
    return result.Item === undefined ? null : toInstallation(result.Item);
  }

  /**
   * Where a template stands with each of some tenants (at most a page of them): the offer and the
   * installation record of each, read from their own partitions in one batch (two keys a tenant).
   * A tenant never offered the template is absent from the answer.
   */
  async standing(id: string, tenantIds: readonly string[]): Promise<Map<string, Standing>> {
    const keys = tenantIds.flatMap((tenantId) => [
      tenantItemKey(tenantId, TAG.templateGrant, id),
      tenantItemKey(tenantId, TAG.templateInstall, id),
    ]);
    const items = await batchGetMany(this.#table, keys, { consistent: true });
    const offers = new Map<string, Record<string, unknown>>();
    const installations = new Map<string, Record<string, unknown>>();
    for (const item of items) {
      const tenantId = String(item.PK).slice(tenantPk('').length);
      if (item.type === ITEM_TYPE.templateGrant) offers.set(tenantId, item);
      else if (item.type === ITEM_TYPE.templateInstall) installations.set(tenantId, item);
    }
    const standing = new Map<string, Standing>();
    for (const [tenantId, offer] of offers) {
      const installed = installations.get(tenantId);
      standing.set(tenantId, {
        offeredAt: String(offer.distributedAt ?? ''),
        offeredBy: String(offer.distributedBy ?? ''),
        installation:
          installed === undefined
            ? null
            : {
                ...toInstallation(installed),
                installedAt: typeof installed.installedAt === 'string' ? installed.installedAt : null,
              },
      });
    }
    return standing;
  }

  /** Claims a first installation before anything is created; one under way is a TemplateConflictError. */
  async claimInstallation(domain: TenantContext, id: string, version: number): Promise<void> {
    await this.#write(`Template ${id} is being installed`, {
      Item: {
        ...installationKey(domain, id),
        type: ITEM_TYPE.templateInstall,
        templateId: id,
        state: 'installing',
        version,
      },
      ConditionExpression: 'attribute_not_exists(PK)',
    });
  }

  /** Records a first installation as done. */
  async installed(
    domain: TenantContext,
    id: string,
    done: { version: number; assetId: string; skillId: string; at: string },
  ): Promise<void> {
    await this.#table.client.send(
      new PutCommand({
        TableName: this.#table.name,
        Item: {
          ...installationKey(domain, id),
          type: ITEM_TYPE.templateInstall,
          templateId: id,
          state: 'installed',
          version: done.version,
          assetId: done.assetId,
          skillId: done.skillId,
          installedAt: done.at,
        },
      }),
    );
  }

  /** Records an update of an installation that is still at `previous`. */
  async updated(
    domain: TenantContext,
    id: string,
    previous: number,
    done: { version: number; assetId: string; skillId: string; at: string },
  ): Promise<void> {
    await updateItem(
      this.#table,
      {
        Key: installationKey(domain, id),
        UpdateExpression:
          'SET #state = :state, version = :version, assetId = :asset, skillId = :skill, installedAt = :now',
        ConditionExpression: 'version = :previous',
        ExpressionAttributeNames: { '#state': 'state' },
        ExpressionAttributeValues: {
          ':state': 'installed',
          ':version': done.version,
          ':asset': done.assetId,
          ':skill': done.skillId,
          ':now': done.at,
          ':previous': previous,
        },
      },
      (error) =>
        new TemplateConflictError(`Template ${id} was updated concurrently; retry`, { cause: error }),
    );
  }

  async #write(
    refused: string,
    input: { Item: Record<string, unknown>; ConditionExpression: string },
  ): Promise<void> {
    await putItem(this.#table, input, (error) => new TemplateConflictError(refused, { cause: error }));
  }
}
