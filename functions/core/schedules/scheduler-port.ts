/**
 * Where a tenant schedule lives besides the table. In AWS: one EventBridge Scheduler schedule per
 * tenant schedule, in the stage's schedule group, targeting the `schedule-fire` function through the
 * scheduler role (which may invoke that function and send to the dead-letter queue, nothing else),
 * with a retry policy as long as the missed-fire grace and the dead-letter queue for deliveries that
 * still fail. The target's input is a reference to the schedule (tenant, id) sealed under the jobs key
 * and the scheduled time Scheduler substitutes (`<aws.scheduler.scheduled-time>`), so the fire
 * function believes only schedules the platform made. Locally the port does nothing: the ticker reads
 * due schedules from the table.
 */
import {
  CreateScheduleCommand,
  DeleteScheduleCommand,
  ResourceNotFoundException,
  SchedulerClient,
  UpdateScheduleCommand,
} from '@aws-sdk/client-scheduler';
import { awsClientSettings, ENV, type Environment } from '../env.ts';
import { UpstreamError } from '../errors.ts';
import { type MessageSigner, seal } from '../messages/signing.ts';
import type { TenantContext } from '../tenancy/domain.ts';
import { awsExpression, type Timing } from './timing.ts';

/** What a fire event carries, sealed (label `schedule`). */
export interface ScheduleReference {
  readonly v: 1;
  readonly tenantId: string;
  readonly scheduleId: string;
}

/** Scheduler's placeholder for the time a fire was due (ISO 8601, UTC). */
export const SCHEDULED_TIME_PLACEHOLDER = '<aws.scheduler.scheduled-time>';
/** Scheduler keeps retrying a fire this long, the same as the missed-fire grace. */
export const DELIVERY_RETRY = { MaximumEventAgeInSeconds: 300, MaximumRetryAttempts: 5 } as const;

export interface ScheduledTarget {
  readonly id: string;
  readonly name: string;
  readonly timing: Timing;
  readonly timezone: string;
  readonly enabled: boolean;
}

export interface TenantSchedulerPort {
  /** Creates or replaces the schedule (state included). */
  put(domain: TenantContext, schedule: ScheduledTarget): Promise<void>;
  /** Removes it; removing one that does not exist is not an error. */
  remove(domain: TenantContext, scheduleId: string): Promise<void>;
}

/** The local wiring: nothing to do, the ticker reads due schedules from the table. */
export const tableOnlyScheduler: TenantSchedulerPort = {
  put: async () => undefined,
  remove: async () => undefined,
};

/** A fire event: the sealed reference and the time the fire was due. */
export interface FireEvent {
  readonly schedule: { readonly body: string; readonly mac: string };
  readonly scheduledTime: string;
}

export function fireEvent(
  signer: MessageSigner,
  tenantId: string,
  scheduleId: string,
  scheduledTime: string,
): FireEvent {
  const reference: ScheduleReference = { v: 1, tenantId, scheduleId };
  return { schedule: seal(signer, 'schedule', reference), scheduledTime };
}

/** `<tenant>.<schedule id>`: Scheduler names are 1-64 of [0-9A-Za-z._-]; tenant ids are slugs. */
export function awsScheduleName(domain: TenantContext, scheduleId: string): string {
  return `${domain.tenant.id}.${scheduleId}`;
}

export interface EventBridgeSchedulerOptions {
  readonly client: SchedulerClient;
  readonly group: string;
  /** ARN of the schedule-fire function. */
  readonly targetArn: string;
  /** The role Scheduler assumes to invoke the target. */
  readonly roleArn: string;
  readonly deadLetterArn: string;
  readonly signer: MessageSigner;
}

export class EventBridgeScheduler implements TenantSchedulerPort {
  readonly #options: EventBridgeSchedulerOptions;

  constructor(options: EventBridgeSchedulerOptions) {
    this.#options = options;
  }

  async put(domain: TenantContext, schedule: ScheduledTarget): Promise<void> {
    const options = this.#options;
    const event = fireEvent(options.signer, domain.tenant.id, schedule.id, SCHEDULED_TIME_PLACEHOLDER);
    const input = {
      Name: awsScheduleName(domain, schedule.id),
      GroupName: options.group,
      Description: `ExecFabric ${domain.tenant.id}: ${schedule.name}`.slice(0, 512),
      ScheduleExpression: awsExpression(schedule.timing),
      ScheduleExpressionTimezone: schedule.timezone,
      FlexibleTimeWindow: { Mode: 'OFF' as const },
      State: schedule.enabled ? ('ENABLED' as const) : ('DISABLED' as const),
      ActionAfterCompletion: 'NONE' as const,
      Target: {
        Arn: options.targetArn,
        RoleArn: options.roleArn,
        Input: JSON.stringify(event),
        RetryPolicy: DELIVERY_RETRY,
        DeadLetterConfig: { Arn: options.deadLetterArn },
      },
    };
    try {
      try {
        await options.client.send(new UpdateScheduleCommand(input));
      } catch (error) {
        if (
          !(error instanceof ResourceNotFoundException) &&
          (error as Error).name !== 'ResourceNotFoundException'
        )
          throw error;
        await options.client.send(new CreateScheduleCommand(input));
      }
    } catch (cause) {
      throw new UpstreamError(`EventBridge Scheduler refused the schedule: ${(cause as Error).name}`, {
        cause,
      });
    }
  }

  async remove(domain: TenantContext, scheduleId: string): Promise<void> {
    try {
      await this.#options.client.send(
        new DeleteScheduleCommand({
          Name: awsScheduleName(domain, scheduleId),
          GroupName: this.#options.group,
        }),
      );
    } catch (cause) {
      if (cause instanceof ResourceNotFoundException || (cause as Error).name === 'ResourceNotFoundException')
        return;
      throw new UpstreamError(
        `EventBridge Scheduler could not remove the schedule: ${(cause as Error).name}`,
        {
          cause,
        },
      );
    }
  }
}

/** EventBridge Scheduler when the function was wired to a schedule group (AWS); else the table alone. */
export function tenantSchedulerFromEnv(
  signer: MessageSigner | undefined,
  env: Environment,
  client?: SchedulerClient,
): TenantSchedulerPort {
  const group = env[ENV.scheduleGroup];
  if (group === undefined || group === '' || signer === undefined) return tableOnlyScheduler;
  return new EventBridgeScheduler({
    client: client ?? new SchedulerClient(awsClientSettings(env, ENV.schedulerEndpoint)),
    group,
    targetArn: env[ENV.scheduleTargetArn] ?? '',
    roleArn: env[ENV.scheduleRoleArn] ?? '',
    deadLetterArn: env[ENV.scheduleDeadLetterArn] ?? '',
    signer,
  });
}
