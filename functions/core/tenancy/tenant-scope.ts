/**
 * Least privilege that holds under a bug, for a function that serves one tenant per request (the
 * tenant API). Once the host has bound the request to a tenant, everything it does runs in that
 * tenant's scope, and every DynamoDB request of the function's table client is checked before it
 * is sent:
 *
 * - a request on the scope tenant's partitions (`T#<id>`, and its GSI partitions `T#<id>#…`) goes,
 *   in AWS, with that tenant's own credentials: an STS session of the tenant-data role tagged
 *   `tenant=<id>`, whose policy allows only `dynamodb:LeadingKeys` of those partitions — so even a
 *   request this module wrongly let through is refused by IAM. Sessions are cached per tenant in
 *   the container and refreshed before they expire;
 * - a read of a host binding (`HOST#…`, which resolves the request in the first place) and the few
 *   public items a tenant uses (the HTTP resources granted to it, the templates offered to it, and
 *   the public audit entry of a credential use) go with the function's own role, which has exactly
 *   those: `GetItem` on `HOST#*` and `PUBLIC`, and `PutItem` of an audit entry on `PUBLIC`;
 * - anything else — another tenant's partition, a tenant partition outside any scope, a platform
 *   listing, a write outside the audit entry — is refused here with a PartitionScopeError and never
 *   reaches DynamoDB. Locally (no STS) this check is the whole enforcement; in AWS it is the first
 *   of two.
 *
 * Which partitions are whose is decided by the key module (`partitionOwner`, `tenantLeadingKeys`).
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { AssumeRoleCommand, STSClient } from '@aws-sdk/client-sts';
import {
  BatchGetCommand,
  BatchWriteCommand,
  DeleteCommand,
  DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  QueryCommand,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import { awsClientSettings, ENV, type Environment, optionalEnv } from '../env.ts';
import { AUDIT_ENTRY_PREFIX, type PartitionOwner, partitionOwner } from '../keys.ts';
import { lean, platformClient } from '../sdk-clients.ts';

const scope = new AsyncLocalStorage<string>();

/** Runs `work` in one tenant's scope: its DynamoDB requests may reach that tenant's partitions only. */
export function withTenantScope<T>(tenantId: string, work: () => Promise<T>): Promise<T> {
  return scope.run(tenantId, work);
}

/**
 * Runs `work` outside any tenant's scope: for what a request starts but outlives it, and must not
 * carry its tenant (a layer of an API's core, built by the first request that needs it).
 */
export function outsideTenantScope<T>(work: () => Promise<T>): Promise<T> {
  return scope.exit(work);
}

export function currentTenantScope(): string | undefined {
  return scope.getStore();
}

/** A request reached for a partition the scope does not allow: a bug, refused before it is sent. */
export class PartitionScopeError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PartitionScopeError';
  }
}

/** The tag an STS session carries, which the tenant-data role's policy reads as `${aws:PrincipalTag/tenant}`. */
export const TENANT_SESSION_TAG = 'tenant';

type Input = Record<string, unknown>;

function keyPk(key: unknown): string | undefined {
  const pk = (key as { PK?: unknown } | undefined)?.PK;
  return typeof pk === 'string' ? pk : undefined;
}

/** The partition key value a Query's key condition fixes (on the table, or on a GSI's `<name>PK`). */
function queryPartition(input: Input): string | undefined {
  const attribute = typeof input.IndexName === 'string' ? `${input.IndexName}PK` : 'PK';
  const names = (input.ExpressionAttributeNames ?? {}) as Record<string, string>;
  const values = (input.ExpressionAttributeValues ?? {}) as Record<string, unknown>;
  const condition = String(input.KeyConditionExpression ?? '');
  for (const match of condition.matchAll(/(#?[A-Za-z0-9_]+)\s*=\s*(:[A-Za-z0-9_]+)/g)) {
    const [, left = '', placeholder = ''] = match;
    const name = left.startsWith('#') ? names[left] : left;
    const value = values[placeholder];
    if (name === attribute && typeof value === 'string') return value;
  }
  return undefined;
}

/** Every partition key a request names (its leading keys), by command; undefined for one it cannot tell. */
export function leadingKeysOf(commandName: string, input: Input): string[] | undefined {
  switch (commandName) {
    case 'GetItemCommand':
    case 'DeleteItemCommand':
    case 'UpdateItemCommand': {
      const pk = keyPk(input.Key);
      return pk === undefined ? undefined : [pk];
    }
    case 'PutItemCommand': {
      const pk = keyPk(input.Item);
      return pk === undefined ? undefined : [pk];
    }
    case 'QueryCommand': {
      const pk = queryPartition(input);
      return pk === undefined ? undefined : [pk];
    }
    case 'BatchGetItemCommand': {
      const tables = Object.values((input.RequestItems ?? {}) as Record<string, { Keys?: unknown[] }>);
      const keys = tables.flatMap((table) => (table.Keys ?? []).map(keyPk));
      return keys.every((pk) => pk !== undefined) ? (keys as string[]) : undefined;
    }
    case 'BatchWriteItemCommand': {
      const tables = Object.values((input.RequestItems ?? {}) as Record<string, Input[]>);
      const keys = tables.flat().map((request) => {
        const put = request.PutRequest as { Item?: unknown } | undefined;
        const remove = request.DeleteRequest as { Key?: unknown } | undefined;
        return keyPk(put?.Item ?? remove?.Key);
      });
      return keys.every((pk) => pk !== undefined) ? (keys as string[]) : undefined;
    }
    default:
      return undefined; // Scan, transactions, PartiQL: never from a tenant function
  }
}

const SHARED_READS = new Set(['GetItemCommand']);

/**
 * What a scoped function may reach besides its scope tenant's partitions: which tenants may be a
 * scope at all, and which shared requests (host bindings, public items, the free edition's
 * partitions) go with the function's own role. Everything else is refused before it is sent. The
 * IAM policy of each function's role says the same (lib/aws/permissions.ts).
 */
export interface ScopePolicy {
  /** A short name for errors. */
  readonly name: string;
  /** Whether `tenantId` may be a scope of this function. */
  readonly mayScope: (tenantId: string) => boolean;
  /** Whether a request on a shared partition goes with the function's own role. */
  readonly shared: (commandName: string, owner: PartitionOwner, pk: string, input: Input) => boolean;
}

function isAuditEntryPut(commandName: string, input: Input): boolean {
  return (
    commandName === 'PutItemCommand' &&
    String((input.Item as { SK?: unknown } | undefined)?.SK ?? '').startsWith(AUDIT_ENTRY_PREFIX)
  );
}

/**
 * A function that serves one tenant per request (the tenant API, the data relay): any tenant may be
 * its scope; it reads host bindings and public items, and appends public audit entries.
 */
export const TENANT_FUNCTION_POLICY: ScopePolicy = {
  name: 'a tenant function',
  mayScope: () => true,
  shared: (commandName, owner, _pk, input) =>
    ((owner.kind === 'host' || owner.kind === 'public') && SHARED_READS.has(commandName)) ||
    (owner.kind === 'public' && isAuditEntryPut(commandName, input)),
};

/** The free edition's own partitions: read, written and listed by the free entry. */
const FREE_ITEM_COMMANDS = new Set([
  'GetItemCommand',
  'PutItemCommand',
  'UpdateItemCommand',
  'DeleteItemCommand',
  'QueryCommand',
]);

/** A host binding's own writes: a claim (conditional put) and its release (conditional delete). */
const HOST_CLAIM_COMMANDS = new Set(['PutItemCommand', 'DeleteItemCommand']);

/**
 * The free entry (sign-up): only personal spaces (`isPersonal`) may be its scope, and it makes each
 * one once; besides those it reads host bindings and public items (templates), claims and releases
 * host bindings under the free domains only (`<handle>.<free host>`), appends public audit entries,
 * and reads and writes the free edition's own partitions (leads, offers, rate counters).
 */
export function freeEntryPolicy(options: {
  readonly freeHosts: readonly string[];
  readonly isPersonal: (tenantId: string) => boolean;
}): ScopePolicy {
  const suffixes = options.freeHosts.map((host) => `.${host.toLowerCase()}`);
  const underFreeDomain = (pk: string) => {
    const host = pk.slice(pk.indexOf('#') + 1);
    return suffixes.some((suffix) => host.endsWith(suffix) && host.length > suffix.length);
  };
  return {
    name: 'the free entry',
    mayScope: options.isPersonal,
    shared: (commandName, owner, pk, input) =>
      (owner.kind === 'free' && FREE_ITEM_COMMANDS.has(commandName)) ||
      (owner.kind === 'host' && SHARED_READS.has(commandName)) ||
      (owner.kind === 'host' && HOST_CLAIM_COMMANDS.has(commandName) && underFreeDomain(pk)) ||
      (owner.kind === 'public' && SHARED_READS.has(commandName)) ||
      (owner.kind === 'public' && isAuditEntryPut(commandName, input)),
  };
}

/**
 * Whose credentials a request goes with: the scope tenant's (`tenant`) or the function's own
 * (`function`); throws PartitionScopeError for anything else.
 */
export function principalFor(
  commandName: string,
  input: Input,
  tenantId: string | undefined,
  policy: ScopePolicy = TENANT_FUNCTION_POLICY,
): 'tenant' | 'function' {
  const keys = leadingKeysOf(commandName, input);
  if (keys === undefined || keys.length === 0) {
    throw new PartitionScopeError(`${commandName} names no partition ${policy.name} may use`);
  }
  let principal: 'tenant' | 'function' | undefined;
  for (const pk of keys) {
    const owner = partitionOwner(pk);
    let needs: 'tenant' | 'function';
    if (owner.kind === 'tenant') {
      if (tenantId === undefined) {
        throw new PartitionScopeError(
          `${commandName} on tenant ${owner.tenantId}'s partition outside any tenant scope`,
        );
      }
      if (owner.tenantId !== tenantId) {
        throw new PartitionScopeError(
          `${commandName} on tenant ${owner.tenantId}'s partition in tenant ${tenantId}'s scope`,
        );
      }
      if (!policy.mayScope(tenantId)) {
        throw new PartitionScopeError(`Tenant ${tenantId} is not a scope ${policy.name} may take`);
      }
      needs = 'tenant';
    } else if (policy.shared(commandName, owner, pk, input)) {
      needs = 'function';
    } else {
      throw new PartitionScopeError(
        `${commandName} on the ${owner.kind} partition ${pk} is not for ${policy.name}`,
      );
    }
    if (principal !== undefined && principal !== needs) {
      throw new PartitionScopeError(`${commandName} mixes the tenant's partitions with shared ones`);
    }
    principal = needs;
  }
  return principal ?? 'function';
}

/** A document client per tenant, with that tenant's scoped credentials. */
export interface TenantClients {
  forTenant(tenantId: string): DynamoDBDocumentClient;
}

/** Re-sends a request of the function's client through another document client. */
type Resend = (client: DynamoDBDocumentClient, input: Input) => Promise<unknown>;

const RESEND: Readonly<Record<string, Resend>> = {
  GetItemCommand: (client, input) => client.send(new GetCommand(input as never)),
  PutItemCommand: (client, input) => client.send(new PutCommand(input as never)),
  UpdateItemCommand: (client, input) => client.send(new UpdateCommand(input as never)),
  DeleteItemCommand: (client, input) => client.send(new DeleteCommand(input as never)),
  QueryCommand: (client, input) => client.send(new QueryCommand(input as never)),
  BatchGetItemCommand: (client, input) => client.send(new BatchGetCommand(input as never)),
  BatchWriteItemCommand: (client, input) => client.send(new BatchWriteCommand(input as never)),
};

/**
 * Puts a table client of a tenant function under scope: the check above on every request, and in
 * AWS (`tenantClients` given) the tenant's requests re-sent with the tenant's own credentials.
 */
export function scopeTableClient(
  client: DynamoDBDocumentClient,
  tenantClients?: TenantClients,
  policy: ScopePolicy = TENANT_FUNCTION_POLICY,
): void {
  client.middlewareStack.add(
    (next, context) => async (args) => {
      const commandName = String(context.commandName ?? '');
      const input = args.input as Input;
      const tenantId = currentTenantScope();
      const principal = principalFor(commandName, input, tenantId, policy);
      const resend = RESEND[commandName];
      if (
        principal === 'function' ||
        tenantClients === undefined ||
        tenantId === undefined ||
        resend === undefined
      ) {
        return next(args);
      }
      // The input here is still the document form (marshalling happens later, at serialize).
      const output = await resend(tenantClients.forTenant(tenantId), input);
      return { output: output as never, response: {} };
    },
    { step: 'initialize', priority: 'high', name: 'execfabricTenantScope' },
  );
}

export interface AssumedRoleTenantClientsOptions {
  readonly sts: STSClient;
  /** The tenant-data role, whose policy reads the session's `tenant` tag. */
  readonly roleArn: string;
  /** Endpoint of DynamoDB, where it is not AWS's (local tests). */
  readonly dynamodbEndpoint?: string;
  /** @default the function's region (AWS_REGION) */
  readonly region?: string;
  /** Session length; STS's minimum is 900. @default 900 */
  readonly durationSeconds?: number;
  /** Tenants whose clients are kept; the least recently used beyond it is dropped. @default 500 */
  readonly maxTenants?: number;
}

/**
 * Tenant clients from STS: one AssumeRole per tenant, tagged `tenant=<id>`, cached in the container
 * and refreshed by the SDK before the session expires (it renews credentials within 5 minutes of
 * their expiry), one client per tenant at most `maxTenants` at once.
 */
export class AssumedRoleTenantClients implements TenantClients {
  readonly #options: AssumedRoleTenantClientsOptions;
  readonly #clients = new Map<
    string,
    { readonly base: DynamoDBClient; readonly client: DynamoDBDocumentClient }
  >();

  constructor(options: AssumedRoleTenantClientsOptions) {
    this.#options = options;
  }

  forTenant(tenantId: string): DynamoDBDocumentClient {
    const existing = this.#clients.get(tenantId);
    if (existing !== undefined) {
      this.#clients.delete(tenantId);
      this.#clients.set(tenantId, existing);
      return existing.client;
    }
    const { sts, roleArn, durationSeconds = 900 } = this.#options;
    const where = {
      ...(this.#options.dynamodbEndpoint === undefined ? {} : { endpoint: this.#options.dynamodbEndpoint }),
      ...(this.#options.region === undefined ? {} : { region: this.#options.region }),
    };
    // The SDK's own signer per request: these credentials expire and are refreshed.
    const base = new DynamoDBClient({
      ...where,
      credentials: async () => {
        const { Credentials } = await sts.send(
          new AssumeRoleCommand({
            RoleArn: roleArn,
            RoleSessionName: `execfabric-${tenantId}`.slice(0, 64),
            DurationSeconds: durationSeconds,
            Tags: [{ Key: TENANT_SESSION_TAG, Value: tenantId }],
          }),
        );
        if (Credentials?.AccessKeyId === undefined || Credentials.SecretAccessKey === undefined) {
          throw new PartitionScopeError(`STS gave no credentials for tenant ${tenantId}`);
        }
        return {
          accessKeyId: Credentials.AccessKeyId,
          secretAccessKey: Credentials.SecretAccessKey,
          ...(Credentials.SessionToken === undefined ? {} : { sessionToken: Credentials.SessionToken }),
          ...(Credentials.Expiration === undefined ? {} : { expiration: Credentials.Expiration }),
        };
      },
    });
    lean(base, where);
    const client = DynamoDBDocumentClient.from(base, {
      marshallOptions: { removeUndefinedValues: true, convertClassInstanceToMap: false },
    });
    this.#clients.set(tenantId, { base, client });
    const limit = this.#options.maxTenants ?? 500;
    while (this.#clients.size > limit) {
      const oldest = this.#clients.keys().next();
      if (oldest.done === true) break;
      this.#clients.get(oldest.value)?.base.destroy();
      this.#clients.delete(oldest.value);
    }
    return client;
  }
}

/** Tenant sessions from STS where the stack gives a tenant-data role (AWS); none locally. */
export function tenantClientsFromEnv(env: Environment): AssumedRoleTenantClients | undefined {
  const roleArn = optionalEnv(ENV.tenantDataRoleArn, env);
  if (roleArn === undefined) return undefined;
  // Off AWS (endpoints given), the region comes from the configuration too, not from the process.
  const { endpoint: dynamodbEndpoint, region } = awsClientSettings(env, ENV.dynamodbEndpoint);
  return new AssumedRoleTenantClients({
    sts: platformClient(awsClientSettings(env, ENV.stsEndpoint), (config) => new STSClient(config)),
    roleArn,
    ...(dynamodbEndpoint === undefined ? {} : { dynamodbEndpoint }),
    ...(region === undefined ? {} : { region }),
  });
}
