/**
 * Issue 17 in the synthesized template: tenant schedules get the stage's EventBridge Scheduler group,
 * a scheduler role that may only invoke `schedule-fire` and send to its own dead-letter queue (and may
 * be assumed only by Scheduler, for this account's schedules of this group), an alarmed dead-letter
 * queue; the tenant API may manage single schedules of that group and pass that role to Scheduler,
 * nothing more; the data relay holds the table and the jobs key, and only the worker may invoke it.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { ENV } from '../../functions/core/env.ts';
import { STACK_ID } from '../../lib/aws/stack.ts';
import { type FunctionName, functions } from '../../lib/topology.ts';
import {
  environmentOf,
  functionProperties,
  functionRoleStatements,
  logicalId,
  resourcesOfType,
  type Synthesized,
  synthesize,
} from './support.ts';

let synth: Synthesized;

beforeAll(() => {
  synth = synthesize();
});

const GROUP = `${STACK_ID}-tenant-schedules`;

describe('tenant schedules', () => {
  it('has one schedule group for the stage', () => {
    const groups = resourcesOfType(synth.resources, 'AWS::Scheduler::ScheduleGroup');
    expect(groups).toHaveLength(1);
    expect(groups[0]?.[1].Properties?.Name).toBe(GROUP);
  });

  it('fires through a role only Scheduler may assume, for this group, that invokes schedule-fire and sends to its DLQ only', () => {
    const roleId = logicalId(synth.stack, synth.stack.tenantSchedules.role);
    const role = synth.resources[roleId];
    const trust = JSON.stringify(role?.Properties?.AssumeRolePolicyDocument);
    expect(trust).toContain('scheduler.amazonaws.com');
    expect(trust).toContain('aws:SourceAccount');
    expect(trust).toContain(`schedule/${GROUP}/*`);
    const policies = resourcesOfType(synth.resources, 'AWS::IAM::Policy').filter(([, policy]) =>
      JSON.stringify(policy.Properties?.Roles).includes(roleId),
    );
    expect(policies).toHaveLength(1);
    const statements =
      (policies[0]?.[1].Properties?.PolicyDocument as { Statement: Record<string, unknown>[] } | undefined)
        ?.Statement ?? [];
    expect(statements.map((statement) => [statement.Sid, statement.Action])).toEqual([
      ['InvokeFireFunction', 'lambda:InvokeFunction'],
      ['SendUndeliveredFires', 'sqs:SendMessage'],
    ]);
    const fireFn = logicalId(synth.stack, synth.stack.functions.get('schedule-fire'));
    expect(JSON.stringify(statements[0]?.Resource)).toContain(fireFn);
    const dlq = logicalId(synth.stack, synth.stack.tenantSchedules.deadLetterQueue);
    expect(JSON.stringify(statements[1]?.Resource)).toContain(dlq);
  });

  it('alarms on fires Scheduler could not deliver', () => {
    const dlq = logicalId(synth.stack, synth.stack.tenantSchedules.deadLetterQueue);
    const alarms = resourcesOfType(synth.resources, 'AWS::CloudWatch::Alarm').filter(([, alarm]) =>
      JSON.stringify(alarm.Properties?.Dimensions).includes(dlq),
    );
    expect(alarms).toHaveLength(1);
  });

  it('lets only the tenant API manage schedules of the group, and pass the role to Scheduler only', () => {
    for (const name of Object.keys(functions) as FunctionName[]) {
      const statements = functionRoleStatements(synth, name);
      const scheduler = statements.filter((statement) =>
        statement.Action.some((action) => action.startsWith('scheduler:')),
      );
      const passRole = statements.filter((statement) => statement.Action.includes('iam:PassRole'));
      if (name !== 'tenant-api') {
        expect(scheduler, name).toEqual([]);
        expect(passRole, name).toEqual([]);
        continue;
      }
      expect(scheduler).toHaveLength(1);
      expect([...(scheduler[0]?.Action ?? [])].sort()).toEqual([
        'scheduler:CreateSchedule',
        'scheduler:DeleteSchedule',
        'scheduler:GetSchedule',
        'scheduler:UpdateSchedule',
      ]);
      expect(JSON.stringify(scheduler[0]?.Resource)).toContain(`:schedule/${GROUP}/*`);
      expect(passRole).toHaveLength(1);
      const roleId = logicalId(synth.stack, synth.stack.functions.byName['tenant-api'].role);
      const raw = resourcesOfType(synth.resources, 'AWS::IAM::Policy')
        .filter(([, policy]) => JSON.stringify(policy.Properties?.Roles).includes(roleId))
        .flatMap(
          ([, policy]) =>
            (policy.Properties?.PolicyDocument as { Statement: Record<string, unknown>[] } | undefined)
              ?.Statement ?? [],
        )
        .find((statement) => statement.Sid === 'PassSchedulerRole');
      expect(raw?.Condition).toEqual({ StringEquals: { 'iam:PassedToService': 'scheduler.amazonaws.com' } });
      expect(JSON.stringify(passRole[0]?.Resource)).toContain(
        logicalId(synth.stack, synth.stack.tenantSchedules.role),
      );
    }
    const env = environmentOf(functionProperties(synth, 'tenant-api'));
    expect(env[ENV.scheduleGroup]).toBe(GROUP);
    for (const name of [ENV.scheduleTargetArn, ENV.scheduleRoleArn, ENV.scheduleDeadLetterArn]) {
      expect(env[name], name).toBeDefined();
    }
  });
});

describe('the data relay', () => {
  it('holds the table and the jobs key, sends nothing, and only the script worker may invoke it', () => {
    const env = environmentOf(functionProperties(synth, 'data-relay'));
    expect(env[ENV.tableName]).toBeDefined();
    expect(env.EXECFABRIC_JOBS_KEY_SECRET).toBeDefined();
    expect(env.EXECFABRIC_REPORTS_KEY_SECRET).toBeUndefined();
    const relayArn = logicalId(synth.stack, synth.stack.functions.get('data-relay'));
    for (const name of Object.keys(functions) as FunctionName[]) {
      const invokes = functionRoleStatements(synth, name).filter(
        (statement) =>
          statement.Action.includes('lambda:InvokeFunction') &&
          JSON.stringify(statement.Resource).includes(relayArn),
      );
      expect(invokes.length, name).toBe(name === 'script-worker' ? 1 : 0);
    }
    const sends = functionRoleStatements(synth, 'data-relay').filter((statement) =>
      statement.Action.some((action) => action.startsWith('sqs:')),
    );
    expect(sends).toEqual([]);
  });
});
