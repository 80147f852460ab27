/**
 * Tenant schedules in AWS: the stage's EventBridge Scheduler schedule group (one per stack, and so
 * per stage), the role Scheduler assumes to fire them — it may invoke the `schedule-fire` function
 * and send to the dead-letter queue, nothing else, and only for schedules of this group in this
 * account — and that dead-letter queue, alarmed on, for fires Scheduler could not deliver after its
 * retries. The tenant API creates one Scheduler schedule per tenant schedule in the group, through
 * the API (core/schedules/scheduler-port.ts); its rights to do so (schedules of this group only, and
 * passing this role only to Scheduler) come from `permissions.ts` and the topology.
 */
import { Duration, Stack, Validations } from 'aws-cdk-lib';
import { Alarm, ComparisonOperator, TreatMissingData } from 'aws-cdk-lib/aws-cloudwatch';
import { PolicyStatement, Role, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import { CfnScheduleGroup } from 'aws-cdk-lib/aws-scheduler';
import { Queue, QueueEncryption } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { ENV } from '../../functions/core/env.ts';
import { functions, TENANT_SCHEDULE_TARGET } from '../topology.ts';
import type { PlatformFunctions } from './functions.ts';

export interface TenantSchedulesProps {
  readonly functions: PlatformFunctions;
}

export class TenantSchedules extends Construct {
  readonly group: CfnScheduleGroup;
  readonly groupName: string;
  readonly role: Role;
  readonly deadLetterQueue: Queue;
  readonly deadLetterAlarm: Alarm;
  /** `arn:…:scheduler:<region>:<account>:schedule/<group>/*`: every schedule of the group. */
  readonly scheduleArns: string;

  constructor(scope: Construct, id: string, props: TenantSchedulesProps) {
    super(scope, id);
    const stack = Stack.of(this);
    this.groupName = `${stack.stackName}-tenant-schedules`.slice(0, 64);
    this.group = new CfnScheduleGroup(this, 'Group', { name: this.groupName });
    this.scheduleArns = stack.formatArn({
      service: 'scheduler',
      resource: 'schedule',
      resourceName: `${this.groupName}/*`,
    });

    this.deadLetterQueue = new Queue(this, 'DeadLetters', {
      queueName: `${stack.stackName}-tenant-schedule-dlq`,
      encryption: QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      retentionPeriod: Duration.days(14),
    });
    Validations.of(this.deadLetterQueue).acknowledge({
      id: 'AwsSolutions-SQS3',
      reason:
        'This queue is itself a dead-letter queue: EventBridge Scheduler sends it the fires it could not deliver (a DeadLetterConfig, not an SQS redrive, so cdk-nag cannot see it); it is alarmed on.',
    });
    this.deadLetterAlarm = new Alarm(this, 'DeadLettersVisible', {
      alarmDescription: 'Tenant schedule fires EventBridge Scheduler could not deliver are waiting',
      metric: this.deadLetterQueue.metricApproximateNumberOfMessagesVisible({
        period: Duration.minutes(5),
        statistic: 'Maximum',
      }),
      threshold: 0,
      comparisonOperator: ComparisonOperator.GREATER_THAN_THRESHOLD,
      evaluationPeriods: 1,
      treatMissingData: TreatMissingData.NOT_BREACHING,
    });

    const target = props.functions.get(TENANT_SCHEDULE_TARGET);
    this.role = new Role(this, 'SchedulerRole', {
      description: `EventBridge Scheduler: fire tenant schedules of ${this.groupName} (invoke ${TENANT_SCHEDULE_TARGET} only)`,
      assumedBy: new ServicePrincipal('scheduler.amazonaws.com', {
        conditions: {
          StringEquals: { 'aws:SourceAccount': stack.account },
          ArnLike: { 'aws:SourceArn': this.scheduleArns },
        },
      }),
    });
    this.role.addToPrincipalPolicy(
      new PolicyStatement({
        sid: 'InvokeFireFunction',
        actions: ['lambda:InvokeFunction'],
        resources: [target.functionArn],
      }),
    );
    this.role.addToPrincipalPolicy(
      new PolicyStatement({
        sid: 'SendUndeliveredFires',
        actions: ['sqs:SendMessage'],
        resources: [this.deadLetterQueue.queueArn],
      }),
    );

    // The functions that manage tenant schedules learn where and how to make them.
    for (const spec of Object.values(functions)) {
      if (!spec.permissions.tenantSchedules) continue;
      const fn = props.functions.get(spec.name);
      fn.addEnvironment(ENV.scheduleGroup, this.groupName);
      fn.addEnvironment(ENV.scheduleTargetArn, target.functionArn);
      fn.addEnvironment(ENV.scheduleRoleArn, this.role.roleArn);
      fn.addEnvironment(ENV.scheduleDeadLetterArn, this.deadLetterQueue.queueArn);
    }
  }
}
