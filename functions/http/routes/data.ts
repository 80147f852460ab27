/**
 * A tenant's extension data over the API: collections (tenant admins define them; every schema
 * change is audited), their records (browse by key prefix, read, write with an expected version,
 * delete) and an NDJSON export. A record's value is answered as the exact JSON text it was stored
 * with, so numbers a script wrote come back as written.
 */
import * as z from 'zod';
import type { Collection } from '../../core/data/collections.ts';
import { MAX_PAGE, type StoredRecord, valueIssues } from '../../core/data/records.ts';
import { NotFoundError, ValidationError } from '../../core/errors.ts';
import { NEXT_CURSOR_HEADER } from '../../core/headers.ts';
import type { SignedInCore } from '../../core/platform.ts';
import type { TenantContext } from '../../core/tenancy/domain.ts';
import { jsonSchemaValue, list, page, pageQuery } from '../responses.ts';
import { media, type Route, route } from '../router.ts';
import { jsonSchemaField } from './domains.ts';

/** Records per export page, and the bytes of record JSON one page carries at most. */
export const EXPORT_PAGE = MAX_PAGE;
export const EXPORT_PAGE_BYTES = 4 * 1024 * 1024;

const keyRule = z.strictObject({
  field: z.string().min(1).max(64).optional(),
  schema: jsonSchemaField.optional(),
});

const collectionBody = z.strictObject({
  name: z.string().min(1).max(63),
  description: z.string().max(500).optional(),
  schema: jsonSchemaField,
  key: keyRule.optional(),
});

const collectionUpdateBody = z.strictObject({
  description: z.string().max(500).optional(),
  schema: jsonSchemaField,
  key: keyRule.optional(),
  revision: z.number().int().min(1).optional(),
});

const recordBody = z.strictObject({
  value: z.unknown(),
  expectedVersion: z.number().int().min(0).optional(),
});

const collectionSchema = z
  .looseObject({
    name: z.string(),
    description: z.string(),
    schema: jsonSchemaValue,
    key: z.looseObject({ field: z.string().optional(), schema: jsonSchemaValue.optional() }),
    revision: z.number().int(),
    schemaSha256: z.string(),
    createdAt: z.string(),
    updatedAt: z.string(),
  })
  .meta({ id: 'Collection' });

const usageSchema = z
  .looseObject({
    collections: z.number().int(),
    records: z.number().int(),
    bytes: z.number().int(),
    limits: z.looseObject({
      collections: z.number().int(),
      records: z.number().int(),
      bytes: z.number().int(),
      recordBytes: z.number().int(),
    }),
  })
  .meta({ id: 'DataUsage' });

const recordSchema = z
  .looseObject({
    key: z.string(),
    version: z.number().int(),
    bytes: z.number().int(),
    createdAt: z.string(),
    updatedAt: z.string(),
    updatedBy: z.string(),
    matchesSchema: z
      .boolean()
      .meta({ description: "Whether the value still matches the collection's schema" }),
    value: z.unknown(),
  })
  .meta({ id: 'DataRecord' });

function versionQuery(raw: string | undefined): number | undefined {
  if (raw === undefined) return undefined;
  const version = Number(raw);
  if (!/^\d{1,15}$/.test(raw) || !Number.isSafeInteger(version)) {
    throw new ValidationError('Invalid expectedVersion', [
      { path: 'expectedVersion', message: 'a whole number' },
    ]);
  }
  return version;
}

function limitQuery(raw: string | undefined): number | undefined {
  if (raw === undefined) return undefined;
  const limit = Number(raw);
  if (!/^\d{1,3}$/.test(raw) || limit < 1 || limit > MAX_PAGE) {
    throw new ValidationError('Invalid limit', [{ path: 'limit', message: `1 to ${MAX_PAGE}` }]);
  }
  return limit;
}

/** A record as JSON text, its value inserted verbatim. */
async function recordText(
  domain: TenantContext,
  collection: Collection,
  record: StoredRecord,
): Promise<string> {
  let matches = true;
  try {
    matches = (await valueIssues(domain, collection, record.key, JSON.parse(record.json))).length === 0;
  } catch {
    matches = false;
  }
  const head = JSON.stringify({
    key: record.key,
    version: record.version,
    bytes: record.bytes,
    createdAt: record.createdAt,
    updatedAt: record.updatedAt,
    updatedBy: record.updatedBy,
    matchesSchema: matches,
  });
  return `${head.slice(0, -1)},"value":${record.json}}`;
}

export function dataRoutes(core: SignedInCore): Route[] {
  const collection = (domain: TenantContext, name: string | undefined) =>
    core.collections.get(domain, name ?? '');
  return [
    route({
      method: 'GET',
      path: '/api/data/collections',
      serves: 'tenant',
      auth: 'caller',
      summary: "The tenant's collections and its data usage",
      responses: { 200: list(collectionSchema).extend({ usage: usageSchema }) },
      permission: 'data:read',
      handle: async ({ domain: tenant }) => {
        const [items, usage] = await Promise.all([
          core.collections.list(tenant),
          core.collections.usage(tenant),
        ]);
        return { status: 200, body: { items, usage } };
      },
    }),
    route({
      method: 'GET',
      path: '/api/data/usage',
      serves: 'tenant',
      auth: 'caller',
      summary: "The tenant's data usage and limits",
      responses: { 200: usageSchema },
      permission: 'data:read',
      handle: async ({ domain }) => ({
        status: 200,
        body: await core.collections.usage(domain),
      }),
    }),
    route({
      method: 'POST',
      path: '/api/data/collections',
      serves: 'tenant',
      auth: 'caller',
      summary: 'Define a collection (a JSON Schema and a key rule)',
      responses: { 201: collectionSchema },
      permission: 'data:manage',
      body: collectionBody,
      maxBodyBytes: 128 * 1024,
      handle: async ({ domain, caller, request }) => ({
        status: 201,
        body: await core.collections.create(domain, request.body, caller),
      }),
    }),
    route({
      method: 'GET',
      path: '/api/data/collections/{name}',
      serves: 'tenant',
      auth: 'caller',
      summary: 'One collection',
      responses: { 200: collectionSchema },
      permission: 'data:read',
      handle: async ({ domain, request }) => ({
        status: 200,
        body: await collection(domain, request.params.name),
      }),
    }),
    route({
      method: 'PUT',
      path: '/api/data/collections/{name}',
      serves: 'tenant',
      auth: 'caller',
      summary: "Change a collection's schema or key rule",
      responses: { 200: collectionSchema },
      permission: 'data:manage',
      body: collectionUpdateBody,
      maxBodyBytes: 128 * 1024,
      handle: async ({ domain, caller, request }) => {
        const { revision, ...definition } = request.body;
        return {
          status: 200,
          body: await core.collections.update(
            domain,
            request.params.name ?? '',
            definition,
            caller,
            revision,
          ),
        };
      },
    }),
    route({
      method: 'DELETE',
      path: '/api/data/collections/{name}',
      serves: 'tenant',
      auth: 'caller',
      summary: 'Delete a collection and its records',
      responses: { 204: null },
      permission: 'data:manage',
      handle: async ({ domain, caller, request }) => {
        await core.collections.remove(domain, request.params.name ?? '', caller);
        return { status: 204 };
      },
    }),
    route({
      method: 'GET',
      path: '/api/data/collections/{name}/records',
      serves: 'tenant',
      auth: 'caller',
      summary: 'Records of a collection, in key order',
      query: z.object({
        ...pageQuery,
        prefix: z.string().optional().meta({ description: 'Records whose key starts with this' }),
      }),
      responses: { 200: media('application/json', { schema: page(recordSchema) }) },
      permission: 'data:read',
      handle: async ({ domain: tenant, request }) => {
        const found = await collection(tenant, request.params.name);
        const limit = limitQuery(request.query.limit);
        const page = await core.records.query(tenant, found, {
          ...(request.query.prefix === undefined ? {} : { prefix: request.query.prefix }),
          ...(limit === undefined ? {} : { limit }),
          ...(request.query.cursor === undefined ? {} : { cursor: request.query.cursor }),
          maxBytes: EXPORT_PAGE_BYTES,
        });
        const items = (await Promise.all(page.items.map((record) => recordText(tenant, found, record)))).join(
          ',',
        );
        const cursor = page.cursor === undefined ? '' : `,"cursor":${JSON.stringify(page.cursor)}`;
        return {
          status: 200,
          raw: { contentType: 'application/json', text: `{"items":[${items}]${cursor}}` },
        };
      },
    }),
    route({
      method: 'GET',
      path: '/api/data/collections/{name}/export',
      serves: 'tenant',
      auth: 'caller',
      summary: 'Export a collection as NDJSON, one record a line',
      query: z.object({ cursor: pageQuery.cursor }),
      responses: {
        200: media('application/x-ndjson', {
          schema: recordSchema,
          description: "One record per line; the next page's cursor is in x-execfabric-next-cursor",
        }),
      },
      permission: 'data:read',
      handle: async ({ domain: tenant, request }) => {
        const found = await collection(tenant, request.params.name);
        const page = await core.records.query(tenant, found, {
          limit: EXPORT_PAGE,
          ...(request.query.cursor === undefined ? {} : { cursor: request.query.cursor }),
          maxBytes: EXPORT_PAGE_BYTES,
        });
        const lines = (
          await Promise.all(page.items.map(async (record) => `${await recordText(tenant, found, record)}\n`))
        ).join('');
        return {
          status: 200,
          raw: { contentType: 'application/x-ndjson', text: lines },
          headers: {
            'content-disposition': `attachment; filename="${found.name}.ndjson"`,
            ...(page.cursor === undefined ? {} : { [NEXT_CURSOR_HEADER]: page.cursor }),
          },
        };
      },
    }),
    route({
      method: 'GET',
      path: '/api/data/collections/{name}/records/{key}',
      serves: 'tenant',
      auth: 'caller',
      summary: 'One record',
      responses: { 200: media('application/json', { schema: recordSchema }) },
      permission: 'data:read',
      handle: async ({ domain: tenant, request }) => {
        const found = await collection(tenant, request.params.name);
        const record = await core.records.get(tenant, found, request.params.key ?? '');
        if (record === null) {
          throw new NotFoundError(`No record ${request.params.key} in ${found.name}`);
        }
        return {
          status: 200,
          raw: { contentType: 'application/json', text: await recordText(tenant, found, record) },
        };
      },
    }),
    route({
      method: 'PUT',
      path: '/api/data/collections/{name}/records/{key}',
      serves: 'tenant',
      auth: 'caller',
      summary: 'Write a record (conditionally, with expectedVersion)',
      responses: {
        200: media('application/json', { schema: recordSchema }),
        201: media('application/json', { schema: recordSchema }),
      },
      permission: 'data:manage',
      body: recordBody,
      maxBodyBytes: 1024 * 1024,
      handle: async ({ domain: tenant, caller, request }) => {
        const found = await collection(tenant, request.params.name);
        const key = request.params.key ?? '';
        const record = await core.records.put(
          tenant,
          found,
          key,
          JSON.stringify(request.body.value ?? null),
          {
            by: caller.username,
            ...(request.body.expectedVersion === undefined
              ? {}
              : { expectedVersion: request.body.expectedVersion }),
          },
        );
        await core.audit.record(tenant, {
          actor: { username: caller.username, via: caller.via },
          action: 'data.record.written',
          target: `record:${found.name}/${key}`,
          details: { version: record.version, bytes: record.bytes },
        });
        return {
          status: record.version === 1 ? 201 : 200,
          raw: { contentType: 'application/json', text: await recordText(tenant, found, record) },
        };
      },
    }),
    route({
      method: 'DELETE',
      path: '/api/data/collections/{name}/records/{key}',
      serves: 'tenant',
      auth: 'caller',
      summary: 'Delete a record',
      query: z.object({
        expectedVersion: z.string().optional().meta({ description: 'Delete only at this version' }),
      }),
      responses: { 204: null },
      permission: 'data:manage',
      handle: async ({ domain: tenant, caller, request }) => {
        const found = await collection(tenant, request.params.name);
        const key = request.params.key ?? '';
        const expectedVersion = versionQuery(request.query.expectedVersion);
        const deleted = await core.records.delete(tenant, found, key, {
          ...(expectedVersion === undefined ? {} : { expectedVersion }),
        });
        if (!deleted) {
          throw new NotFoundError(`No record ${key} in ${found.name}`);
        }
        await core.audit.record(tenant, {
          actor: { username: caller.username, via: caller.via },
          action: 'data.record.deleted',
          target: `record:${found.name}/${key}`,
        });
        return { status: 204 };
      },
    }),
  ];
}
