/**
 * Least privilege and secret handling in the synthesized template: which roles may touch Secrets
 * Manager and the table, that no statement is a wildcard on data services, that the origin and token
 * secrets only ever appear as `{{resolve:secretsmanager:…}}` dynamic references, that each function
 * may read exactly the message keys its topology lists (by ARN, never their values), and the tenant
 * isolation of the script worker behind its dispatcher (issue 11).
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { ENV } from '../../functions/core/env.ts';
import { ORIGIN_HEADER } from '../../functions/core/headers.ts';
import { tenantLeadingKeys } from '../../functions/core/keys.ts';
import { messageKeyEnv } from '../../functions/core/messages/keys.ts';
import { DISTRIBUTION_TENANT_ACTIONS, TENANT_TAG_VARIABLE } from '../../lib/aws/permissions.ts';
import { defaultCredentialPrefix } from '../../lib/aws/stack.ts';
import { type FunctionName, functions, type MessageKeyPurpose, queues, routes } from '../../lib/topology.ts';
import {
  allStatements,
  environmentOf,
  functionProperties,
  functionRoleStatements,
  isSecretsManagerReference,
  logicalId,
  onlyResource,
  resourcesOfType,
  roleStatements,
  type Statement,
  type Synthesized,
  secretLookingLiterals,
  synthesize,
} from './support.ts';

let synth: Synthesized;

beforeAll(() => {
  synth = synthesize();
});

const allFunctions = Object.keys(functions) as FunctionName[];
const actionsOf = (statements: readonly Statement[]) => statements.flatMap((statement) => statement.Action);
const onService = (service: string) => (action: string) => action.startsWith(`${service}:`);

/** Resource strings of a statement, with tokens flattened (`arn:…:secret:execfabric/…/*`). */
function flatResources(statement: Statement): string[] {
  const flatten = (node: unknown): string => {
    if (typeof node === 'string') return node;
    const join = (node as { 'Fn::Join'?: [string, unknown[]] })['Fn::Join'];
    if (join !== undefined) return join[1].map(flatten).join(join[0]);
    return JSON.stringify(node);
  };
  return statement.Resource.map(flatten);
}

/** The logical id of a message key's secret. */
const keyId = (purpose: MessageKeyPurpose) =>
  logicalId(synth.stack, synth.stack.secrets.messageKeys[purpose].node.defaultChild as never);

/** Secrets Manager statements of a function other than the reading of its message keys. */
function otherSecretStatements(name: FunctionName): Statement[] {
  return functionRoleStatements(synth, name).filter(
    (statement) => statement.Action.some(onService('secretsmanager')) && statement.Sid !== 'ReadMessageKeys',
  );
}

describe('Secrets Manager access', () => {
  it('lets each function read exactly the message keys it declares, by the secrets’ own ARNs', () => {
    for (const name of allFunctions) {
      const reads = functionRoleStatements(synth, name).filter((s) => s.Sid === 'ReadMessageKeys');
      const declared = functions[name].permissions.messageKeys;
      if (declared.length === 0) {
        expect(reads, name).toEqual([]);
        continue;
      }
      expect(reads, name).toHaveLength(1);
      expect(reads[0]?.Action).toEqual(['secretsmanager:GetSecretValue']);
      expect(reads[0]?.Resource).toEqual(declared.map((purpose) => ({ Ref: keyId(purpose) })));
    }
    // Dispatchers of jobs hold only the jobs key; the recorder and the runtimes both.
    expect(functions['tenant-api'].permissions.messageKeys).toEqual(['jobs']);
    expect(functions['script-dispatcher'].permissions.messageKeys).toEqual(['jobs']);
    expect(functions['results-recorder'].permissions.messageKeys).toEqual(['jobs', 'reports']);
  });

  it('names the message keys to the functions by ARN, never by value', () => {
    for (const name of allFunctions) {
      const env = environmentOf(functionProperties(synth, name));
      for (const purpose of ['jobs', 'reports'] as const) {
        const names = messageKeyEnv(purpose);
        expect(env[names.value], name).toBeUndefined();
        const holds = functions[name].permissions.messageKeys.includes(purpose);
        expect(env[names.secret], `${name} ${purpose}`).toEqual(holds ? { Ref: keyId(purpose) } : undefined);
      }
    }
  });

  it('gives the tenant API no Secrets Manager action but reading its message key', () => {
    const actions = actionsOf(functionRoleStatements(synth, 'tenant-api'));
    expect(actions.length).toBeGreaterThan(0);
    expect(otherSecretStatements('tenant-api')).toEqual([]);
  });

  it('gives the script worker neither Secrets Manager (but its keys) nor the platform table', () => {
    const statements = functionRoleStatements(synth, 'script-worker');
    expect(otherSecretStatements('script-worker')).toEqual([]);
    const tableId = logicalId(synth.stack, synth.stack.data.table);
    const onTable = statements.filter((statement) =>
      JSON.stringify(statement.Resource).includes(`"${tableId}"`),
    );
    expect(onTable).toEqual([]);
    // Its only DynamoDB access is on the claims table: claim a job (PutItem), beat its claim and read
    // stop requests (UpdateItem), read another attempt's last sign of life (GetItem).
    const dynamo = statements.filter((statement) => statement.Action.some(onService('dynamodb')));
    const claimsId = logicalId(synth.stack, synth.stack.data.claimsTable);
    expect(dynamo).toEqual([
      expect.objectContaining({
        Action: ['dynamodb:PutItem', 'dynamodb:GetItem', 'dynamodb:UpdateItem'],
        Resource: [{ 'Fn::GetAtt': [claimsId, 'Arn'] }],
      }),
    ]);
  });

  it('lets only the tenant API and the Python worker update a claim, and the HTTP executor only claim', () => {
    const claimsId = logicalId(synth.stack, synth.stack.data.claimsTable);
    const updaters = allFunctions.filter((name) =>
      functionRoleStatements(synth, name).some(
        (statement) =>
          statement.Action.includes('dynamodb:UpdateItem') &&
          JSON.stringify(statement.Resource).includes(`"${claimsId}"`) &&
          statement.Sid === 'ClaimJobs',
      ),
    );
    expect(updaters.sort()).toEqual(['script-worker', 'tenant-api']);
    expect(
      actionsOf(functionRoleStatements(synth, 'http-executor').filter((s) => s.Sid === 'ClaimJobs')),
    ).toEqual(['dynamodb:PutItem']);
  });

  it('keeps every job claimer off the slots and the wait list, which only the dispatcher writes', () => {
    /** The role's statements as synthesized, conditions included. */
    const withConditions = (name: FunctionName) => {
      const role = logicalId(synth.stack, synth.stack.functions.byName[name].role);
      return resourcesOfType(synth.resources, 'AWS::IAM::Policy')
        .filter(([, resource]) => JSON.stringify(resource.Properties?.Roles).includes(`"${role}"`))
        .flatMap(
          ([, resource]) =>
            (resource.Properties?.PolicyDocument as { Statement?: Record<string, unknown>[] } | undefined)
              ?.Statement ?? [],
        );
    };
    const claimers = allFunctions.filter((name) =>
      withConditions(name).some((statement) => statement.Sid === 'ClaimJobs'),
    );
    expect(claimers.sort()).toEqual(['http-executor', 'script-worker', 'tenant-api']);
    for (const name of claimers) {
      for (const statement of withConditions(name).filter((s) => s.Sid === 'ClaimJobs')) {
        expect(statement.Condition).toEqual({
          'ForAllValues:StringNotLike': { 'dynamodb:LeadingKeys': ['slots#*', 'waits#*'] },
          Null: { 'dynamodb:LeadingKeys': 'false' },
        });
      }
    }
    const slotHolders = allFunctions.filter((name) =>
      functionRoleStatements(synth, name).some((statement) => statement.Sid === 'HoldTenantSlots'),
    );
    expect(slotHolders).toEqual(['script-dispatcher']);
  });

  it('lets only the HTTP executor (read) and the governance API (write) use credential secrets, under the credential prefix', () => {
    const withSecrets = allFunctions.filter((name) => otherSecretStatements(name).length > 0);
    expect(withSecrets.sort()).toEqual(['governance-api', 'http-executor']);

    const executor = otherSecretStatements('http-executor');
    expect(actionsOf(executor)).toEqual(['secretsmanager:GetSecretValue']);

    const governance = otherSecretStatements('governance-api');
    expect(actionsOf(governance)).toEqual(
      expect.arrayContaining(['secretsmanager:CreateSecret', 'secretsmanager:PutSecretValue']),
    );
    for (const statement of [...executor, ...governance]) {
      const resources = flatResources(statement);
      expect(resources).toHaveLength(1);
      expect(resources[0]).toMatch(
        new RegExp(
          `^arn:\\{"Ref":"AWS::Partition"\\}:secretsmanager:.*:secret:${defaultCredentialPrefix(synth.stack.stackName)}\\*$`,
        ),
      );
    }
  });

  it('has no statement anywhere with Action "*" or a "*" resource for DynamoDB or Secrets Manager', () => {
    const statements = allStatements(synth.resources);
    expect(statements.length).toBeGreaterThan(10);
    for (const statement of statements) {
      expect(statement.Action).not.toContain('*');
      const dataActions = statement.Action.filter(
        (action) => onService('dynamodb')(action) || onService('secretsmanager')(action),
      );
      if (dataActions.length === 0) continue;
      expect(statement.Resource, JSON.stringify(statement)).not.toContain('*');
      expect(dataActions.filter((action) => action.includes('*'))).toEqual([]);
    }
  });

  it('grants the platform table exactly as each function declares (reads without Scan, writes only for readwrite)', () => {
    const tableId = logicalId(synth.stack, synth.stack.data.table);
    for (const name of allFunctions.filter((fn) => functions[fn].permissions.tableScope === undefined)) {
      const onTable = functionRoleStatements(synth, name).filter((statement) =>
        JSON.stringify(statement.Resource).includes(`"${tableId}"`),
      );
      const actions = actionsOf(onTable);
      const declared = functions[name].permissions.table;
      expect(actions.length > 0, name).toBe(declared !== 'none');
      expect(actions.includes('dynamodb:Query'), name).toBe(declared !== 'none');
      expect(actions.includes('dynamodb:PutItem'), name).toBe(declared === 'readwrite');
      expect(actions, name).not.toContain('dynamodb:Scan');
    }
  });

  it('lets each function invoke exactly the functions it declares, by exact ARN', () => {
    for (const name of allFunctions) {
      const invoke = functionRoleStatements(synth, name).filter((s) =>
        s.Action.includes('lambda:InvokeFunction'),
      );
      const expected = functions[name].permissions.invoke.map((target) => ({
        'Fn::GetAtt': [logicalId(synth.stack, synth.stack.functions.byName[target].fn), 'Arn'],
      }));
      expect(invoke.flatMap((s) => s.Resource)).toEqual(expected);
    }
  });
});

describe('least privilege under a bug', () => {
  const tableArn = () => ({ 'Fn::GetAtt': [logicalId(synth.stack, synth.stack.data.table), 'Arn'] });
  const roleId = () => logicalId(synth.stack, synth.stack.tenantData.role);
  /** DynamoDB statements on the platform table (the claims table is a table of its own). */
  const tableStatements = (name: FunctionName) => {
    const claimsId = logicalId(synth.stack, synth.stack.data.claimsTable);
    return functionRoleStatements(synth, name).filter(
      (statement) =>
        statement.Action.some(onService('dynamodb')) &&
        !JSON.stringify(statement.Resource).includes(`"${claimsId}"`),
    );
  };
  const raw = (name: FunctionName) => {
    const role = logicalId(synth.stack, synth.stack.functions.byName[name].role);
    const policy = resourcesOfType(synth.resources, 'AWS::IAM::Policy').find(([, resource]) =>
      JSON.stringify(resource.Properties?.Roles).includes(`"${role}"`),
    );
    const document = policy?.[1].Properties?.PolicyDocument as
      | { Statement?: Record<string, unknown>[] }
      | undefined;
    return document?.Statement ?? [];
  };

  it('gives the tenant API no table-wide access: only host bindings and public items to read, audit entries to append', () => {
    expect(tableStatements('tenant-api').map((statement) => statement.Action)).toEqual([
      ['dynamodb:GetItem'],
      ['dynamodb:PutItem'],
    ]);
    const statements = raw('tenant-api');
    const read = statements.find((statement) => statement.Sid === 'ReadHostBindingsAndPublicItems');
    expect(read).toMatchObject({
      Resource: tableArn(),
      Condition: {
        'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': ['HOST#*', 'PUBLIC'] },
        Null: { 'dynamodb:LeadingKeys': 'false' },
      },
    });
    const append = statements.find((statement) => statement.Sid === 'AppendPublicAuditEntries');
    expect(append).toMatchObject({
      Resource: tableArn(),
      Condition: {
        'ForAllValues:StringEquals': {
          'dynamodb:LeadingKeys': ['PUBLIC'],
          'dynamodb:Attributes': expect.not.arrayContaining(['passwordHash', 'superAdmin', 'roles']),
        },
      },
    });
    const assume = statements.find((statement) => statement.Sid === 'AssumeTenantSession');
    expect(assume).toMatchObject({
      Action: ['sts:AssumeRole', 'sts:TagSession'],
      Resource: { 'Fn::GetAtt': [roleId(), 'Arn'] },
    });
    expect(environmentOf(functionProperties(synth, 'tenant-api'))[ENV.tenantDataRoleArn]).toEqual({
      'Fn::GetAtt': [roleId(), 'Arn'],
    });
  });

  it('scopes the tenant-data role to the session tenant’s partitions, on the table and its indexes', () => {
    expect(tenantLeadingKeys(TENANT_TAG_VARIABLE)).toEqual([
      `T#${TENANT_TAG_VARIABLE}`,
      `T#${TENANT_TAG_VARIABLE}#*`,
    ]);
    expect(TENANT_TAG_VARIABLE).toBe(['$', '{aws:PrincipalTag/tenant}'].join(''));
    const role = synth.resources[roleId()];
    const statements = roleStatements(synth.resources, roleId());
    expect(statements).toHaveLength(1);
    const policy = resourcesOfType(synth.resources, 'AWS::IAM::Policy').find(([, resource]) =>
      JSON.stringify(resource.Properties?.Roles).includes(`"${roleId()}"`),
    );
    const document = policy?.[1].Properties?.PolicyDocument as
      | { Statement?: Record<string, unknown>[] }
      | undefined;
    const statement = document?.Statement?.[0];
    expect(statement).toMatchObject({
      Sid: 'TenantPartitionsOnly',
      Condition: {
        'ForAllValues:StringLike': {
          'dynamodb:LeadingKeys': tenantLeadingKeys(TENANT_TAG_VARIABLE),
        },
        Null: { 'dynamodb:LeadingKeys': 'false' },
      },
    });
    expect(statements[0]?.Action).not.toContain('dynamodb:Scan');
    expect(JSON.stringify(statements[0]?.Resource)).toContain('/index/GSI1');
    // Only the tenant-scoped functions' roles (the tenant API, the data relay) may take a session,
    // tagged with exactly one tenant.
    const trustDocument = role?.Properties?.AssumeRolePolicyDocument as
      | { Statement?: Record<string, unknown>[] }
      | undefined;
    const trust = trustDocument?.Statement;
    const scoped = allFunctions.filter((name) => functions[name].permissions.tableScope === 'tenant');
    expect(scoped.sort()).toEqual(['data-relay', 'tenant-api']);
    // …and the free entry, whose sessions may only be personal spaces' (`p-…`).
    expect(trust).toHaveLength(scoped.length + 1);
    const trusted = (name: FunctionName, tag: string) =>
      expect.objectContaining({
        Action: ['sts:AssumeRole', 'sts:TagSession'],
        Principal: {
          AWS: { 'Fn::GetAtt': [logicalId(synth.stack, synth.stack.functions.byName[name].role), 'Arn'] },
        },
        Condition: {
          StringLike: { 'aws:RequestTag/tenant': tag },
          'ForAllValues:StringEquals': { 'aws:TagKeys': ['tenant'] },
        },
      });
    expect(trust).toEqual(
      expect.arrayContaining([...scoped.map((name) => trusted(name, '?*')), trusted('free-api', 'p-?*')]),
    );
  });

  it('lets exactly the functions that onboard hosts manage distribution tenants, and read their certificates', () => {
    const managing = allFunctions.filter((name) =>
      actionsOf(functionRoleStatements(synth, name)).includes('cloudfront:CreateDistributionTenant'),
    );
    expect(managing.sort()).toEqual(['governance-api', 'lifecycle-scan']);
    for (const name of managing) {
      expect(actionsOf(functionRoleStatements(synth, name))).toEqual(
        expect.arrayContaining([...DISTRIBUTION_TENANT_ACTIONS, 'cloudfront:GetConnectionGroup']),
      );
      const env = environmentOf(functionProperties(synth, name));
      expect(env[ENV.routingEndpoint], name).toEqual({
        'Fn::GetAtt': [logicalId(synth.stack, synth.stack.edge.connectionGroup), 'RoutingEndpoint'],
      });
    }
  });

  it('serves the free surface from its own function, which reaches only what a sign-up needs', () => {
    expect(
      new Set(routes.filter((route) => route.surface === 'free').map((route) => route.function)),
    ).toEqual(new Set(['free-api']));
    // Every statement of the role but the ones CDK adds without a name (logs, tracing).
    const statements = raw('free-api').filter((statement) => statement.Sid !== undefined);
    for (const unnamed of raw('free-api').filter((statement) => statement.Sid === undefined)) {
      expect(JSON.stringify(unnamed.Action)).not.toMatch(/dynamodb:|sts:/);
    }
    const bySid = new Map(statements.map((statement) => [String(statement.Sid), statement]));
    expect([...bySid.keys()].sort()).toEqual([
      'AppendPublicAuditEntries',
      'AssumePersonalSpaceSession',
      'ClaimPersonalHosts',
      'FreeEditionItems',
      'ReadHostBindingsAndPublicItems',
    ]);
    // No Scan, no BatchWrite, nothing of the public domain but reads and audit appends.
    const actions = actionsOf(functionRoleStatements(synth, 'free-api'));
    expect(actions).not.toContain('dynamodb:Scan');
    expect(actions).not.toContain('dynamodb:BatchWriteItem');
    expect(bySid.get('ReadHostBindingsAndPublicItems')).toMatchObject({
      Action: 'dynamodb:GetItem',
      Condition: { 'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': ['HOST#*', 'PUBLIC'] } },
    });
    // Host claims only under the free hosts: never a customer's host, never the console's.
    const { freeHosts } = synth.context;
    expect(freeHosts.length).toBeGreaterThan(0);
    expect(bySid.get('ClaimPersonalHosts')).toMatchObject({
      Action: ['dynamodb:PutItem', 'dynamodb:DeleteItem'],
      Condition: {
        'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': freeHosts.map((host) => `HOST#*.${host}`) },
      },
    });
    expect(bySid.get('FreeEditionItems')).toMatchObject({
      Condition: { 'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': ['FREE#*'] } },
    });
    expect(bySid.get('AppendPublicAuditEntries')).toMatchObject({
      Action: 'dynamodb:PutItem',
      Condition: { 'ForAllValues:StringEquals': { 'dynamodb:LeadingKeys': ['PUBLIC'] } },
    });
    expect(bySid.get('AssumePersonalSpaceSession')).toMatchObject({
      Condition: { StringLike: { 'aws:RequestTag/tenant': 'p-?*' } },
    });
    expect(actionsOf(functionRoleStatements(synth, 'governance-api'))).toContain(
      'secretsmanager:CreateSecret',
    );
  });
});

describe('Secret values', () => {
  const originSecretId = () =>
    logicalId(synth.stack, synth.stack.secrets.originSecret.node.defaultChild as never);
  const tokenSecretId = () =>
    logicalId(synth.stack, synth.stack.secrets.tokenSecret.node.defaultChild as never);

  it('sends the origin header as a dynamic reference to the generated origin secret', () => {
    const distribution = onlyResource(synth.resources, 'AWS::CloudFront::Distribution');
    const config = distribution.Properties?.DistributionConfig as {
      Origins: { OriginCustomHeaders?: unknown[] }[];
    };
    const headers = config.Origins.flatMap(
      (origin) => (origin.OriginCustomHeaders ?? []) as { HeaderName: string; HeaderValue: unknown }[],
    );
    const origin = headers.filter((header) => header.HeaderName === ORIGIN_HEADER);
    expect(origin).toHaveLength(1);
    expect(isSecretsManagerReference(origin[0]?.HeaderValue, originSecretId())).toBe(true);
  });

  it('gives exactly the API functions the origin secret, and those that sign people in the token key, as dynamic references', () => {
    const apiFunctions = new Set(routes.map((route) => route.function));
    for (const name of allFunctions) {
      const env = environmentOf(functionProperties(synth, name));
      if (apiFunctions.has(name)) {
        expect(isSecretsManagerReference(env[ENV.originSecret], originSecretId()), name).toBe(true);
        if (name === 'free-api') expect(env[ENV.tokenSecret], name).toBeUndefined();
        else expect(isSecretsManagerReference(env[ENV.tokenSecret], tokenSecretId()), name).toBe(true);
      } else {
        expect(env[ENV.originSecret], name).toBeUndefined();
        expect(env[ENV.tokenSecret], name).toBeUndefined();
      }
    }
  });

  it('lets Secrets Manager generate every secret (origin, token, both message keys): no value in the template', () => {
    const secrets = resourcesOfType(synth.resources, 'AWS::SecretsManager::Secret');
    expect(secrets).toHaveLength(4);
    for (const [, secret] of secrets) {
      expect(secret.Properties?.SecretString).toBeUndefined();
      expect(secret.Properties?.GenerateSecretString).toEqual(
        expect.objectContaining({ PasswordLength: 64, ExcludePunctuation: true }),
      );
    }
  });

  it('has no environment variable that looks like a plain secret', () => {
    const secretName = /SECRET|TOKEN|PASSWORD|CREDENTIAL(?!_PREFIX)|KEY/i;
    for (const [id, fn] of resourcesOfType(synth.resources, 'AWS::Lambda::Function')) {
      for (const [name, value] of Object.entries(environmentOf(fn.Properties ?? {}))) {
        if (typeof value === 'string') {
          expect(secretName.test(name), `${id} ${name} is a literal`).toBe(false);
          expect(secretLookingLiterals({ Outputs: value }), `${id} ${name}`).toEqual([]);
        } else if (name.endsWith('_KEY_SECRET')) {
          // A message key's secret, named by its ARN (a Ref), read by the function itself.
          expect(Object.keys(value as object), `${id} ${name}`).toEqual(['Ref']);
        } else if (secretName.test(name)) {
          expect(isSecretsManagerReference(value), `${id} ${name}`).toBe(true);
        }
      }
    }
  });

  it('holds no literal that could be a generated secret', () => {
    const template = synth.template.toJSON();
    expect(secretLookingLiterals(template)).toEqual([]);
    expect(JSON.stringify(template)).not.toContain('"SecretString"');
  });
});

describe('one tenant per execution environment (Lambda tenant isolation)', () => {
  const workerId = () => logicalId(synth.stack, synth.stack.functions.byName['script-worker'].fn);
  const dispatcherId = () => logicalId(synth.stack, synth.stack.functions.byName['script-dispatcher'].fn);

  it('runs the script worker in PER_TENANT isolation mode', () => {
    const worker = functionProperties(synth, 'script-worker');
    expect(worker.TenancyConfig).toEqual({ TenantIsolationMode: 'PER_TENANT' });
    for (const name of allFunctions.filter((other) => other !== 'script-worker')) {
      expect(functionProperties(synth, name).TenancyConfig, name).toBeUndefined();
    }
  });

  it('maps no queue to the worker: the dispatcher reads the script queue and may invoke the worker', () => {
    const mappings = resourcesOfType(synth.resources, 'AWS::Lambda::EventSourceMapping').map(
      ([, mapping]) => mapping.Properties ?? {},
    );
    expect(mappings.length).toBeGreaterThan(0);
    for (const mapping of mappings) {
      expect(JSON.stringify(mapping.FunctionName)).not.toContain(workerId());
    }
    const scriptQueueId = logicalId(synth.stack, synth.stack.queues.byName['script-executions'].queue);
    const scriptMappings = mappings.filter((mapping) =>
      JSON.stringify(mapping.EventSourceArn).includes(`"${scriptQueueId}"`),
    );
    expect(scriptMappings).toHaveLength(1);
    expect(JSON.stringify(scriptMappings[0]?.FunctionName)).toContain(dispatcherId());
    expect(scriptMappings[0]?.FunctionResponseTypes).toEqual(['ReportBatchItemFailures']);
    expect(functions['script-dispatcher'].permissions.invoke).toEqual(['script-worker']);
    // The dispatcher outlives the worker's run, and the queue outlives every retry of the dispatcher.
    expect(functions['script-dispatcher'].timeoutSeconds).toBeGreaterThan(
      functions['script-worker'].timeoutSeconds,
    );
    expect(queues['script-executions'].visibilityTimeoutSeconds).toBeGreaterThanOrEqual(
      6 * functions['script-dispatcher'].timeoutSeconds,
    );
  });

  it('lets the dispatcher hold tenant slots in the claims table and put a waiting job back, nothing more', () => {
    const statements = functionRoleStatements(synth, 'script-dispatcher');
    const claimsId = logicalId(synth.stack, synth.stack.data.claimsTable);
    const dynamo = statements.filter((statement) => statement.Action.some(onService('dynamodb')));
    expect(dynamo).toEqual([
      expect.objectContaining({
        Action: ['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem', 'dynamodb:DeleteItem'],
        Resource: [{ 'Fn::GetAtt': [claimsId, 'Arn'] }],
      }),
    ]);
    const sends = statements.filter((statement) => statement.Action.includes('sqs:SendMessage'));
    const scriptQueueId = logicalId(synth.stack, synth.stack.queues.byName['script-executions'].queue);
    expect(sends.flatMap((statement) => statement.Resource)).toEqual([
      { 'Fn::GetAtt': [scriptQueueId, 'Arn'] },
    ]);
  });

  it('keeps the dead-letter path of script jobs: the recorder reads the script queue’s DLQ', () => {
    expect(queues['script-executions'].deadLetterConsumer).toBe('results-recorder');
    const dlqId = logicalId(synth.stack, synth.stack.queues.byName['script-executions'].deadLetterQueue);
    const recorderId = logicalId(synth.stack, synth.stack.functions.byName['results-recorder'].fn);
    const onDlq = resourcesOfType(synth.resources, 'AWS::Lambda::EventSourceMapping')
      .map(([, mapping]) => mapping.Properties ?? {})
      .filter((mapping) => JSON.stringify(mapping.EventSourceArn).includes(`"${dlqId}"`));
    expect(onDlq).toHaveLength(1);
    expect(JSON.stringify(onDlq[0]?.FunctionName)).toContain(recorderId);
  });

  it('lets the worker relay ctx.http calls to the http-executor and ctx.data calls to the data relay only, and reach neither table nor credentials', () => {
    expect(functions['script-worker'].permissions.invoke).toEqual(['http-executor', 'data-relay']);
    const env = environmentOf(functionProperties(synth, 'script-worker'));
    expect(env.EXECFABRIC_SANDBOX_NETWORK).toBeUndefined(); // the best rung (seccomp in Lambda)
    expect(env.EXECFABRIC_UNSAFE_NO_JOB_NETWORK_ISOLATION).toBeUndefined();
  });
});
