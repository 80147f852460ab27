/**
 * The topology as the template carries it: queues with their dead-letter queues and consumers, the
 * tables, the functions (runtime, architecture, sizing, environment), the HTTP API routes and the
 * schedules. Every expectation is computed from `lib/topology.ts`, so the two cannot drift.
 */
import { Match } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, it } from 'vitest';
import { ENV, functionNameEnv, queueUrlEnv } from '../../functions/core/env.ts';
import {
  claimsTable,
  deadLetterQueueName,
  type FunctionName,
  functions,
  MAX_MAX_CONCURRENCY,
  MIN_MAX_CONCURRENCY,
  MIN_MAX_RECEIVE_COUNT,
  queues,
  routes,
  schedules,
  table,
  VISIBILITY_FACTOR,
} from '../../lib/topology.ts';
import {
  environmentOf,
  functionProperties,
  logicalId,
  resourcesOfType,
  roleStatements,
  type Synthesized,
  synthesize,
} from './support.ts';

let synth: Synthesized;

beforeAll(() => {
  synth = synthesize();
});

const fnId = (name: FunctionName) => logicalId(synth.stack, synth.stack.functions.byName[name].fn);

describe('queues', () => {
  it.each(Object.values(queues))('$name has its dead-letter queue, redrive count and visibility', (spec) => {
    const { queue, deadLetterQueue } = synth.stack.queues.byName[spec.name];
    const queueProps = synth.resources[logicalId(synth.stack, queue)]?.Properties ?? {};
    const dlqId = logicalId(synth.stack, deadLetterQueue);
    const dlqProps = synth.resources[dlqId]?.Properties ?? {};
    expect(queueProps.RedrivePolicy).toEqual({
      deadLetterTargetArn: { 'Fn::GetAtt': [dlqId, 'Arn'] },
      maxReceiveCount: spec.maxReceiveCount,
    });
    expect(String(dlqProps.QueueName)).toMatch(new RegExp(`-${deadLetterQueueName(spec.name)}$`));
    const consumerTimeout = functionProperties(synth, spec.consumer).Timeout as number;
    expect(queueProps.VisibilityTimeout).toBe(spec.visibilityTimeoutSeconds);
    expect(queueProps.VisibilityTimeout as number).toBeGreaterThanOrEqual(
      VISIBILITY_FACTOR * consumerTimeout,
    );
    expect(queueProps.MessageRetentionPeriod).toBe(spec.retentionSeconds);
    expect(dlqProps.MessageRetentionPeriod as number).toBeGreaterThan(spec.retentionSeconds);
    for (const props of [queueProps, dlqProps]) expect(props.SqsManagedSseEnabled).toBe(true);
  });

  it('requires TLS on every queue', () => {
    const policies = resourcesOfType(synth.resources, 'AWS::SQS::QueuePolicy');
    // Each topology queue and its dead-letter queue, and the tenant schedules' dead-letter queue.
    expect(policies).toHaveLength(2 * Object.keys(queues).length + 1);
    for (const [, policy] of policies) {
      expect(JSON.stringify(policy.Properties?.PolicyDocument)).toContain('"aws:SecureTransport":"false"');
    }
  });

  it('feeds each queue to its consumer, and each consumed dead-letter queue to its consumer', () => {
    const mappings = resourcesOfType(synth.resources, 'AWS::Lambda::EventSourceMapping').map(
      ([, mapping]) => mapping.Properties ?? {},
    );
    const expected = Object.values(queues).flatMap((spec) => {
      const { queue, deadLetterQueue } = synth.stack.queues.byName[spec.name];
      const feed = (source: typeof queue, consumer: FunctionName, maximum: number) => ({
        EventSourceArn: { 'Fn::GetAtt': [logicalId(synth.stack, source), 'Arn'] },
        FunctionName: { Ref: fnId(consumer) },
        BatchSize: spec.batchSize,
        FunctionResponseTypes: ['ReportBatchItemFailures'],
        ScalingConfig: { MaximumConcurrency: maximum },
      });
      return spec.deadLetterConsumer === null
        ? [feed(queue, spec.consumer, spec.maxConcurrency)]
        : [
            feed(queue, spec.consumer, spec.maxConcurrency),
            feed(deadLetterQueue, spec.deadLetterConsumer, spec.deadLetterMaxConcurrency),
          ];
    });
    expect(mappings).toHaveLength(expected.length);
    expect(mappings).toEqual(
      expect.arrayContaining(expected.map((mapping) => expect.objectContaining(mapping))),
    );
  });

  it('bounds every mapping with MaximumConcurrency, and redrives only after at least 5 receives', () => {
    const mappings = resourcesOfType(synth.resources, 'AWS::Lambda::EventSourceMapping');
    expect(mappings.length).toBeGreaterThan(0);
    for (const [id, mapping] of mappings) {
      const maximum = (mapping.Properties?.ScalingConfig as { MaximumConcurrency?: number } | undefined)
        ?.MaximumConcurrency;
      expect(maximum, id).toBeGreaterThanOrEqual(MIN_MAX_CONCURRENCY);
      expect(maximum, id).toBeLessThanOrEqual(MAX_MAX_CONCURRENCY);
    }
    for (const spec of Object.values(queues)) {
      expect(spec.maxReceiveCount, spec.name).toBeGreaterThanOrEqual(MIN_MAX_RECEIVE_COUNT);
    }
  });

  it('alarms on visible messages in every dead-letter queue', () => {
    for (const spec of Object.values(queues)) {
      const dlqName = synth.stack.resolve(synth.stack.queues.byName[spec.name].deadLetterQueue.queueName);
      synth.template.hasResourceProperties('AWS::CloudWatch::Alarm', {
        MetricName: 'ApproximateNumberOfMessagesVisible',
        Namespace: 'AWS/SQS',
        Dimensions: [{ Name: 'QueueName', Value: dlqName }],
        ComparisonOperator: 'GreaterThanThreshold',
        Threshold: 0,
      });
    }
  });
});

describe('tables', () => {
  it('keeps the platform table on demand, recoverable, protected, with its GSIs and TTL', () => {
    synth.template.hasResource('AWS::DynamoDB::Table', {
      DeletionPolicy: 'Retain',
      Properties: Match.objectLike({
        KeySchema: [
          { AttributeName: table.partitionKey, KeyType: 'HASH' },
          { AttributeName: table.sortKey, KeyType: 'RANGE' },
        ],
        BillingMode: 'PAY_PER_REQUEST',
        DeletionProtectionEnabled: true,
        PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
        TimeToLiveSpecification: { AttributeName: table.ttlAttribute, Enabled: true },
        GlobalSecondaryIndexes: table.indexes.map((index) => ({
          IndexName: index.name,
          KeySchema: [
            { AttributeName: index.partitionKey, KeyType: 'HASH' },
            { AttributeName: index.sortKey, KeyType: 'RANGE' },
          ],
          Projection: { ProjectionType: 'ALL' },
        })),
      }),
    });
  });

  it('keeps the claims table small: jobId key, TTL, on demand, recoverable', () => {
    synth.template.hasResourceProperties('AWS::DynamoDB::Table', {
      KeySchema: [{ AttributeName: claimsTable.partitionKey, KeyType: 'HASH' }],
      BillingMode: 'PAY_PER_REQUEST',
      PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
      TimeToLiveSpecification: { AttributeName: claimsTable.ttlAttribute, Enabled: true },
    });
  });
});

describe('functions', () => {
  it.each(Object.values(functions))(
    '$name has its topology runtime, arm64, memory, timeout and concurrency',
    (spec) => {
      const props = functionProperties(synth, spec.name);
      expect(props.Runtime).toBe(spec.runtime);
      expect(props.Architectures).toEqual(['arm64']);
      expect(props.MemorySize).toBe(spec.memoryMb);
      expect(props.Timeout).toBe(spec.timeoutSeconds);
      // No reservation unless configured: accounts with a low concurrency quota refuse any.
      expect(props.ReservedConcurrentExecutions).toBeUndefined();
    },
  );

  it('reserves concurrency exactly where the context configures it', () => {
    const reserved = synthesize({ reservedConcurrency: { 'http-executor': 25 } });
    const props = functionProperties(reserved, 'http-executor');
    expect(props.ReservedConcurrentExecutions).toBe(25);
    expect(functionProperties(reserved, 'tenant-api').ReservedConcurrentExecutions).toBeUndefined();
  });

  it('runs the Node functions from ESM bundles and the worker in Python 3.12 with the runtime layer', () => {
    for (const spec of Object.values(functions)) {
      const props = functionProperties(synth, spec.name);
      if (spec.runtime === 'nodejs22.x') {
        expect(props.Handler).toBe(`index.${spec.handler}`);
      } else {
        expect(props.Handler).toBe(spec.handler);
        expect(props.Layers).toEqual([{ Ref: expect.stringMatching(/pythonruntime/) }]);
      }
    }
    synth.template.hasResourceProperties('AWS::Lambda::LayerVersion', {
      CompatibleRuntimes: ['python3.12'],
      CompatibleArchitectures: ['arm64'],
    });
  });

  it('gives each function the environment its permissions point at', () => {
    for (const spec of Object.values(functions)) {
      const env = environmentOf(functionProperties(synth, spec.name));
      const permissions = spec.permissions;
      expect(env[ENV.tableName] !== undefined, spec.name).toBe(permissions.table !== 'none');
      expect(env[ENV.claimsTableName] !== undefined, spec.name).toBe(
        permissions.claims !== false || permissions.slots,
      );
      expect(env[ENV.credentialPrefix] !== undefined, spec.name).toBe(permissions.httpCredentials !== 'none');
      expect(env[ENV.distributionId] !== undefined, spec.name).toBe(permissions.cloudFrontTenants);
      expect(env[ENV.connectionGroupId] !== undefined, spec.name).toBe(permissions.cloudFrontTenants);
      for (const queue of Object.values(queues)) {
        const expected = permissions.sendTo.includes(queue.name)
          ? { Ref: logicalId(synth.stack, synth.stack.queues.byName[queue.name].queue) }
          : undefined;
        expect(env[queueUrlEnv(queue.name)], `${spec.name} → ${queue.name}`).toEqual(expected);
      }
      for (const target of Object.values(functions)) {
        const expected = permissions.invoke.includes(target.name) ? { Ref: fnId(target.name) } : undefined;
        expect(env[functionNameEnv(target.name)], `${spec.name} → ${target.name}`).toEqual(expected);
      }
    }
  });

  it('tells the governance surface who the super-admins are, from context', () => {
    const env = environmentOf(functionProperties(synth, 'governance-api'));
    expect(env[ENV.superAdmins]).toBe(synth.context.superAdmins.join(','));
    expect(environmentOf(functionProperties(synth, 'tenant-api'))[ENV.superAdmins]).toBeUndefined();
  });

  it('gives every function its own role with no managed policy and its own log group', () => {
    const roles = new Set<string>();
    for (const name of Object.keys(functions) as FunctionName[]) {
      const { role, logGroup } = synth.stack.functions.byName[name];
      const roleId = logicalId(synth.stack, role);
      roles.add(roleId);
      expect(functionProperties(synth, name).Role).toEqual({ 'Fn::GetAtt': [roleId, 'Arn'] });
      expect(functionProperties(synth, name).LoggingConfig).toEqual({
        LogGroup: { Ref: logicalId(synth.stack, logGroup) },
      });
      expect(roleStatements(synth.resources, roleId).length).toBeGreaterThan(0);
    }
    expect(roles.size).toBe(Object.keys(functions).length);
  });
});

describe('HTTP API', () => {
  it('routes ANY <path> of every topology route to its function', () => {
    const integrations = Object.fromEntries(
      resourcesOfType(synth.resources, 'AWS::ApiGatewayV2::Integration').map(([id, integration]) => [
        id,
        integration.Properties?.IntegrationUri,
      ]),
    );
    const apiRoutes = resourcesOfType(synth.resources, 'AWS::ApiGatewayV2::Route').map(
      ([, route]) => route.Properties ?? {},
    );
    expect(apiRoutes).toHaveLength(routes.length);
    for (const route of routes) {
      const found = apiRoutes.find((candidate) => candidate.RouteKey === `ANY ${route.path}`);
      expect(found, route.path).toBeDefined();
      const integrationId = JSON.stringify(found?.Target).match(/"Ref":"([^"]+)"/)?.[1];
      expect(integrationId, route.path).toBeDefined();
      expect(integrations[integrationId ?? '']).toEqual({ 'Fn::GetAtt': [fnId(route.function), 'Arn'] });
    }
  });

  it('logs access and throttles on the $default stage', () => {
    synth.template.hasResourceProperties('AWS::ApiGatewayV2::Stage', {
      StageName: '$default',
      AutoDeploy: true,
      AccessLogSettings: { DestinationArn: Match.anyValue(), Format: Match.stringLikeRegexp('requestId') },
      DefaultRouteSettings: { ThrottlingRateLimit: Match.anyValue(), ThrottlingBurstLimit: Match.anyValue() },
    });
  });
});

describe('schedules', () => {
  it.each(schedules)('$name invokes $function with its input, retrying', (spec) => {
    synth.template.hasResourceProperties('AWS::Scheduler::Schedule', {
      ScheduleExpression: spec.expression,
      ScheduleExpressionTimezone: 'UTC',
      State: 'ENABLED',
      Target: Match.objectLike({
        Arn: { 'Fn::GetAtt': [fnId(spec.function), 'Arn'] },
        Input: JSON.stringify(spec.input),
        RetryPolicy: Match.objectLike({ MaximumRetryAttempts: Match.anyValue() }),
      }),
    });
  });

  it('runs each schedule with a role that may invoke only its target function', () => {
    for (const [, schedule] of resourcesOfType(synth.resources, 'AWS::Scheduler::Schedule')) {
      const target = schedule.Properties?.Target as {
        Arn: unknown;
        RoleArn: { 'Fn::GetAtt': [string, string] };
      };
      const statements = roleStatements(synth.resources, target.RoleArn['Fn::GetAtt'][0]);
      expect(statements).toEqual([
        expect.objectContaining({ Action: ['lambda:InvokeFunction'], Resource: [target.Arn] }),
      ]);
    }
  });
});
