/**
 * The data relay: what a script's `ctx.data.collection(name)` calls reach. The script worker never
 * touches the table; it relays each call with the run's data grant — the tenant, the execution, the
 * collections the Skill declares and an expiry, sealed under the jobs key at dispatch — to the
 * `data-relay` function, which holds table access and the jobs key and serves only:
 *
 * - a grant whose MAC verifies (a forged or altered one is refused and logged as a security event);
 * - before its expiry, and while its run is still unfinished (a grant replayed after its run ended
 *   is refused: runs end, grants do not need a nonce store);
 * - the grant's tenant's partition (the tenant comes from the verified grant, never from the call);
 * - a collection the grant names (declared by the Skill, part of its definition hash).
 *
 * Every refusal is an answer to the script (`ok: false`), never a thrown error.
 */

import { MAX_SKILL_COLLECTIONS } from '../../contract/catalog.ts';
import { ExecFabricError, PayloadTooLargeError, QuotaExceededError, ValidationError } from '../errors.ts';
import { type MessageSigner, sealedSchema, unseal } from '../messages/signing.ts';
import type { TenantContext } from '../tenancy/domain.ts';
import * as z from '../zod-mini.ts';
import type { Collection, Collections } from './collections.ts';
import { VersionConflictError } from './errors.ts';
import { keyFromValue, MAX_PAGE, type Records, type StoredRecord } from './records.ts';

/** Collections one Skill may declare (the catalogue's rule). */
export { MAX_SKILL_COLLECTIONS };
/** Bytes of records one `query` answer carries at most (the next page holds the rest). */
export const QUERY_REPLY_BYTES = 1024 * 1024;

/** What a script run may reach through `ctx.data`, sealed under the jobs key at dispatch. */
export interface DataGrant {
  readonly v: 1;
  readonly tenantId: string;
  readonly executionId: string;
  readonly skillId: string;
  readonly collections: readonly string[];
  readonly issuedAt: string;
  readonly expiresAt: string;
}

export const dataGrantSchema = z.strictObject({
  v: z.literal(1),
  tenantId: z.string().check(z.minLength(1), z.maxLength(64)),
  executionId: z.string().check(z.minLength(1), z.maxLength(256)),
  skillId: z.string().check(z.minLength(1), z.maxLength(64)),
  collections: z
    .array(z.string().check(z.minLength(1), z.maxLength(64)))
    .check(z.maxLength(MAX_SKILL_COLLECTIONS)),
  issuedAt: z.string(),
  expiresAt: z.string(),
});

const collectionName = z.string().check(z.minLength(1), z.maxLength(64));
const key = z.string().check(z.minLength(1), z.maxLength(1024));
const version = z.int().check(z.minimum(0), z.maximum(Number.MAX_SAFE_INTEGER));

export const dataCallSchema = z.discriminatedUnion('action', [
  z.strictObject({ action: z.literal('get'), collection: collectionName, key }),
  z.strictObject({
    action: z.literal('put'),
    collection: collectionName,
    key: z.optional(key),
    json: z.string().check(z.maxLength(1024 * 1024)),
    expectedVersion: z.optional(version),
  }),
  z.strictObject({
    action: z.literal('delete'),
    collection: collectionName,
    key,
    expectedVersion: z.optional(version),
  }),
  z.strictObject({
    action: z.literal('query'),
    collection: collectionName,
    prefix: z.optional(z.string().check(z.maxLength(1024))),
    limit: z.optional(z.int().check(z.minimum(1), z.maximum(MAX_PAGE))),
    cursor: z.optional(z.string().check(z.maxLength(1024))),
  }),
]);

export type DataCall = z.output<typeof dataCallSchema>;

export const dataRelaySchema = z.strictObject({
  action: z.literal('data'),
  grant: sealedSchema(64 * 1024),
  call: z.unknown(),
});

export interface DataRecordView {
  readonly key: string;
  /** The record's JSON text, as written. */
  readonly json: string;
  readonly version: number;
  readonly updatedAt: string;
}

export type DataReply =
  | { readonly ok: true; readonly record: DataRecordView | null }
  | { readonly ok: true; readonly written: { key: string; version: number; updatedAt: string } }
  | { readonly ok: true; readonly deleted: boolean }
  | { readonly ok: true; readonly items: DataRecordView[]; readonly cursor?: string }
  | {
      readonly ok: false;
      readonly error: {
        readonly type: string;
        readonly message: string;
        readonly currentVersion?: number;
        readonly issues?: readonly { path: string; message: string }[];
      };
    };

export interface DataRelayPorts {
  readonly signer: MessageSigner;
  readonly collections: Pick<Collections, 'find'>;
  readonly records: Records;
  /** The tenant's context (null when the tenant does not exist). */
  tenant(tenantId: string): Promise<TenantContext | null>;
  /** Whether the run may still act: it exists in that tenant and has not finished. */
  runIsLive(domain: TenantContext, executionId: string): Promise<boolean>;
  log(level: 'info' | 'warn' | 'error', message: string, fields: Record<string, unknown>): void;
  readonly now?: () => Date;
  /**
   * Runs the table work of a verified grant in its tenant's scope (core/tenancy/tenant-scope.ts: in
   * AWS, that tenant's own STS session, LeadingKeys-limited). @default run it as it is
   */
  inTenant?<T>(tenantId: string, work: () => Promise<T>): Promise<T>;
}

function refused(type: string, message: string, extra: Record<string, unknown> = {}): DataReply {
  return { ok: false, error: { type, message, ...extra } };
}

function view(record: StoredRecord): DataRecordView {
  return { key: record.key, json: record.json, version: record.version, updatedAt: record.updatedAt };
}

/** One `ctx.data` call relayed by a script worker with its run's sealed data grant. */
export async function relayDataCall(input: unknown, ports: DataRelayPorts): Promise<DataReply> {
  const relay = dataRelaySchema.safeParse(input);
  if (!relay.success) return refused('InvalidRelay', 'The relay request is malformed');
  const raw = unseal(ports.signer, 'data-grant', relay.data.grant);
  const grant = raw === null ? null : dataGrantSchema.safeParse(raw);
  if (grant === null || !grant.success) {
    ports.log('warn', 'Refused a relayed data call whose grant does not verify', {
      securityEvent: 'grant-refused',
    });
    return refused('GrantRefused', "The run's data grant could not be verified");
  }
  const now = (ports.now ?? (() => new Date()))();
  if (Date.parse(grant.data.expiresAt) <= now.getTime()) {
    return refused('GrantExpired', "The run's data grant has expired");
  }
  const call = dataCallSchema.safeParse(relay.data.call);
  if (!call.success) {
    return refused(
      'InvalidCall',
      call.error.issues.map((issue) => `${issue.path.join('.') || 'call'}: ${issue.message}`).join('; '),
    );
  }
  const wanted = call.data.collection;
  if (!grant.data.collections.includes(wanted)) {
    return refused(
      'CollectionNotDeclared',
      `The collection ${wanted} is not declared by this Skill; a tenant admin adds it to the Skill's collections`,
    );
  }
  const verified = grant.data;
  const inTenant = ports.inTenant?.bind(ports) ?? (<T>(_: string, work: () => Promise<T>) => work());
  return inTenant(verified.tenantId, () => serve(verified, call.data, ports));
}

/** A verified grant's call, in its tenant's partition only. */
async function serve(grant: DataGrant, call: DataCall, ports: DataRelayPorts): Promise<DataReply> {
  const wanted = call.collection;
  const domain = await ports.tenant(grant.tenantId);
  if (domain === null) return refused('GrantRefused', "The run's tenant no longer exists");
  if (!(await ports.runIsLive(domain, grant.executionId))) {
    ports.log('warn', 'Refused a data call for a run that has finished', {
      securityEvent: 'grant-replayed',
      tenantId: grant.tenantId,
      executionId: grant.executionId,
    });
    return refused('RunFinished', 'The run this grant was issued for has finished');
  }
  const collection = await ports.collections.find(domain, wanted);
  if (collection === null) {
    return refused('CollectionNotFound', `The collection ${wanted} does not exist (any more)`);
  }
  try {
    return await perform(domain, collection, call, grant.executionId, ports.records);
  } catch (error) {
    if (error instanceof VersionConflictError)
      return refused('VersionConflict', error.message, { currentVersion: error.currentVersion });
    if (error instanceof PayloadTooLargeError) return refused('RecordTooLarge', error.message);
    if (error instanceof QuotaExceededError) return refused('QuotaExceeded', error.message);
    if (error instanceof ValidationError) {
      const path = error.issues[0]?.path ?? '';
      const type = path.startsWith('value')
        ? 'InvalidRecord'
        : path === 'key' || path.startsWith('key.')
          ? 'InvalidKey'
          : 'InvalidCall';
      return refused(type, error.message, { issues: error.issues.slice(0, 20) });
    }
    if (error instanceof ExecFabricError) return refused(error.name, error.message);
    ports.log('error', 'Unexpected data relay failure', {
      tenantId: grant.tenantId,
      executionId: grant.executionId,
      error: (error as Error).name,
    });
    return refused('DataError', 'The call failed unexpectedly; it may be retried');
  }
}

async function perform(
  domain: TenantContext,
  collection: Collection,
  call: DataCall,
  executionId: string,
  records: Records,
): Promise<DataReply> {
  switch (call.action) {
    case 'get': {
      const record = await records.get(domain, collection, call.key);
      return { ok: true, record: record === null ? null : view(record) };
    }
    case 'put': {
      let recordKey = call.key;
      if (recordKey === undefined) {
        let value: unknown;
        try {
          value = JSON.parse(call.json);
        } catch {
          value = undefined;
        }
        recordKey = keyFromValue(collection, value);
        if (recordKey === undefined) {
          throw new ValidationError('A put needs a key', [
            {
              path: 'key',
              message:
                collection.key.field === undefined
                  ? 'required: this collection takes keys from its callers'
                  : `required, or the record's ${collection.key.field} property`,
            },
          ]);
        }
      }
      const written = await records.put(domain, collection, recordKey, call.json, {
        by: `execution:${executionId}`,
        ...(call.expectedVersion === undefined ? {} : { expectedVersion: call.expectedVersion }),
      });
      return {
        ok: true,
        written: { key: written.key, version: written.version, updatedAt: written.updatedAt },
      };
    }
    case 'delete':
      return {
        ok: true,
        deleted: await records.delete(domain, collection, call.key, {
          ...(call.expectedVersion === undefined ? {} : { expectedVersion: call.expectedVersion }),
        }),
      };
    case 'query': {
      const page = await records.query(domain, collection, {
        ...(call.prefix === undefined ? {} : { prefix: call.prefix }),
        ...(call.limit === undefined ? {} : { limit: call.limit }),
        ...(call.cursor === undefined ? {} : { cursor: call.cursor }),
        maxBytes: QUERY_REPLY_BYTES,
      });
      return {
        ok: true,
        items: page.items.map(view),
        ...(page.cursor === undefined ? {} : { cursor: page.cursor }),
      };
    }
  }
}
