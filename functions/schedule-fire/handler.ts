/**
 * The schedule-fire function: EventBridge Scheduler (one schedule per tenant schedule) and the local
 * ticker deliver `{ schedule: {body, mac}, scheduledTime }`; the sealed reference names the tenant
 * and schedule, and is believed only if its MAC verifies under the jobs key (a forged event is logged
 * as a security event and dropped, never retried). The fire itself — admission as the schedule's
 * owner, the missed-fire policy, the log — is core/schedules/schedules.ts. Configuration only: the
 * Lambda entry (index.ts) passes its execution environment, the local platform its own.
 */
import middy from '@middy/core';
import type { Context } from 'aws-lambda';
import { tableFromEnv } from '../clients/dynamodb.ts';
import { loggerFromEnv } from '../clients/logger.ts';
import { messageSignerFromEnv } from '../clients/message-keys.ts';
import { queuesFromEnv } from '../clients/sqs.ts';
import { createRunCore } from '../core/assembly/runs.ts';
import { createSchedules } from '../core/assembly/schedules.ts';
import type { Environment } from '../core/env.ts';
import { sealedSchema, unseal } from '../core/messages/signing.ts';
import type { FireResult } from '../core/schedules/schedules.ts';
import * as z from '../core/zod-mini.ts';

const fireEvent = z.strictObject({
  schedule: sealedSchema(4096),
  scheduledTime: z.iso.datetime({ offset: true }),
});

const reference = z.strictObject({
  v: z.literal(1),
  tenantId: z.string().check(z.minLength(1), z.maxLength(64)),
  scheduleId: z.string().check(z.minLength(1), z.maxLength(64)),
});

export type FireAnswer = FireResult | { readonly result: 'refused' };

export async function createHandler(env: Environment) {
  const logger = loggerFromEnv('schedule-fire', env);
  // A fire requests a run, which is dispatched to its executor's queue, signed with the jobs key.
  const signer = await messageSignerFromEnv(['jobs'], { env });
  // The run core and the schedules on it: nothing of sign-in, MCP or the public domain.
  const run = createRunCore({
    table: tableFromEnv(env),
    queues: queuesFromEnv(['script-executions', 'http-executions'], signer, env),
    signer,
    env,
  });
  const schedules = createSchedules(run, { signer, env });

  return middy<unknown, FireAnswer, Error, Context>().handler(async (event) => {
    const parsed = fireEvent.safeParse(event);
    const raw = parsed.success ? unseal(signer, 'schedule', parsed.data.schedule) : null;
    const ref = raw === null ? null : reference.safeParse(raw);
    if (!parsed.success || ref === null || !ref.success) {
      logger.warn('Refused a fire event that does not verify', { securityEvent: 'message-refused' });
      return { result: 'refused' };
    }
    const fired = await schedules.fire({
      tenantId: ref.data.tenantId,
      scheduleId: ref.data.scheduleId,
      scheduledTime: parsed.data.scheduledTime,
    });
    logger.info('Fire handled', {
      tenantId: ref.data.tenantId,
      scheduleId: ref.data.scheduleId,
      scheduledTime: parsed.data.scheduledTime,
      result: fired.result,
      ...(fired.result === 'logged' ? { outcome: fired.entry.outcome, reason: fired.entry.reason } : {}),
    });
    return fired;
  });
}
