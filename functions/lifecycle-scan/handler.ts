/**
 * The lifecycle-scan function: EventBridge Scheduler (and the local scheduler) deliver
 * `{ scan, now? }`; the scan runs through the registry in `core/governance/lifecycle.ts`, the same
 * code `POST /api/lifecycle/run` calls. Configuration only: the Lambda entry (index.ts) passes its
 * execution environment, the local platform its own.
 */
import middy from '@middy/core';
import type { Context } from 'aws-lambda';
import { hostEdgeFromEnv } from '../clients/cloudfront-edge.ts';
import { tableFromEnv } from '../clients/dynamodb.ts';
import { loggerFromEnv } from '../clients/logger.ts';
import { messageSignerFromEnv } from '../clients/message-keys.ts';
import { queuesFromEnv } from '../clients/sqs.ts';
import { createRunCore } from '../core/assembly/runs.ts';
import type { Environment } from '../core/env.ts';
import { ValidationError } from '../core/errors.ts';
import { type Bootstrapped, bootstrapSuperAdmin } from '../core/governance/bootstrap.ts';
import { createGovernanceScans } from '../core/governance/index.ts';
import { runScan, type ScanResult } from '../core/governance/lifecycle.ts';
import { lifecycleEvent } from './events.ts';

export async function createHandler(env: Environment) {
  const logger = loggerFromEnv('lifecycle-scan', env);
  // The stale-execution sweep re-dispatches runs whose messages were lost, so it needs the job queues
  // and the jobs key to sign what it sends. The host-onboarding scan provisions hosts whose DNS now
  // points at the platform.
  const signer = await messageSignerFromEnv(['jobs'], { env });
  // The run core (the sweep closes and re-dispatches runs) and governance on it (the scans, the
  // bootstrap's directory): nothing of sign-in, schedules, MCP, templates or the free edition.
  const core = createRunCore({
    table: tableFromEnv(env),
    queues: queuesFromEnv(['script-executions', 'http-executions'], signer, env),
    signer,
    env,
  });
  const governance = createGovernanceScans({
    table: core.table,
    audit: core.audit,
    hosts: core.hosts,
    executions: core.executions,
    hostEdge: hostEdgeFromEnv(env),
    env,
    now: core.now,
  });

  return middy<unknown, ScanResult | Bootstrapped, Error, Context>().handler(async (event) => {
    const parsed = lifecycleEvent.safeParse(event);
    if (!parsed.success) {
      throw new ValidationError(
        'Invalid lifecycle-scan event',
        parsed.error.issues.map((issue) => ({
          path: issue.path.map(String).join('.'),
          message: issue.message,
        })),
      );
    }
    if ('bootstrap' in parsed.data) {
      const created = await bootstrapSuperAdmin(core, parsed.data.bootstrap.username);
      logger.info('First super-admin created', { username: created.username }); // never the password
      return created;
    }
    const { scan, now } = parsed.data;
    const result = await runScan(governance.scans, scan, {
      now: now === undefined ? core.now() : new Date(now),
    });
    logger.info('Scan finished', { scan, scanned: result.scanned, changed: result.changed.length });
    return result;
  });
}
