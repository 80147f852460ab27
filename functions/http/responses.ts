/**
 * Zod schemas of what the APIs answer, shared by several route files (a route file keeps the ones
 * only it answers). They describe responses for the OpenAPI document (openapi.ts) and type each
 * route's `handle`. Records are open (`z.looseObject`): the fields listed are always there with these
 * types; a client ignores fields it does not know, so a record can grow without a breaking change.
 */
import * as z from 'zod';
import { APPROVALS, AVAILABILITY_STATES, RISKS } from '../contract/catalog.ts';
import { EXECUTION_STATUSES } from '../contract/executions.ts';
import { AUDIT_PROBLEM_KINDS } from '../contract/responses.ts';
import { TENANT_STATUSES } from '../contract/tenancy.ts';

const timestamp = z.string().meta({ description: 'ISO 8601 date-time (UTC)' });

/** `{ items, cursor? }`: a page of a listing; pass `cursor` back for the next one. */
export function page<T extends z.ZodType>(item: T) {
  return z.object({
    items: z.array(item),
    cursor: z.string().optional().meta({ description: 'Present when more items follow' }),
  });
}

/** `{ items }`: a whole (bounded) listing. */
export function list<T extends z.ZodType>(item: T) {
  return z.object({ items: z.array(item) });
}

/** A free-text query filter, described for the API reference (checked by the route's own filter). */
export const filterText = (what: string) => z.string().optional().meta({ description: what });

/** Query parameters of a paged listing. */
export const pageQuery = {
  limit: z.string().optional().meta({ description: 'Items per page, 1–100 (default 25)' }),
  cursor: z.string().optional().meta({ description: 'The `cursor` of the previous page' }),
};

export const availabilityState = z.enum(AVAILABILITY_STATES);

export const userSchema = z
  .looseObject({
    username: z.string(),
    roles: z.array(z.string()),
    superAdmin: z.boolean(),
    disabled: z.boolean(),
    consoleTenants: z.array(z.string()),
    createdAt: timestamp,
    updatedAt: timestamp,
  })
  .meta({ id: 'User' });

export const roleSchema = z
  .looseObject({
    name: z.string(),
    permissions: z.array(z.string()),
    builtIn: z.boolean(),
    description: z.string(),
  })
  .meta({ id: 'Role' });

export const accessTokenSchema = z
  .looseObject({
    id: z.string(),
    name: z.string(),
    scopes: z.array(z.string()),
    createdAt: timestamp,
    expiresAt: timestamp,
    lastUsedAt: timestamp.nullable(),
    revoked: z.boolean(),
    endedAt: timestamp.optional().meta({
      description:
        "When the owner's sessions were ended after the token was made (a new password, a disabling, " +
        '"end all sessions"): the token is refused from then on',
    }),
  })
  .meta({ id: 'AccessToken' });

export const menuSchema = z.object({ id: z.string(), label: z.string() }).meta({ id: 'Menu' });

export const brandingSchema = z
  .looseObject({
    displayName: z.string().optional(),
    logo: z.string().optional().meta({ description: 'A data: URL' }),
    colors: z.looseObject({ primary: z.string().optional(), accent: z.string().optional() }).optional(),
    homeText: z.string().optional(),
    menus: z.array(z.string()).optional(),
  })
  .meta({ id: 'Branding' });

export const appearanceSchema = z
  .looseObject({ deliveryMode: z.enum(['dedicated', 'shared']), branding: brandingSchema.optional() })
  .meta({ id: 'Appearance' });

export const tenantSummarySchema = z.looseObject({
  id: z.string(),
  name: z.string(),
  status: z.enum(TENANT_STATUSES),
  plan: z.string(),
  expiresAt: timestamp,
});

export const tenantSchema = tenantSummarySchema
  .extend({
    hosts: z.array(z.string()),
    deliveryMode: z.enum(['dedicated', 'shared']),
    branding: brandingSchema.optional(),
    createdAt: timestamp,
    updatedAt: timestamp,
    customerId: z.string().optional(),
  })
  .meta({ id: 'Tenant' });

export const jsonSchemaValue = z
  .union([z.record(z.string(), z.unknown()), z.boolean()])
  .meta({ description: 'A JSON Schema (2020-12)' });

export const assetBindingSchema = z
  .looseObject({ kind: z.string(), id: z.string() })
  .meta({ id: 'AssetBinding', description: 'What a Skill runs: `{ kind, id, … }` by executor kind' });

/** The `sameNameAs` of an item's answer: the other live items of the tenant with its name. */
export function sameNameAs(items: 'scripts' | 'Skills') {
  return z
    .array(z.string())
    .optional()
    .meta({
      description: `Set when other ${items} of the tenant (not archived) have this name: their ids. Names are labels, so it is allowed; \`execfabric push\` matches by name and stops on them.`,
    });
}

export const skillSchema = z
  .looseObject({
    id: z.string(),
    name: z.string(),
    description: z.string(),
    inputSchema: jsonSchemaValue,
    outputSchema: jsonSchemaValue,
    risk: z.enum(RISKS),
    approval: z.enum(APPROVALS),
    visibility: z.looseObject({ roles: z.array(z.string()) }),
    tags: z.array(z.string()),
    asset: assetBindingSchema,
    limits: z.looseObject({ timeoutSeconds: z.number(), memoryMb: z.number() }),
    egress: z.array(z.string()).optional(),
    collections: z.array(z.string()).optional(),
    parameters: z.array(z.string()).optional(),
    revision: z.number().int(),
    state: availabilityState,
    definitionHash: z.string(),
    createdAt: timestamp,
    updatedAt: timestamp,
    createdBy: z.string(),
    updatedBy: z.string(),
    approvalWarning: z
      .looseObject({
        approvalsRequired: z.number().int(),
        approvers: z.number().int(),
        adminApprovers: z.number().int().optional(),
        refused: z.enum(['all', 'approvers']),
        message: z.string(),
      })
      .optional()
      .meta({
        description:
          "For the Skill's managers: too few people may approve its runs now, so some or all are refused (`approvers-unavailable`)",
      }),
    sameNameAs: sameNameAs('Skills'),
  })
  .meta({ id: 'Skill' });

export const executionErrorSchema = z
  .looseObject({
    type: z.string(),
    message: z.string(),
    trace: z.string().optional(),
    limit: z.string().optional(),
    issues: z.array(z.object({ path: z.string(), message: z.string() })).optional(),
  })
  .meta({ id: 'ExecutionError' });

export const executionSchema = z
  .looseObject({
    id: z.string(),
    skillId: z.string(),
    skillName: z.string(),
    skillRevision: z.number().int(),
    status: z.enum(EXECUTION_STATUSES),
    input: z.unknown(),
    output: z.unknown().optional(),
    error: executionErrorSchema.optional(),
    logs: z.looseObject({ stdout: z.string(), stderr: z.string(), truncated: z.boolean() }).optional(),
    asset: z.looseObject({
      kind: z.string(),
      id: z.string(),
      version: z.union([z.number(), z.string()]),
      sha256: z.string(),
    }),
    requestedBy: z.string(),
    schedule: z
      .object({ id: z.string(), name: z.string() })
      .optional()
      .meta({ description: 'The schedule whose fire requested the run, as its owner' }),
    createdAt: timestamp,
    queuedAt: timestamp.optional(),
    startedAt: timestamp.optional(),
    finishedAt: timestamp.optional(),
    approvalsRequired: z.number().int(),
    rerunOf: z.string().optional(),
    cancelReason: z
      .string()
      .optional()
      .meta({ description: 'The reason given with the cancel, whether the run waited or ran' }),
  })
  .meta({ id: 'Execution' });

export const voteSchema = z
  .looseObject({
    approver: z.string(),
    decision: z.enum(['approve', 'reject']),
    comment: z.string(),
    admin: z.boolean(),
    at: timestamp,
  })
  .meta({ id: 'Vote' });

export const announcementSchema = z
  .looseObject({
    id: z.string(),
    title: z.string(),
    body: z.string(),
    audience: z.array(z.string()),
    severity: z.enum(['info', 'warning', 'critical']),
    createdAt: timestamp,
    createdBy: z.string(),
  })
  .meta({ id: 'Announcement' });

export const auditEntrySchema = z
  .looseObject({
    id: z.string(),
    at: timestamp,
    hash: z.string(),
    actor: z.looseObject({ username: z.string(), via: z.string() }),
    action: z.string(),
    target: z.string(),
    details: z.record(z.string(), z.unknown()).optional(),
    requestId: z.string().optional(),
  })
  .meta({ id: 'AuditEntry' });

export const auditVerificationSchema = z
  .looseObject({
    valid: z.boolean(),
    seals: z.number().int(),
    sealedEntries: z.number().int(),
    unsealedEntries: z.number().int(),
    head: z.string(),
    problems: z.array(z.looseObject({ kind: z.enum(AUDIT_PROBLEM_KINDS), detail: z.string() })),
  })
  .meta({ id: 'AuditVerification' });
