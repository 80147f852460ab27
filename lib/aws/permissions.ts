/**
 * Least privilege, derived from `topology.functions[*].permissions` and nothing else: this module
 * turns one function's declared permissions into IAM statements on named resources. Actions are
 * listed one by one (no service wildcards); resources are exact ARNs, except the two patterns that
 * cannot be known at deploy time (credential secrets under their name prefix, distribution tenants
 * created later by the governance API), which the caller acknowledges to cdk-nag with a reason.
 */
import { Effect, PolicyStatement } from 'aws-cdk-lib/aws-iam';
import { SLOT_KEY_PATTERNS } from '../../functions/core/executions/slots.ts';
import { PERSONAL_TENANT_PREFIX } from '../../functions/core/free/handles.ts';
import {
  FREE_LEADING_KEYS,
  HOST_LEADING_KEYS,
  hostLeadingKeysUnder,
  publicPk,
  tenantLeadingKeys,
} from '../../functions/core/keys.ts';
import { TENANT_SESSION_TAG } from '../../functions/core/tenancy/tenant-scope.ts';
import type { FunctionName, FunctionPermissions, MessageKeyPurpose, QueueName } from '../topology.ts';
import { AwsWiringError } from './errors.ts';

/** Item reads the handlers use. No Scan: lists go through keys and sparse GSIs (DESIGN §5). */
export const TABLE_READ_ACTIONS = [
  'dynamodb:GetItem',
  'dynamodb:BatchGetItem',
  'dynamodb:Query',
  'dynamodb:ConditionCheckItem',
] as const;

/** Item writes (transactions are authorised by these same actions). */
export const TABLE_WRITE_ACTIONS = [
  'dynamodb:PutItem',
  'dynamodb:UpdateItem',
  'dynamodb:DeleteItem',
  'dynamodb:BatchWriteItem',
] as const;

/**
 * `claim`: one conditional put (the HTTP executor). `run`: the Python worker also reads a claim's
 * last sign of life and beats its own claim while the job runs (where it reads a stop request).
 * `cancel`: claims a waiting job, or writes a stop request on a runtime's claim (the tenant API).
 */
export const CLAIM_ACTIONS = {
  claim: ['dynamodb:PutItem'],
  run: ['dynamodb:PutItem', 'dynamodb:GetItem', 'dynamodb:UpdateItem'],
  cancel: ['dynamodb:PutItem', 'dynamodb:UpdateItem'],
} as const;

/** A tenant's concurrency slots: one item per tenant in the claims table. */
export const SLOT_ACTIONS = [
  'dynamodb:GetItem',
  'dynamodb:PutItem',
  'dynamodb:UpdateItem',
  'dynamodb:DeleteItem',
] as const;

/** A function reads each message key it holds, once per cold start. */
export const MESSAGE_KEY_READ_ACTIONS = ['secretsmanager:GetSecretValue'] as const;

/** The executor only reads the credential it was told to use. */
export const CREDENTIAL_READ_ACTIONS = ['secretsmanager:GetSecretValue'] as const;

/** The governance API stores, replaces, describes and removes credentials, and reads one for a trial run. */
export const CREDENTIAL_WRITE_ACTIONS = [
  'secretsmanager:CreateSecret',
  'secretsmanager:PutSecretValue',
  'secretsmanager:DescribeSecret',
  'secretsmanager:DeleteSecret',
  'secretsmanager:GetSecretValue',
  'secretsmanager:UpdateSecretVersionStage',
] as const;

/** Host bindings become distribution tenants of this distribution; onboarding watches their certificates. */
export const DISTRIBUTION_TENANT_ACTIONS = [
  'cloudfront:CreateDistributionTenant',
  'cloudfront:GetDistributionTenant',
  'cloudfront:UpdateDistributionTenant',
  'cloudfront:DeleteDistributionTenant',
  'cloudfront:GetManagedCertificateDetails',
] as const;

export const CONNECTION_GROUP_READ_ACTIONS = ['cloudfront:GetConnectionGroup'] as const;

/** A tenant function takes its tenant's session: assume the tenant-data role with the tenant as a session tag. */
export const TENANT_SESSION_ACTIONS = ['sts:AssumeRole', 'sts:TagSession'] as const;

/**
 * The attributes of an audit entry (core/audit/chain.ts): the one public item a tenant function
 * writes — its content and hash, and the keys of its filter indexes (by actor, target, action, and
 * its category's listing).
 */
export const AUDIT_ENTRY_ATTRIBUTES = [
  'PK',
  'SK',
  'type',
  'id',
  'at',
  'actor',
  'action',
  'target',
  'detailsJson',
  'requestId',
  'hash',
  'GSI1PK',
  'GSI1SK',
  'GSI3PK',
  'GSI3SK',
  'GSI4PK',
  'GSI4SK',
  'GSI5PK',
  'GSI5SK',
] as const;

/** What the free entry does with its own partitions (leads, offers, rate counters). */
export const FREE_ITEM_ACTIONS = [
  'dynamodb:GetItem',
  'dynamodb:PutItem',
  'dynamodb:UpdateItem',
  'dynamodb:DeleteItem',
  'dynamodb:Query',
] as const;

/** A personal host's claim and its release: one conditional put, one conditional delete. */
export const HOST_CLAIM_ACTIONS = ['dynamodb:PutItem', 'dynamodb:DeleteItem'] as const;

/** The session tags a scoped function may ask for: its tenant's, for personal spaces only (the free entry). */
export const PERSONAL_TENANT_TAG_PATTERN = `${PERSONAL_TENANT_PREFIX}?*`;

/** The IAM policy variable a tagged session's tenant is read from. */
export const TENANT_TAG_VARIABLE = `\${aws:PrincipalTag/${TENANT_SESSION_TAG}}`;

/** `ForAllValues` is vacuously true for a request with no leading keys; this makes them required. */
const LEADING_KEYS_PRESENT = { Null: { 'dynamodb:LeadingKeys': 'false' } } as const;

export const SEND_ACTIONS = ['sqs:SendMessage'] as const;

export const INVOKE_ACTIONS = ['lambda:InvokeFunction'] as const;

/** Tenant schedules are made, changed, read and removed one by one; never listed, never a group. */
export const TENANT_SCHEDULE_ACTIONS = [
  'scheduler:CreateSchedule',
  'scheduler:UpdateSchedule',
  'scheduler:GetSchedule',
  'scheduler:DeleteSchedule',
] as const;

/** The resources a function's permissions can point at. */
export interface PermissionTargets {
  readonly tableArn: string;
  readonly tableIndexArns: readonly string[];
  readonly claimsTableArn: string;
  readonly queueArns: Readonly<Record<QueueName, string>>;
  readonly functionArns: Readonly<Partial<Record<FunctionName, string>>>;
  /** The role tenant-scoped functions assume per tenant; required when one is declared. */
  readonly tenantDataRoleArn?: string;
  /** `arn:…:secretsmanager:<region>:<account>:secret:<credential prefix>*`. */
  readonly credentialSecretsArn: string;
  /** The secret of each message key. */
  readonly messageKeyArns: Readonly<Record<MessageKeyPurpose, string>>;
  /** The stage's tenant schedule group; required when a function manages tenant schedules. */
  readonly tenantSchedules?: {
    /** Every schedule of the group (`…:schedule/<group>/*`). */
    readonly scheduleArns: string;
    /** The role the schedules run with, which such a function passes to Scheduler. */
    readonly roleArn: string;
  };
  /** The free entry's hosts: the free-scoped function claims personal hosts under them only. @default [] */
  readonly freeHosts?: readonly string[];
  /** Absent until the edge exists; required when a function may manage distribution tenants. */
  readonly cloudFront?: {
    readonly distributionArn: string;
    readonly distributionTenantsArn: string;
    readonly connectionGroupArn: string;
    /**
     * The stack's own wildcard tenants for personal spaces, which run-time onboarding must never
     * change or delete (it manages only the exact hosts it creates). @default []
     */
    readonly personalHostTenantArns?: readonly string[];
  };
}

/** A declared permission points at a resource the stack did not pass in. */
export class MissingPermissionTargetError extends AwsWiringError {
  constructor(what: string) {
    super(`No resource to grant ${what} on`);
    this.name = 'MissingPermissionTargetError';
  }
}

/** The statements one function's declared permissions amount to. */
export function permissionStatements(
  permissions: FunctionPermissions,
  targets: PermissionTargets,
): PolicyStatement[] {
  const statements: PolicyStatement[] = [];
  const tableResources = [targets.tableArn, ...targets.tableIndexArns];
  if (permissions.table !== 'none' && permissions.tableScope === 'tenant') {
    // Tenant partitions only through the tagged session; its own role keeps the shared reads.
    if (targets.tenantDataRoleArn === undefined)
      throw new MissingPermissionTargetError('the tenant-data role');
    statements.push(
      new PolicyStatement({
        sid: 'ReadHostBindingsAndPublicItems',
        actions: ['dynamodb:GetItem'],
        resources: [targets.tableArn],
        conditions: {
          'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': [HOST_LEADING_KEYS, publicPk] },
          ...LEADING_KEYS_PRESENT,
        },
      }),
      new PolicyStatement({
        sid: 'AppendPublicAuditEntries',
        actions: ['dynamodb:PutItem'],
        resources: [targets.tableArn],
        conditions: {
          'ForAllValues:StringEquals': {
            'dynamodb:LeadingKeys': [publicPk],
            'dynamodb:Attributes': [...AUDIT_ENTRY_ATTRIBUTES],
          },
          ...LEADING_KEYS_PRESENT,
        },
      }),
      statement('AssumeTenantSession', TENANT_SESSION_ACTIONS, [targets.tenantDataRoleArn]),
    );
  } else if (permissions.table === 'readwrite' && permissions.tableScope === 'free') {
    if (targets.tenantDataRoleArn === undefined)
      throw new MissingPermissionTargetError('the tenant-data role');
    const freeHosts = targets.freeHosts ?? [];
    statements.push(
      new PolicyStatement({
        sid: 'ReadHostBindingsAndPublicItems',
        actions: ['dynamodb:GetItem'],
        resources: [targets.tableArn],
        conditions: {
          'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': [HOST_LEADING_KEYS, publicPk] },
          ...LEADING_KEYS_PRESENT,
        },
      }),
      ...(freeHosts.length === 0
        ? []
        : [
            new PolicyStatement({
              sid: 'ClaimPersonalHosts',
              actions: [...HOST_CLAIM_ACTIONS],
              resources: [targets.tableArn],
              conditions: {
                'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': freeHosts.map(hostLeadingKeysUnder) },
                ...LEADING_KEYS_PRESENT,
              },
            }),
          ]),
      new PolicyStatement({
        sid: 'FreeEditionItems',
        actions: [...FREE_ITEM_ACTIONS],
        resources: [targets.tableArn],
        conditions: {
          'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': [FREE_LEADING_KEYS] },
          ...LEADING_KEYS_PRESENT,
        },
      }),
      new PolicyStatement({
        sid: 'AppendPublicAuditEntries',
        actions: ['dynamodb:PutItem'],
        resources: [targets.tableArn],
        conditions: {
          'ForAllValues:StringEquals': {
            'dynamodb:LeadingKeys': [publicPk],
            'dynamodb:Attributes': [...AUDIT_ENTRY_ATTRIBUTES],
          },
          ...LEADING_KEYS_PRESENT,
        },
      }),
      new PolicyStatement({
        sid: 'AssumePersonalSpaceSession',
        actions: [...TENANT_SESSION_ACTIONS],
        resources: [targets.tenantDataRoleArn],
        conditions: {
          StringLike: { [`aws:RequestTag/${TENANT_SESSION_TAG}`]: PERSONAL_TENANT_TAG_PATTERN },
        },
      }),
    );
  } else if (permissions.table !== 'none' && permissions.tableScope === 'hosts') {
    statements.push(
      new PolicyStatement({
        sid: 'ReadHostBindings',
        actions: ['dynamodb:GetItem'],
        resources: [targets.tableArn],
        conditions: {
          'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': [HOST_LEADING_KEYS] },
          ...LEADING_KEYS_PRESENT,
        },
      }),
    );
  } else if (permissions.table === 'read') {
    statements.push(statement('TableRead', TABLE_READ_ACTIONS, tableResources));
  } else if (permissions.table === 'readwrite') {
    statements.push(
      statement('TableReadWrite', [...TABLE_READ_ACTIONS, ...TABLE_WRITE_ACTIONS], tableResources),
    );
  }
  if (permissions.claims !== false) {
    // Job claims only: the slots and the wait list (which the dispatcher starts jobs from) are not theirs.
    statements.push(
      new PolicyStatement({
        sid: 'ClaimJobs',
        actions: [...CLAIM_ACTIONS[permissions.claims]],
        resources: [targets.claimsTableArn],
        conditions: {
          'ForAllValues:StringNotLike': { 'dynamodb:LeadingKeys': [...SLOT_KEY_PATTERNS] },
          ...LEADING_KEYS_PRESENT,
        },
      }),
    );
  }
  if (permissions.slots) {
    statements.push(statement('HoldTenantSlots', SLOT_ACTIONS, [targets.claimsTableArn]));
  }
  if (permissions.httpCredentials === 'read') {
    statements.push(
      statement('ReadHttpCredentials', CREDENTIAL_READ_ACTIONS, [targets.credentialSecretsArn]),
    );
  } else if (permissions.httpCredentials === 'readwrite') {
    statements.push(
      statement('ManageHttpCredentials', CREDENTIAL_WRITE_ACTIONS, [targets.credentialSecretsArn]),
    );
  }
  if (permissions.messageKeys.length > 0) {
    statements.push(
      statement(
        'ReadMessageKeys',
        MESSAGE_KEY_READ_ACTIONS,
        permissions.messageKeys.map((purpose) => targets.messageKeyArns[purpose]),
      ),
    );
  }
  if (permissions.sendTo.length > 0) {
    statements.push(
      statement(
        'SendToQueues',
        SEND_ACTIONS,
        permissions.sendTo.map((queue) => targets.queueArns[queue]),
      ),
    );
  }
  if (permissions.invoke.length > 0) {
    statements.push(
      statement(
        'InvokeFunctions',
        INVOKE_ACTIONS,
        permissions.invoke.map((name) => {
          const arn = targets.functionArns[name];
          if (arn === undefined) throw new MissingPermissionTargetError(`lambda:InvokeFunction (${name})`);
          return arn;
        }),
      ),
    );
  }
  if (permissions.tenantSchedules) {
    const schedules = targets.tenantSchedules;
    if (schedules === undefined) throw new MissingPermissionTargetError('tenant schedule management');
    statements.push(
      statement('ManageTenantSchedules', TENANT_SCHEDULE_ACTIONS, [schedules.scheduleArns]),
      new PolicyStatement({
        sid: 'PassSchedulerRole',
        actions: ['iam:PassRole'],
        resources: [schedules.roleArn],
        conditions: { StringEquals: { 'iam:PassedToService': 'scheduler.amazonaws.com' } },
      }),
    );
  }
  if (permissions.cloudFrontTenants) {
    const cloudFront = targets.cloudFront;
    if (cloudFront === undefined) throw new MissingPermissionTargetError('distribution tenant management');
    statements.push(
      statement('ManageDistributionTenants', DISTRIBUTION_TENANT_ACTIONS, [
        cloudFront.distributionArn,
        cloudFront.distributionTenantsArn,
      ]),
      statement('ReadConnectionGroup', CONNECTION_GROUP_READ_ACTIONS, [cloudFront.connectionGroupArn]),
    );
    const wildcards = cloudFront.personalHostTenantArns ?? [];
    if (wildcards.length > 0) {
      // Disabling or deleting one would take every personal space under its free host offline.
      statements.push(
        new PolicyStatement({
          sid: 'KeepPersonalHostsWildcard',
          effect: Effect.DENY,
          actions: ['cloudfront:UpdateDistributionTenant', 'cloudfront:DeleteDistributionTenant'],
          resources: [...wildcards],
        }),
      );
    }
  }
  return statements;
}

/**
 * The tenant-data role's one statement: the table access a tenant function needs, on the table and
 * each GSI, for the leading keys of the session's tenant only (`T#<tenant>` and its own GSI
 * partitions `T#<tenant>#…`; the key module decides them). A GSI query's leading key is the index's
 * partition key: the approvals inbox (`T#<tenant>#APPROVALS`) is the only index a tenant queries.
 */
export function tenantDataStatements(
  targets: Pick<PermissionTargets, 'tableArn' | 'tableIndexArns'>,
): PolicyStatement[] {
  return [
    new PolicyStatement({
      sid: 'TenantPartitionsOnly',
      actions: [...TABLE_READ_ACTIONS, ...TABLE_WRITE_ACTIONS],
      resources: [targets.tableArn, ...targets.tableIndexArns],
      conditions: {
        'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': tenantLeadingKeys(TENANT_TAG_VARIABLE) },
        ...LEADING_KEYS_PRESENT,
      },
    }),
  ];
}

function statement(sid: string, actions: readonly string[], resources: readonly string[]): PolicyStatement {
  return new PolicyStatement({ sid, actions: [...actions], resources: [...resources] });
}
