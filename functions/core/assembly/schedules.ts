/**
 * Tenant schedules on a run core: fired by EventBridge Scheduler in AWS, by the local ticker on one
 * machine. The tenant core (tenant.ts, also in `createCore`) and the schedule-fire function build them
 * this way.
 */
import type { Environment } from '../env.ts';
import type { MessageSigner } from '../messages/signing.ts';
import { type TenantSchedulerPort, tenantSchedulerFromEnv } from '../schedules/scheduler-port.ts';
import { Schedules } from '../schedules/schedules.ts';
import { tenantContext } from '../tenancy/hosts.ts';
import type { RunCore } from './runs.ts';

export interface SchedulesOptions {
  /** Where tenant schedules fire from. @default EventBridge Scheduler when the environment names a group, else the table alone (the local ticker) */
  readonly tenantScheduler?: TenantSchedulerPort;
  /** The jobs key, which seals each schedule's reference for the scheduler. @default none */
  readonly signer?: MessageSigner;
  /** The function's configuration (the tenant scheduler's group and role). @default {} */
  readonly env?: Environment;
}

export function createSchedules(run: RunCore, options: SchedulesOptions): Schedules {
  const { table } = run;
  return new Schedules({
    table,
    audit: run.audit,
    skills: run.skills,
    executions: run.executions,
    directory: run.directory,
    scheduler: options.tenantScheduler ?? tenantSchedulerFromEnv(options.signer, options.env ?? {}),
    tenant: (tenantId) => tenantContext(table, tenantId),
    now: run.now,
    quota: run.quotas,
  });
}
