/**
 * The results recorder: the one path by which every runtime's reports become execution state.
 * Reads the results queue (started / log / result reports) and the executions' dead-letter queues (jobs
 * that could not be processed: recorded as failed, never dropped). Records that fail for an
 * infrastructure reason are returned as batch item failures and retried by SQS.
 *
 * Nothing is believed before its MAC verifies: reports under the reports key, dead jobs under the
 * jobs key (a forged dead letter could otherwise fail another tenant's run). A message that does not
 * verify, or a result for a run that already ended, is logged as a security event and changes
 * nothing; it is also recorded in the public domain's audit as a security event (rate-limited per
 * source by `core.securityEvents`). Tenant and execution ids are taken only from a verified body.
 * The runtimes report what they refused themselves (a forged job, a forged grant) as signed
 * `security` reports, recorded the same way.
 */
import type { Logger } from '@aws-lambda-powertools/logger';
import middy from '@middy/core';
import type { Context, SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import { tableFromEnv } from '../clients/dynamodb.ts';
import { loggerFromEnv } from '../clients/logger.ts';
import { messageSignerFromEnv } from '../clients/message-keys.ts';
import { createRunCore, type RunCore } from '../core/assembly/runs.ts';
import type { Environment } from '../core/env.ts';
import { MAX_LOG_CHUNKS } from '../core/executions/executions.ts';
import { parseJson } from '../core/json.ts';
import type { MessageLabel, MessageSigner } from '../core/messages/signing.ts';
import { macOf } from '../core/queues.ts';
import { TenantContexts } from '../core/tenancy/hosts.ts';
import * as z from '../core/zod-mini.ts';

/** What one recorder instance holds, built once from its configuration. */
interface Recorder {
  readonly logger: Logger;
  readonly signer: MessageSigner;
  /** The run core alone: the recorder records reports, fails runs and keeps security events. */
  readonly core: RunCore;
  /** Each report names its tenant: read once per 30 s per tenant, not once per report. */
  readonly tenants: TenantContexts;
}

const error = z.object({
  type: z.string(),
  message: z.string(),
  trace: z.optional(z.string()),
  limit: z.optional(z.string()),
});

const egressUse = z.object({
  resourceId: z.string().check(z.maxLength(64)),
  resourceVersion: z.int(),
  method: z.string().check(z.maxLength(10)),
  path: z.string().check(z.maxLength(2048)),
  status: z.int(),
  at: z.iso.datetime({ offset: true }),
  durationMs: z.number(),
  credentialStage: z.optional(z.enum(['current', 'previous'])),
  credentialVersion: z.optional(z.string().check(z.maxLength(128))),
  inFlight: z.optional(z.boolean()),
  timedOut: z.optional(z.boolean()),
});

const report = z.discriminatedUnion('kind', [
  z.object({
    // What a runtime refused (a forged job or grant), reported through this one recording path.
    kind: z.literal('security'),
    event: z.string().check(z.maxLength(64)),
    source: z.string().check(z.maxLength(128)),
    detail: z.optional(z.record(z.string(), z.unknown())),
  }),
  z.object({
    // Pieces of a running job's stdout and stderr, as they come (live logs).
    kind: z.literal('log'),
    executionId: z.string(),
    tenantId: z.string(),
    chunks: z
      .array(
        z.object({
          seq: z.int().check(z.minimum(1), z.maximum(MAX_LOG_CHUNKS)),
          stream: z.enum(['stdout', 'stderr']),
          text: z.string(),
          at: z.optional(z.iso.datetime({ offset: true })),
        }),
      )
      .check(z.maxLength(MAX_LOG_CHUNKS)),
  }),
  z.object({
    kind: z.literal('started'),
    executionId: z.string(),
    tenantId: z.string(),
    startedAt: z.string(),
  }),
  z.object({
    kind: z.literal('result'),
    executionId: z.string(),
    tenantId: z.string(),
    skillId: z.optional(z.string()),
    skillRevision: z.optional(z.int().check(z.positive())),
    reportId: z.optional(z.string().check(z.maxLength(64))),
    status: z.enum(['succeeded', 'failed', 'timed_out', 'killed', 'cancelled']),
    output: z.optional(z.unknown()),
    error: z.optional(error),
    logs: z.optional(z.partial(z.object({ stdout: z.string(), stderr: z.string(), truncated: z.boolean() }))),
    metrics: z.optional(z.record(z.string(), z.unknown())),
    sandbox: z.optional(z.record(z.string(), z.unknown())),
    egress: z.optional(z.array(egressUse).check(z.maxLength(1000))),
  }),
]);

/** What the recorder needs from a dead job: whose execution it was. */
const deadJob = z.object({ executionId: z.string(), tenantId: z.string() });

/** `arn:…:execution-results` → `queue:execution-results`. */
function queueOf(record: SQSRecord): string {
  return `queue:${record.eventSourceARN.split(':').pop() ?? 'unknown'}`;
}

async function refused(
  { logger, core }: Recorder,
  record: SQSRecord,
  reason: string,
  fields: Record<string, unknown> = {},
): Promise<void> {
  logger.warn('Refused an internal message', {
    securityEvent: 'message-refused',
    reason,
    messageId: record.messageId,
    source: record.eventSourceARN,
    ...fields,
  });
  await core.securityEvents.record('public', {
    kind: 'internal-message-refused',
    source: queueOf(record),
    detail: { messageId: record.messageId, reason, ...fields },
  });
}

/**
 * A message's body once its MAC verifies as `label` (undefined when it is not JSON), or null after
 * refusing it. Lossless: a script's big integers and -0 reach the run's output as the script wrote them.
 */
async function verifiedBody(
  recorder: Recorder,
  record: SQSRecord,
  label: MessageLabel,
  what: string,
): Promise<{ readonly body: unknown } | null> {
  if (!recorder.signer.verify(label, record.body, macOf(record))) {
    await refused(recorder, record, `the ${what} MAC does not verify`);
    return null;
  }
  try {
    return { body: parseJson(record.body) };
  } catch {
    return { body: undefined };
  }
}

async function recordReport(recorder: Recorder, record: SQSRecord): Promise<void> {
  const { logger, core, tenants } = recorder;
  const verified = await verifiedBody(recorder, record, 'report', 'report');
  if (verified === null) return;
  const { body } = verified;
  const parsed = report.safeParse(body);
  if (!parsed.success) {
    // Not retryable: a malformed report will never parse. It is genuine (its MAC verified), so if it
    // names its run, the run fails with the cause rather than waiting for the sweep; then it is dropped.
    logger.error('Unreadable execution report', { messageId: record.messageId, issues: parsed.error.issues });
    await failUnreadable(recorder, body, parsed.error.issues.slice(0, 3));
    return;
  }
  if (parsed.data.kind === 'security') {
    // The refused message named a tenant only as a claim: the event belongs to the platform.
    await core.securityEvents.record('public', {
      kind: 'internal-message-refused',
      source: parsed.data.source,
      detail: { event: parsed.data.event, ...(parsed.data.detail ?? {}) },
    });
    return;
  }
  const domain = await tenants.get(parsed.data.tenantId);
  if (domain === null) {
    logger.error('Report for an unknown tenant', {
      messageId: record.messageId,
      tenantId: parsed.data.tenantId,
    });
    return;
  }
  if (parsed.data.kind === 'started') {
    await core.executions.recordStarted(domain, parsed.data);
    return;
  }
  if (parsed.data.kind === 'log') {
    await core.executions.appendLogChunks(domain, parsed.data.executionId, parsed.data.chunks);
    return;
  }
  const result = parsed.data;
  if (result.egress !== undefined && result.egress.length > 0 && result.skillId !== undefined) {
    await core.httpResources.recordEgressUses(
      domain,
      { executionId: result.executionId, skillId: result.skillId },
      result.egress,
    );
  }
  const outcome = await core.executions.recordResult(domain, result);
  if (outcome === 'replayed' || outcome === 'unknown-run' || outcome === 'awaiting-approval') {
    const what = {
      replayed: 'a replayed result',
      'unknown-run': 'a result for no such run',
      'awaiting-approval': 'a result for a run still waiting for approval',
    }[outcome];
    await refused(recorder, record, what, {
      tenantId: result.tenantId,
      executionId: result.executionId,
    });
  } else if (outcome === 'already-finished') {
    logger.warn('A second result for a run that already ended was ignored', {
      securityEvent: 'result-ignored',
      tenantId: result.tenantId,
      executionId: result.executionId,
      messageId: record.messageId,
    });
  }
}

/** What an unreadable report must still name for its run to be failed with the cause. */
const namedRun = z.object({
  kind: z.literal('result'),
  executionId: z.string().check(z.minLength(1)),
  tenantId: z.string().check(z.minLength(1)),
});

async function failUnreadable(
  { core, tenants }: Recorder,
  body: unknown,
  issues: readonly z.core.$ZodIssue[],
): Promise<void> {
  const named = namedRun.safeParse(body);
  if (!named.success) return;
  const domain = await tenants.get(named.data.tenantId);
  if (domain === null) return;
  const where = issues.map((issue) => issue.path.join('.') || 'report').join(', ');
  await core.executions.fail(domain, named.data.executionId, {
    type: 'UnreadableResult',
    message: `The runtime's result could not be read (${where}); the run's outcome is unknown`,
  });
}

async function recordDeadJob(recorder: Recorder, record: SQSRecord): Promise<void> {
  const { logger, core, tenants } = recorder;
  const verified = await verifiedBody(recorder, record, 'job', 'dead job');
  if (verified === null) return;
  const { body } = verified;
  const parsed = deadJob.safeParse(body);
  if (!parsed.success) {
    logger.error('Dead job without an execution', {
      messageId: record.messageId,
      source: record.eventSourceARN,
    });
    return;
  }
  const domain = await tenants.get(parsed.data.tenantId);
  if (domain === null) {
    logger.error('Dead job for an unknown tenant', {
      messageId: record.messageId,
      tenantId: parsed.data.tenantId,
    });
    return;
  }
  await core.executions.fail(domain, parsed.data.executionId, {
    type: 'DeadLettered',
    message: `The job could not be processed after ${record.attributes.ApproximateReceiveCount ?? 'several'} receives`,
  });
}

async function recordBatch(recorder: Recorder, event: SQSEvent): Promise<SQSBatchResponse> {
  const failures: SQSBatchResponse['batchItemFailures'] = [];
  for (const record of event.Records) {
    try {
      if (record.eventSourceARN.endsWith('-dlq')) await recordDeadJob(recorder, record);
      else await recordReport(recorder, record);
    } catch (cause) {
      recorder.logger.error('Recording failed; the message will be retried', {
        messageId: record.messageId,
        error: cause as Error,
      });
      failures.push({ itemIdentifier: record.messageId });
    }
  }
  return { batchItemFailures: failures };
}

/**
 * The recorder configured from `env` (the Lambda entry, index.ts, passes its execution environment;
 * the local platform its own).
 */
export async function createHandler(env: Environment) {
  const signer = await messageSignerFromEnv(['jobs', 'reports'], { env });
  const core = createRunCore({ table: tableFromEnv(env), env });
  const recorder: Recorder = {
    logger: loggerFromEnv('results-recorder', env),
    signer,
    core,
    tenants: new TenantContexts(core.table),
  };
  return middy<SQSEvent, SQSBatchResponse, Error, Context>().handler((event) => recordBatch(recorder, event));
}
