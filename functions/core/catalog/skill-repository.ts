/**
 * Where Skills are stored: the head item (`SKILL#<id>`, the current definition and state) and one
 * immutable item per revision (`SKILLREV#<id>#<revision>`), both in the tenant's partition. Every
 * DynamoDB call of the catalogue is here; items are parsed into Skills at this boundary and a write
 * refused by its condition comes out as a SkillConflictError. The rules (what a valid definition
 * is, who may see what, the plan's count) stay in skills.ts.
 *
 * Every write announces the tenant's catalogue as changed in this process (`tenancy/changes.ts`),
 * whatever its outcome (a write that timed out may still have landed), so every catalogue cache of
 * the process forgets it at once (`catalog-cache.ts`).
 */
import { GetCommand } from '@aws-sdk/lib-dynamodb';
import { type AvailabilityState, stateOf } from '../availability.ts';
import { queryAll, type Table } from '../db.ts';
import { ConflictError } from '../errors.ts';
import type { AssetBinding, ExecutionLimits } from '../executors/registry.ts';
import { ordinalKey } from '../ids.ts';
import { storedJson, stringifyJson } from '../json.ts';
import { domainPk, ITEM_TYPE, itemKey, type Key, TAG, typePrefix } from '../keys.ts';
import { putItem, updateItem } from '../store/conditional.ts';
import { type StateChange, stateUpdate } from '../store/state-update.ts';
import { announceChange } from '../tenancy/changes.ts';
import type { TenantContext } from '../tenancy/domain.ts';
import type { ApprovalRule, Risk } from './rules.ts';
import type { JsonSchema } from './schemas.ts';
import type { Skill } from './skills.ts';

/** A Skill write lost a race: the head or the revision changed since it was read. Still a 409. */
export class SkillConflictError extends ConflictError {
  constructor(id: string, options: { cause?: unknown } = {}) {
    super(`Skill ${id} changed concurrently; retry`, options);
  }
}

/**
 * Schemas (and the asset binding) are stored as JSON text, as written: a DynamoDB map refuses a
 * `__proto__` key, a `const` of 12345678901234567890 or 1e-300, and a marshaller takes a map with a
 * `constructor` key for a class instance. Items written before carry maps, read as they are.
 */
function skillItem(skill: Skill): Record<string, unknown> {
  const { inputSchema, outputSchema, asset, ...rest } = skill;
  return {
    ...rest,
    inputSchemaJson: stringifyJson(inputSchema),
    outputSchemaJson: stringifyJson(outputSchema),
    // The binding holds an HTTP Skill's request templates, written by the tenant: as text, for the
    // same reasons (a body template `{"constructor": "…"}` was a map the marshaller refused).
    assetJson: stringifyJson(asset),
  };
}

/** A stored head or revision item as a Skill. */
export function toSkill(item: Record<string, unknown>): Skill {
  return {
    id: String(item.id),
    revision: Number(item.revision),
    state: stateOf(item),
    ...(typeof item.stateChangedAt === 'string' ? { stateChangedAt: item.stateChangedAt } : {}),
    ...(typeof item.stateChangedBy === 'string' ? { stateChangedBy: item.stateChangedBy } : {}),
    ...(typeof item.stateReason === 'string' ? { stateReason: item.stateReason } : {}),
    name: String(item.name),
    description: String(item.description ?? ''),
    inputSchema: storedJson(item.inputSchemaJson, item.inputSchema) as JsonSchema,
    outputSchema: storedJson(item.outputSchemaJson, item.outputSchema) as JsonSchema,
    risk: item.risk as Risk,
    approval: item.approval as ApprovalRule,
    visibility: { roles: ((item.visibility as { roles?: string[] } | undefined)?.roles ?? []) as string[] },
    tags: Array.isArray(item.tags) ? (item.tags as unknown[]).map(String) : [],
    asset: storedJson(item.assetJson, item.asset) as AssetBinding,
    limits: item.limits as ExecutionLimits,
    ...(Array.isArray(item.egress) && item.egress.length > 0 ? { egress: item.egress.map(String) } : {}),
    ...(Array.isArray(item.collections) && item.collections.length > 0
      ? { collections: item.collections.map(String) }
      : {}),
    ...(Array.isArray(item.parameters) && item.parameters.length > 0
      ? { parameters: item.parameters.map(String) }
      : {}),
    definitionHash: String(item.definitionHash),
    createdAt: String(item.createdAt),
    updatedAt: String(item.updatedAt),
    createdBy: String(item.createdBy),
    updatedBy: String(item.updatedBy),
    ...(item.provenance === undefined ? {} : { provenance: item.provenance as Record<string, unknown> }),
  };
}

export function skillKey(domain: TenantContext, id: string): Key {
  return itemKey(domain, TAG.skill, id);
}

export function skillRevisionKey(domain: TenantContext, id: string, revision: number): Key {
  return itemKey(domain, TAG.skillRevision, id, ordinalKey(revision));
}

export class SkillRepository {
  readonly #table: Table;

  constructor(table: Table) {
    this.#table = table;
  }

  /** The head of a Skill (strongly consistent), or null. */
  async head(domain: TenantContext, id: string): Promise<Skill | null> {
    const result = await this.#table.client.send(
      new GetCommand({ TableName: this.#table.name, Key: skillKey(domain, id), ConsistentRead: true }),
    );
    return result.Item === undefined ? null : toSkill(result.Item);
  }

  /** One immutable revision, or null. */
  async revision(domain: TenantContext, id: string, revision: number): Promise<Skill | null> {
    const result = await this.#table.client.send(
      new GetCommand({ TableName: this.#table.name, Key: skillRevisionKey(domain, id, revision) }),
    );
    return result.Item === undefined ? null : toSkill(result.Item);
  }

  /**
   * Every head of the tenant (a catalogue is bounded; read in pages), strongly consistent: what a
   * catalogue cache keeps after a forget must include the write that caused it.
   */
  async *all(domain: TenantContext): AsyncGenerator<Skill> {
    for await (const item of queryAll(this.#table, {
      ConsistentRead: true,
      KeyConditionExpression: 'PK = :pk AND begins_with(SK, :prefix)',
      ExpressionAttributeValues: { ':pk': domainPk(domain), ':prefix': typePrefix(TAG.skill) },
    })) {
      yield toSkill(item);
    }
  }

  /** Writes a revision; one that exists already means another save took this number. */
  async putRevision(domain: TenantContext, skill: Skill): Promise<void> {
    await this.#write(domain, skill.id, {
      Item: {
        ...skillRevisionKey(domain, skill.id, skill.revision),
        type: ITEM_TYPE.skillRevision,
        ...skillItem(skill),
      },
      ConditionExpression: 'attribute_not_exists(PK)',
    });
  }

  /** Writes the head of a new Skill. */
  async create(domain: TenantContext, skill: Skill): Promise<void> {
    await this.#write(domain, skill.id, {
      Item: { ...skillKey(domain, skill.id), type: ITEM_TYPE.skill, ...skillItem(skill) },
      ConditionExpression: 'attribute_not_exists(PK)',
    });
  }

  /** Moves the head to `skill` if it is still at `expectedRevision`. */
  async replace(domain: TenantContext, skill: Skill, expectedRevision: number): Promise<void> {
    await this.#write(domain, skill.id, {
      Item: { ...skillKey(domain, skill.id), type: ITEM_TYPE.skill, ...skillItem(skill) },
      ConditionExpression: 'revision = :current',
      ExpressionAttributeValues: { ':current': expectedRevision },
    });
  }

  /** Moves a Skill from state `from` to `to`; returns the Skill as written. */
  async setState(
    domain: TenantContext,
    id: string,
    from: AvailabilityState,
    to: AvailabilityState,
    change: StateChange,
  ): Promise<Skill> {
    try {
      const result = await updateItem(
        this.#table,
        {
          Key: skillKey(domain, id),
          // Items written before states existed are active without saying so.
          ...stateUpdate(to, change, from),
          ReturnValues: 'ALL_NEW',
        },
        (error) => new SkillConflictError(id, { cause: error }),
      );
      return toSkill(result);
    } finally {
      this.#changed(domain);
    }
  }

  #changed(domain: TenantContext): void {
    announceChange(this.#table, { catalog: domain.tenant.id });
  }

  async #write(
    domain: TenantContext,
    id: string,
    input: {
      Item: Record<string, unknown>;
      ConditionExpression: string;
      ExpressionAttributeValues?: Record<string, unknown>;
    },
  ): Promise<void> {
    try {
      await putItem(this.#table, input, (error) => new SkillConflictError(id, { cause: error }));
    } finally {
      this.#changed(domain);
    }
  }
}
