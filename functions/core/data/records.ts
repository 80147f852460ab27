/**
 * Records of a tenant's collections. A record is a JSON value stored as the exact JSON text it was
 * written with (so numbers a script wrote come back as written), under a key, with a version that
 * starts at 1 and grows by one with every write. Writes are conditional: a caller may name the
 * version it expects (0: the record must not exist yet), and the write loses with a
 * `VersionConflictError` naming the current version if the record moved — so of two concurrent
 * writers that read version n, exactly one wins.
 *
 * The tenant's usage (records and bytes) is a counter item, reserved before a write (conditional on
 * the plan's limits, so two writers can never exceed them together) and released if the write does
 * not happen. The store has no transactions: a crash between the reservation and the write leaves
 * the counter higher than the data (never lower), which errs on the side of the limit.
 */
import { schemaIssues } from '../catalog/schemas.ts';
import type { Table } from '../db.ts';
import { type FieldIssue, PayloadTooLargeError, QuotaExceededError, ValidationError } from '../errors.ts';
import type { TenantContext } from '../tenancy/domain.ts';
import { planLimits } from '../tenancy/plans.ts';
import type { Collection } from './collections.ts';
import { VersionConflictError } from './errors.ts';
import { RecordRepository } from './record-repository.ts';

/** Bytes of a key (UTF-8); the sort key holds it after the collection's prefix. */
export const MAX_KEY_BYTES = 256;
export const MAX_PAGE = 100;
export const DEFAULT_PAGE = 50;
/** Deepest nesting of a record (the same bound as request bodies). */
export const MAX_RECORD_DEPTH = 32;
/** Internal retries of a write that named no version and lost a race. */
const WRITE_ATTEMPTS = 4;
// Control characters (C0, DEL, C1) never appear in keys: they would not survive logs, exports or URLs.
const CONTROL = /\p{Cc}/u;

export interface StoredRecord {
  readonly key: string;
  /** The record's JSON text, as written. */
  readonly json: string;
  readonly version: number;
  readonly bytes: number;
  readonly createdAt: string;
  readonly updatedAt: string;
  /** `execution:<id>` for a script's write, else the username. */
  readonly updatedBy: string;
}

export interface RecordPage {
  readonly items: StoredRecord[];
  readonly cursor?: string;
}

export interface WriteOptions {
  /** The version the record must be at (0: it must not exist); absent: write whatever it is. */
  readonly expectedVersion?: number;
  readonly by: string;
}

function depthExceeds(value: unknown, limit: number): boolean {
  const pending: [unknown, number][] = [[value, 1]];
  for (let next = pending.pop(); next !== undefined; next = pending.pop()) {
    const [item, depth] = next;
    if (item === null || typeof item !== 'object') continue;
    if (depth > limit) return true;
    for (const child of Object.values(item)) pending.push([child, depth + 1]);
  }
  return false;
}

/** Problems with a key under the platform's rule and the collection's key rule (empty when valid). */
export async function keyIssues(
  domain: TenantContext,
  collection: Collection,
  key: unknown,
): Promise<FieldIssue[]> {
  if (typeof key !== 'string' || key === '') return [{ path: 'key', message: 'a non-empty string' }];
  if (Buffer.byteLength(key, 'utf8') > MAX_KEY_BYTES)
    return [{ path: 'key', message: `at most ${MAX_KEY_BYTES} bytes` }];
  if (CONTROL.test(key)) return [{ path: 'key', message: 'no control characters' }];
  if (collection.key.schema === undefined) return [];
  return (
    await schemaIssues(
      `data/${domain.tenant.id}/${collection.name}@${collection.revision}/key`,
      collection.key.schema,
      key,
      'key.',
    )
  ).map((issue) => (issue.path === 'key.' ? { ...issue, path: 'key' } : issue));
}

/** Problems with a record's value against the collection's schema and key rule. */
export async function valueIssues(
  domain: TenantContext,
  collection: Collection,
  key: string,
  value: unknown,
): Promise<FieldIssue[]> {
  const issues = await schemaIssues(
    `data/${domain.tenant.id}/${collection.name}@${collection.revision}/record`,
    collection.schema,
    value,
    'value.',
  );
  const field = collection.key.field;
  if (field !== undefined) {
    const own =
      value !== null && typeof value === 'object' && !Array.isArray(value)
        ? (value as Record<string, unknown>)[field]
        : undefined;
    if (own !== key)
      issues.push({
        path: `value.${field}`,
        message: `must equal the record's key (${field} is the key field)`,
      });
  }
  return issues;
}

/** The key of a value in a collection whose key rule names a field, if it has one. */
export function keyFromValue(collection: Collection, value: unknown): string | undefined {
  const field = collection.key.field;
  if (field === undefined || value === null || typeof value !== 'object' || Array.isArray(value))
    return undefined;
  const own = (value as Record<string, unknown>)[field];
  return typeof own === 'string' ? own : undefined;
}

/** A write or delete that names a version the record is not at is a VersionConflictError. */
function expectVersion(collection: string, key: string, expected: number | undefined, current: number): void {
  if (expected !== undefined && expected !== current) {
    throw new VersionConflictError(`${collection}/${key} is at version ${current}, not ${expected}`, current);
  }
}

/** The cursor of a page: the last key, readable and bounded to its collection by construction. */
function encodeCursor(key: string): string {
  return Buffer.from(key, 'utf8').toString('base64url');
}

function decodeCursor(cursor: string, prefix: string): string {
  const key = /^[A-Za-z0-9_-]{1,400}$/.test(cursor) ? Buffer.from(cursor, 'base64url').toString('utf8') : '';
  if (key === '' || !key.startsWith(prefix) || Buffer.byteLength(key, 'utf8') > MAX_KEY_BYTES) {
    throw new ValidationError('Invalid cursor', [{ path: 'cursor', message: 'not a cursor of this query' }]);
  }
  return key;
}

export class Records {
  readonly #store: RecordRepository;
  readonly #now: () => Date;

  constructor(options: { table: Table; now?: () => Date }) {
    this.#store = new RecordRepository(options.table);
    this.#now = options.now ?? (() => new Date());
  }

  async get(domain: TenantContext, collection: Collection, key: string): Promise<StoredRecord | null> {
    const issues = await keyIssues(domain, collection, key);
    if (issues.length > 0) throw new ValidationError('Invalid key', issues);
    return this.#read(domain, collection.name, key);
  }

  /**
   * Writes `json` (a JSON text) under `key`. Checks, in order: key, JSON, depth, size (plan), schema,
   * the expected version, then the tenant's limits. Returns the record as stored.
   */
  async put(
    domain: TenantContext,
    collection: Collection,
    key: string,
    json: string,
    options: WriteOptions,
  ): Promise<StoredRecord> {
    const issues = await keyIssues(domain, collection, key);
    if (issues.length > 0) throw new ValidationError('Invalid key', issues);
    const bytes = Buffer.byteLength(json, 'utf8');
    const limits = planLimits(domain.tenant.plan);
    if (bytes > limits.recordBytes) throw new PayloadTooLargeError('A record', limits.recordBytes);
    let value: unknown;
    try {
      value = JSON.parse(json);
    } catch {
      throw new ValidationError('The record is not JSON', [
        { path: 'value', message: 'must be a JSON value' },
      ]);
    }
    if (depthExceeds(value, MAX_RECORD_DEPTH)) {
      throw new ValidationError('The record is nested too deeply', [
        { path: 'value', message: `at most ${MAX_RECORD_DEPTH} levels of arrays and objects` },
      ]);
    }
    const problems = await valueIssues(domain, collection, key, value);
    if (problems.length > 0)
      throw new ValidationError(`The record does not match the schema of ${collection.name}`, problems);

    const expected = options.expectedVersion;
    for (let attempt = 1; ; attempt++) {
      const current = await this.#read(domain, collection.name, key);
      const currentVersion = current?.version ?? 0;
      expectVersion(collection.name, key, expected, currentVersion);
      const added = current === null ? 1 : 0;
      const grown = bytes - (current?.bytes ?? 0);
      await this.#reserve(domain, added, grown, limits);
      const now = this.#now().toISOString();
      const record: StoredRecord = {
        key,
        json,
        version: currentVersion + 1,
        bytes,
        createdAt: current?.createdAt ?? now,
        updatedAt: now,
        updatedBy: options.by,
      };
      let written: boolean;
      try {
        written = await this.#store.write(
          domain,
          collection.name,
          record,
          current === null ? null : currentVersion,
        );
      } catch (error) {
        await this.#release(domain, added, grown);
        throw error;
      }
      if (written) return record;
      await this.#release(domain, added, grown);
      if (expected !== undefined || attempt >= WRITE_ATTEMPTS) {
        throw await this.#changedConcurrently(domain, collection.name, key);
      }
    }
  }

  /** Deletes a record; false when there was none (and no version was expected). */
  async delete(
    domain: TenantContext,
    collection: Collection,
    key: string,
    options: Pick<WriteOptions, 'expectedVersion'> = {},
  ): Promise<boolean> {
    const issues = await keyIssues(domain, collection, key);
    if (issues.length > 0) throw new ValidationError('Invalid key', issues);
    const expected = options.expectedVersion;
    for (let attempt = 1; ; attempt++) {
      const current = await this.#read(domain, collection.name, key);
      const currentVersion = current?.version ?? 0;
      expectVersion(collection.name, key, expected, currentVersion);
      if (current === null) return false;
      if (!(await this.#store.remove(domain, collection.name, key, currentVersion))) {
        if (expected !== undefined || attempt >= WRITE_ATTEMPTS) {
          throw await this.#changedConcurrently(domain, collection.name, key);
        }
        continue;
      }
      await this.#release(domain, 1, current.bytes);
      return true;
    }
  }

  /** Records whose key starts with `prefix`, in key order, at most `limit` per page. */
  async query(
    domain: TenantContext,
    collection: Collection,
    options: { prefix?: string; limit?: number; cursor?: string; maxBytes?: number },
  ): Promise<RecordPage> {
    const prefix = options.prefix ?? '';
    if (Buffer.byteLength(prefix, 'utf8') > MAX_KEY_BYTES || CONTROL.test(prefix)) {
      throw new ValidationError('Invalid prefix', [
        { path: 'prefix', message: `at most ${MAX_KEY_BYTES} bytes, no control characters` },
      ]);
    }
    const limit = options.limit ?? DEFAULT_PAGE;
    if (!Number.isInteger(limit) || limit < 1 || limit > MAX_PAGE) {
      throw new ValidationError('Invalid limit', [
        { path: 'limit', message: `an integer from 1 to ${MAX_PAGE}` },
      ]);
    }
    const after = options.cursor === undefined ? undefined : decodeCursor(options.cursor, prefix);
    const { items: fetched, more: unread } = await this.#store.range(domain, collection.name, {
      prefix,
      // One more than asked, so the last page is known as the last (no empty page after it).
      limit: limit + 1,
      ...(after === undefined ? {} : { after }),
    });
    const all = fetched.slice(0, limit);
    // A page never carries more than `maxBytes` of records (at least one): the rest comes next.
    const items: StoredRecord[] = [];
    let total = 0;
    for (const record of all) {
      if (items.length > 0 && options.maxBytes !== undefined && total + record.bytes > options.maxBytes)
        break;
      items.push(record);
      total += record.bytes;
    }
    const last = items.at(-1);
    // More follows when DynamoDB had one more than asked, a page was cut by bytes, or it stopped at its
    // own 1 MB read limit.
    const more = fetched.length > limit || items.length < all.length || (unread && fetched.length <= limit);
    return !more || last === undefined ? { items } : { items, cursor: encodeCursor(last.key) };
  }

  /** The conflict of a write that lost its race, naming the version the record is at now. */
  async #changedConcurrently(
    domain: TenantContext,
    collection: string,
    key: string,
  ): Promise<VersionConflictError> {
    const now = (await this.#read(domain, collection, key))?.version ?? 0;
    return new VersionConflictError(`${collection}/${key} changed concurrently (now at version ${now})`, now);
  }

  #read(domain: TenantContext, collection: string, key: string): Promise<StoredRecord | null> {
    return this.#store.find(domain, collection, key);
  }

  /** Adds to the tenant's usage, refused (QuotaExceededError) when it would pass the plan's limits. */
  async #reserve(
    domain: TenantContext,
    records: number,
    bytes: number,
    limits: ReturnType<typeof planLimits>,
  ): Promise<void> {
    if (records === 0 && bytes === 0) return;
    if (
      !(await this.#store.reserve(domain, records, bytes, {
        records: limits.records,
        bytes: limits.dataBytes,
      }))
    ) {
      throw new QuotaExceededError(
        `The ${domain.tenant.plan} plan allows ${limits.records} records and ${limits.dataBytes} bytes of data`,
        { extra: { records: limits.records, bytes: limits.dataBytes } },
      );
    }
  }

  async #release(domain: TenantContext, records: number, bytes: number): Promise<void> {
    if (records === 0 && bytes === 0) return;
    await this.#store.release(domain, records, bytes);
  }
}
