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
import { AuditLog } from '../core/audit/chain.ts';
import type { Environment } from '../core/env.ts';
import { ValidationError } from '../core/errors.ts';
import { type Bootstrapped, bootstrapSuperAdmin } from '../core/governance/bootstrap.ts';
import { createGovernanceScans } from '../core/governance/index.ts';
import {
  createScanRegistry,
  runScan,
  type ScanRegistry,
  type ScanResult,
} from '../core/governance/lifecycle.ts';
import { lifecycleEvent } from './events.ts';

export async function createHandler(env: Environment) {
  const logger = loggerFromEnv('lifecycle-scan', env);
  const table = tableFromEnv(env);
  const audit = new AuditLog({ table });
  // The scans a day runs (renewal reminders, expiry, host onboarding) need tenants, announcements
  // and the edge only: that is what a cold start builds.
  const governance = createGovernanceScans({ table, audit, hostEdge: hostEdgeFromEnv(env), env });

  // The run core, for the stale-execution sweep (it closes and re-dispatches runs whose messages were
  // lost, so it needs the job queues and the jobs key to sign what it sends) and the first
  // super-admin's bootstrap (the directory): built by the first event that needs it, with the
  // signing key read then, not at every cold start (bundles and init: issue 13, Deliver 5).
  let runCore: ReturnType<typeof buildRunCore> | undefined;
  async function buildRunCore() {
    const [{ createRunCore }, signer] = await Promise.all([
      import('../core/assembly/runs.ts'),
      messageSignerFromEnv(['jobs'], { env }),
    ]);
    return createRunCore({
      table,
      audit,
      queues: queuesFromEnv(['script-executions', 'http-executions'], signer, env),
      signer,
      env,
      now: governance.now,
    });
  }
  const runCoreOnce = () => {
    // A failed build (the key unreadable for a moment) is tried again by the next event.
    runCore ??= buildRunCore().catch((error: unknown) => {
      runCore = undefined;
      throw error;
    });
    return runCore;
  };
  const scans: ScanRegistry = {
    ...governance.scans,
    'stale-executions': async (scan) => {
      const { executions } = await runCoreOnce();
      const sweep = createScanRegistry(governance.lifecycle, { staleSweep: { table, audit, executions } });
      return (sweep['stale-executions'] as NonNullable<ScanRegistry['stale-executions']>)(scan);
    },
  };

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
      const created = await bootstrapSuperAdmin(await runCoreOnce(), parsed.data.bootstrap.username);
      logger.info('First super-admin created', { username: created.username }); // never the password
      return created;
    }
    const { scan, now } = parsed.data;
    const result = await runScan(scans, scan, {
      now: now === undefined ? governance.now() : new Date(now),
    });
    logger.info('Scan finished', { scan, scanned: result.scanned, changed: result.changed.length });
    return result;
  });
}
