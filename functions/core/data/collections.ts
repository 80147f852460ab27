/**
 * A tenant's collections: named sets of records with a JSON Schema every record must match and a key
 * rule. Tenant admins define them; every definition change is an audited revision (the schema's
 * hash and the key rule are in the entry). A schema change applies to later writes; records written
 * before keep their content and are flagged when they no longer match (`matchesSchema` in listings).
 * A collection goes only when it holds no record and no Skill declares it.
 */
import type { DataUsage } from '../../contract/responses.ts';
import type { AuditLog } from '../audit/chain.ts';
import { canonicalJson } from '../audit/chain.ts';
import { assertValidSchema, type JsonSchema } from '../catalog/schemas.ts';
import type { Table } from '../db.ts';
import { ConflictError, QuotaExceededError, ValidationError } from '../errors.ts';
import { sha256 } from '../hashing.ts';
import type { Caller } from '../identity/caller.ts';
import { isRawNumber, numbersWhere } from '../json.ts';
import type { TenantContext } from '../tenancy/domain.ts';
import { planLimits } from '../tenancy/plans.ts';
import { CollectionRepository } from './collection-repository.ts';
import { CollectionInUseError, CollectionNotFoundError } from './errors.ts';
import { RecordRepository } from './record-repository.ts';

// The answer's shape is the contract's (functions/contract/responses.ts), read by the fronts too.
export type { DataUsage };

/** Collection names: lowercase, digits, `_` and `-`; they appear in keys and in scripts. */
export const COLLECTION_NAME_PATTERN = /^[a-z][a-z0-9_-]{0,62}$/;
/** A key rule's `field`: a top-level property name of the record. */
export const KEY_FIELD_PATTERN = /^[A-Za-z_][A-Za-z0-9_]{0,63}$/;
export const MAX_DESCRIPTION = 500;

export interface KeyRule {
  /** The key is this top-level string property of the record (a put may then omit the key). */
  readonly field?: string;
  /** JSON Schema every key must match (e.g. `{"pattern": "^cust-[0-9]+$"}`), on top of the platform's rule. */
  readonly schema?: JsonSchema;
}

export interface Collection {
  readonly name: string;
  readonly description: string;
  readonly schema: JsonSchema;
  readonly key: KeyRule;
  readonly revision: number;
  readonly schemaSha256: string;
  readonly createdAt: string;
  readonly createdBy: string;
  readonly updatedAt: string;
  readonly updatedBy: string;
}

export interface CollectionInput {
  readonly name: string;
  readonly description?: string;
  readonly schema: unknown;
  readonly key?: { readonly field?: string; readonly schema?: unknown };
}

/** Finds the Skills that declare a collection (a collection they use cannot be deleted). */
export type CollectionUsers = (domain: TenantContext, name: string) => Promise<string[]>;

export interface CollectionsOptions {
  readonly table: Table;
  readonly audit: AuditLog;
  readonly now?: () => Date;
  /** @default nobody uses any collection */
  readonly users?: CollectionUsers;
}

export class Collections {
  readonly #store: CollectionRepository;
  readonly #records: RecordRepository;
  readonly #audit: AuditLog;
  readonly #now: () => Date;
  #users: CollectionUsers;

  constructor(options: CollectionsOptions) {
    this.#store = new CollectionRepository(options.table);
    this.#records = new RecordRepository(options.table);
    this.#audit = options.audit;
    this.#now = options.now ?? (() => new Date());
    this.#users = options.users ?? (async () => []);
  }

  /** Wires the lookup of Skills that declare a collection (the catalogue is built after this). */
  attachUsers(users: CollectionUsers): void {
    this.#users = users;
  }

  async list(domain: TenantContext): Promise<Collection[]> {
    return (await this.#store.all(domain)).sort((a, b) => a.name.localeCompare(b.name));
  }

  async find(domain: TenantContext, name: string): Promise<Collection | null> {
    if (!COLLECTION_NAME_PATTERN.test(name)) return null;
    return this.#store.find(domain, name);
  }

  async get(domain: TenantContext, name: string): Promise<Collection> {
    const collection = await this.find(domain, name);
    if (collection === null) throw new CollectionNotFoundError(`Collection ${name} not found`);
    return collection;
  }

  /** Throws a ValidationError naming each declared collection that does not exist (Skill saves). */
  async checkDeclared(domain: TenantContext, names: readonly string[]): Promise<void> {
    const issues: { path: string; message: string }[] = [];
    for (const [index, name] of names.entries()) {
      if ((await this.find(domain, name)) === null)
        issues.push({ path: `collections.${index}`, message: `no collection named ${name}` });
    }
    if (issues.length > 0)
      throw new ValidationError('The Skill declares collections that do not exist', issues);
  }

  async create(domain: TenantContext, input: CollectionInput, actor: Caller): Promise<Collection> {
    const definition = await this.#definition(input);
    const existing = await this.list(domain);
    const limit = planLimits(domain.tenant.plan).collections;
    if (existing.length >= limit) {
      throw new QuotaExceededError(`The ${domain.tenant.plan} plan allows ${limit} collections`, {
        extra: { limit },
      });
    }
    const now = this.#now().toISOString();
    const collection: Collection = {
      ...definition,
      revision: 1,
      createdAt: now,
      createdBy: actor.username,
      updatedAt: now,
      updatedBy: actor.username,
    };
    await this.#store.create(domain, collection);
    await this.#auditChange(domain, actor, 'data.collection.created', collection, null);
    return collection;
  }

  /** A new revision of the definition; `expectedRevision` guards against lost updates. */
  async update(
    domain: TenantContext,
    name: string,
    input: Omit<CollectionInput, 'name'>,
    actor: Caller,
    expectedRevision?: number,
  ): Promise<Collection> {
    const current = await this.get(domain, name);
    if (expectedRevision !== undefined && expectedRevision !== current.revision) {
      throw new ConflictError(
        `Collection ${name} is at revision ${current.revision}, not ${expectedRevision}`,
      );
    }
    const definition = await this.#definition({ ...input, name });
    const collection: Collection = {
      ...current,
      ...definition,
      revision: current.revision + 1,
      updatedAt: this.#now().toISOString(),
      updatedBy: actor.username,
    };
    await this.#store.replace(domain, collection, current.revision);
    await this.#auditChange(domain, actor, 'data.collection.updated', collection, current);
    return collection;
  }

  async remove(domain: TenantContext, name: string, actor: Caller): Promise<void> {
    const current = await this.get(domain, name);
    const skills = await this.#users(domain, name);
    if (skills.length > 0) {
      throw new CollectionInUseError(`Skills still declare the collection ${name}`, { extra: { skills } });
    }
    if (await this.#records.any(domain, name)) {
      throw new CollectionInUseError(`The collection ${name} still holds records; delete them first`);
    }
    await this.#store.delete(domain, name, current.revision);
    await this.#audit.record(domain, {
      actor: { username: actor.username, via: actor.via },
      action: 'data.collection.deleted',
      target: `collection:${name}`,
      details: { revision: current.revision, schemaSha256: current.schemaSha256 },
    });
  }

  async usage(domain: TenantContext): Promise<DataUsage> {
    const [collections, stored] = await Promise.all([this.list(domain), this.#records.usage(domain)]);
    const limits = planLimits(domain.tenant.plan);
    return {
      collections: collections.length,
      records: stored.records,
      bytes: stored.bytes,
      limits: {
        collections: limits.collections,
        records: limits.records,
        bytes: limits.dataBytes,
        recordBytes: limits.recordBytes,
      },
    };
  }

  async #definition(
    input: CollectionInput,
  ): Promise<Omit<Collection, 'revision' | 'createdAt' | 'createdBy' | 'updatedAt' | 'updatedBy'>> {
    if (!COLLECTION_NAME_PATTERN.test(input.name)) {
      throw new ValidationError('Invalid collection name', [
        { path: 'name', message: 'a lowercase letter, then lowercase letters, digits, _ or - (at most 63)' },
      ]);
    }
    if ((input.description ?? '').length > MAX_DESCRIPTION) {
      throw new ValidationError('Description too long', [
        { path: 'description', message: `at most ${MAX_DESCRIPTION} characters` },
      ]);
    }
    assertStorableNumbers(input.schema, 'schema');
    assertStorableNumbers(input.key?.schema, 'key.schema');
    const schema = await assertValidSchema(input.schema, 'schema');
    const field = input.key?.field;
    if (field !== undefined && !KEY_FIELD_PATTERN.test(field)) {
      throw new ValidationError('Invalid key field', [
        { path: 'key.field', message: 'a property name: letters, digits and _ (at most 64)' },
      ]);
    }
    const keySchema = input.key?.schema;
    const checkedKeySchema =
      keySchema === undefined ? undefined : await assertValidSchema(keySchema, 'key.schema');
    const key: KeyRule = {
      ...(field === undefined ? {} : { field }),
      ...(checkedKeySchema === undefined ? {} : { schema: checkedKeySchema }),
    };
    return {
      name: input.name,
      description: input.description ?? '',
      schema,
      key,
      schemaSha256: sha256(canonicalJson({ schema, key })),
    };
  }

  async #auditChange(
    domain: TenantContext,
    actor: Caller,
    action: string,
    collection: Collection,
    previous: Collection | null,
  ): Promise<void> {
    await this.#audit.record(domain, {
      actor: { username: actor.username, via: actor.via },
      action,
      target: `collection:${collection.name}`,
      details: {
        revision: collection.revision,
        schemaSha256: collection.schemaSha256,
        key: collection.key,
        ...(previous === null
          ? {}
          : {
              previousRevision: previous.revision,
              previousSchemaSha256: previous.schemaSha256,
              schemaChanged: previous.schemaSha256 !== collection.schemaSha256,
            }),
      },
    });
  }
}

/**
 * A collection's definition is stored as a table map, whose numbers are doubles within ±2^53: a
 * number a double does not hold exactly (kept as its text by parseJson) or a whole number beyond
 * 2^53 (`1e21`) could not be stored (a 500, found by the fuzz suite) or would come back as something
 * else. Refused, naming where.
 */
function assertStorableNumbers(value: unknown, field: string): void {
  const found = numbersWhere(
    value,
    field,
    (number) => isRawNumber(number) || (Number.isInteger(number) && !Number.isSafeInteger(number)),
    5,
  );
  if (found.length > 0) {
    throw new ValidationError(`${field} holds a number that cannot be stored exactly`, [
      ...found.map((path) => ({
        path,
        message: 'numbers in a collection definition must be doubles within ±2^53 (9007199254740991)',
      })),
    ]);
  }
}
