/**
 * EventBridge Scheduler schedules from `topology.schedules` (L1 `CfnSchedule`): each sends the
 * schedule's `input` as JSON to its function, with a retry policy, through a role per target
 * function that may invoke exactly that function and nothing else. A missed run is not lost: every
 * scan is idempotent and the next run of the same schedule picks up what was left.
 */
import { Stack } from 'aws-cdk-lib';
import { PolicyStatement, Role, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import { CfnSchedule } from 'aws-cdk-lib/aws-scheduler';
import { Construct } from 'constructs';
import { type FunctionName, type ScheduleSpec, schedules } from '../topology.ts';
import type { PlatformFunctions } from './functions.ts';

/** Retries before a run is dropped, and how long a run stays worth retrying. */
const RETRY = { maximumRetryAttempts: 3, maximumEventAgeInSeconds: 3600 } as const;

export interface PlatformSchedulesProps {
  readonly functions: PlatformFunctions;
}

export class PlatformSchedules extends Construct {
  readonly schedules: readonly CfnSchedule[];
  private readonly roles = new Map<FunctionName, Role>();

  constructor(scope: Construct, id: string, props: PlatformSchedulesProps) {
    super(scope, id);
    this.schedules = schedules.map((spec) => this.schedule(spec, props.functions));
  }

  private schedule(spec: ScheduleSpec, functions: PlatformFunctions): CfnSchedule {
    const target = functions.get(spec.function);
    return new CfnSchedule(this, spec.name, {
      name: `${Stack.of(this).stackName}-${spec.name}`.slice(0, 64),
      description: `ExecFabric ${spec.name} → ${spec.function}`,
      scheduleExpression: spec.expression,
      scheduleExpressionTimezone: 'UTC',
      flexibleTimeWindow: { mode: 'OFF' },
      state: 'ENABLED',
      target: {
        arn: target.functionArn,
        roleArn: this.role(spec.function, target.functionArn).roleArn,
        input: JSON.stringify(spec.input),
        retryPolicy: RETRY,
      },
    });
  }

  private role(name: FunctionName, functionArn: string): Role {
    const existing = this.roles.get(name);
    if (existing !== undefined) return existing;
    const account = Stack.of(this).account;
    const role = new Role(this, `${name}-invoker`, {
      description: `EventBridge Scheduler: invoke ${name} only`,
      assumedBy: new ServicePrincipal('scheduler.amazonaws.com', {
        conditions: { StringEquals: { 'aws:SourceAccount': account } },
      }),
    });
    role.addToPrincipalPolicy(
      new PolicyStatement({
        sid: 'InvokeTarget',
        actions: ['lambda:InvokeFunction'],
        resources: [functionArn],
      }),
    );
    this.roles.set(name, role);
    return role;
  }
}
