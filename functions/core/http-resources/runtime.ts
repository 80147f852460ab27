/**
 * What the http-executor does with one queued job: parse it, claim it (a redelivered message never
 * runs twice), report `started`, substitute the run's input into the request template, read the
 * credential, send the request through `sendToResource` (every outbound check), and report the
 * `result` to the results queue — the response's JSON body is the run's output, which the recorder
 * checks against the Skill's output schema; a non-2xx answer fails the run with its status.
 *
 * Rotation: the current credential is used first; if the upstream answers 401 or 403 and a previous
 * version is kept (the current one has not yet worked), the request is sent once more with it. The
 * run's metrics record which version stage answered; the value is never reported or logged.
 *
 * Only infrastructure failures (and unreadable messages, so that redrive moves them to the
 * dead-letter queue where the recorder fails the run) are returned as batch item failures. A message
 * whose MAC does not verify under the jobs key is refused, logged as a security event and dropped:
 * nothing in it is believed, so it cannot name a base URL, a switch or a credential.
 *
 * `relayEgressCall` serves a script's `ctx.http`: the worker relays the call with the run's sealed
 * grant; the call is checked against the granted configuration and sent like a job's request.
 */

import { ExecFabricError, ForbiddenError, ValidationError } from '../errors.ts';
import type { ExecutionError, ResultReport, StartedReport } from '../executions/executions.ts';
import { parseJson } from '../json.ts';
import { type MessageSigner, unseal } from '../messages/signing.ts';
import { type CredentialReader, CredentialStoreError, type StoredCredential } from '../secrets/store.ts';
import {
  HttpRequestRefusedError,
  LocalDevelopmentDisabledError,
  runErrorType,
  UpstreamTimeoutError,
} from './errors.ts';
import {
  type EgressReply,
  type EgressUse,
  egressCallSchema,
  egressGrantSchema,
  egressRelaySchema,
  type HttpJob,
  httpJobSchema,
  MAX_EGRESS_BODY_BYTES,
} from './jobs.ts';
import { assertNoMethodOverride, assertRequestAllowed, type HttpResourceSnapshot } from './model.ts';
import {
  extraHeaderIssue,
  type OutboundRequest,
  type OutboundResponse,
  REDACTED,
  type Resolver,
  redactJson,
  redactor,
  sendToResource,
} from './outbound.ts';
import { substituteBody, substitutePath, substituteQuery } from './templates.ts';

/** A claim outlives every redelivery of its message (queue retention is 4 days). */
export const CLAIM_TTL_SECONDS = 7 * 24 * 3600;
/** Time kept back from the invocation to send the result. */
export const RESULT_RESERVE_MS = 5_000;
/** A result must fit one SQS message (1 MiB, the results queue's maximum) with room for its envelope. */
export const MAX_RESULT_BYTES = 1024 * 1024 - 4 * 1024;
/** Bytes of a failed response's body kept in the run's stderr. */
export const ERROR_BODY_BYTES = 2048;

export type LogLevel = 'info' | 'warn' | 'error';

export interface HttpRuntimePorts {
  /** True when this call claimed the job; false when it was claimed before. */
  claim(jobId: string, expiresAtEpoch: number): Promise<boolean>;
  /** Sends a report to the execution-results queue. */
  report(message: StartedReport | ResultReport | SecurityReport): Promise<void>;
  readonly credentials: CredentialReader;
  /** Whether this deployment honours `localDevelopment` resources. */
  readonly allowLocalDevelopment: boolean;
  /** Verifies job messages and egress grants (holds the jobs key). */
  readonly signer: MessageSigner;
  /** Structured diagnostics; fields never hold a value of a credential. */
  log(level: LogLevel, message: string, fields: Record<string, unknown>): void;
  readonly now?: () => Date;
  readonly resolver?: Resolver;
}

/** What the executor refused, reported through the recording path (recorded as a security event). */
export interface SecurityReport {
  readonly kind: 'security';
  readonly event: string;
  readonly source: string;
  readonly detail?: Readonly<Record<string, unknown>>;
}

/** Logs a refusal and reports it; a report that cannot be sent is logged (the refusal stands). */
async function securityEvent(
  ports: HttpRuntimePorts,
  event: string,
  source: string,
  detail: Record<string, unknown>,
): Promise<void> {
  ports.log('warn', 'Refused an internal message', { securityEvent: event, ...detail });
  await ports.report({ kind: 'security', event, source, detail }).catch((error: unknown) => {
    ports.log('error', 'Security event not reported', { securityEvent: event, error: (error as Error).name });
  });
}

interface Attempt {
  readonly credential: StoredCredential;
  readonly response: OutboundResponse;
}

function isoNow(ports: HttpRuntimePorts): string {
  return (ports.now ?? (() => new Date()))().toISOString();
}

function statusLine(response: OutboundResponse): string {
  return `${response.method} ${response.path} → ${response.status} ${response.statusText} (${response.durationMs} ms, ${response.bytes} bytes${response.redirects > 0 ? `, ${response.redirects} redirects` : ''})`;
}

/** Handles one SQS record; false means "leave it on the queue" (infrastructure failure or poison). */
export async function processHttpRecord(
  record: { readonly messageId: string; readonly body: string; readonly mac: string | undefined },
  ports: HttpRuntimePorts,
  remainingMs: () => number,
): Promise<boolean> {
  if (!ports.signer.verify('job', record.body, record.mac)) {
    await securityEvent(ports, 'message-refused', 'queue:http-executions', {
      messageId: record.messageId,
      reason: 'the http job MAC does not verify',
    });
    return true;
  }
  let body: unknown;
  try {
    // Lossless: a run input's big integers reach the request's placeholders exactly.
    body = parseJson(record.body);
  } catch {
    body = undefined;
  }
  const parsed = httpJobSchema.safeParse(body);
  if (!parsed.success) {
    ports.log('error', 'Unreadable http job', {
      messageId: record.messageId,
      issues: parsed.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`),
    });
    return false;
  }
  const job = parsed.data as HttpJob;
  const context = { messageId: record.messageId, jobId: job.jobId };
  try {
    const claimed = await ports.claim(job.jobId, Math.floor(Date.now() / 1000) + CLAIM_TTL_SECONDS);
    if (!claimed) {
      ports.log('info', 'Duplicate http job skipped', context);
      return true;
    }
  } catch (error) {
    ports.log('error', 'Claim failed', { ...context, error: (error as Error).name });
    return false;
  }
  if (job.refused === undefined) {
    try {
      await ports.report({
        kind: 'started',
        executionId: job.executionId,
        tenantId: job.tenantId,
        startedAt: isoNow(ports),
      });
    } catch (error) {
      // `started` is informative; the result still closes the run.
      ports.log('warn', 'Started report not sent', { ...context, error: (error as Error).name });
    }
  }
  const result = await runHttpJob(job, ports, Math.max(1000, remainingMs() - RESULT_RESERVE_MS));
  try {
    await ports.report(result);
  } catch (error) {
    ports.log('error', 'Result not sent', { ...context, error: (error as Error).name });
    return false;
  }
  ports.log('info', 'Http job finished', { ...context, status: result.status });
  return true;
}

/** Runs one job and returns its result report (never throws for the job's own failures). */
export async function runHttpJob(
  job: HttpJob,
  ports: HttpRuntimePorts,
  budgetMs: number,
): Promise<ResultReport> {
  const startedAt = isoNow(ports);
  const started = Date.now();
  const stdout: string[] = [];
  const stderr: string[] = [];
  const metrics: Record<string, unknown> = { startedAt };
  const finish = (
    status: ResultReport['status'],
    extra: { output?: unknown; error?: ExecutionError },
  ): ResultReport => {
    const report: ResultReport = {
      kind: 'result',
      executionId: job.executionId,
      tenantId: job.tenantId,
      status,
      ...extra,
      logs: { stdout: stdout.join('\n'), stderr: stderr.join('\n'), truncated: false },
      metrics: { ...metrics, finishedAt: isoNow(ports), durationMs: Date.now() - started },
    };
    if (Buffer.byteLength(JSON.stringify(report), 'utf8') <= MAX_RESULT_BYTES) return report;
    return {
      kind: 'result',
      executionId: job.executionId,
      tenantId: job.tenantId,
      status: 'failed',
      error: {
        type: 'OutputTooLarge',
        message: `The result exceeds ${MAX_RESULT_BYTES} bytes`,
        limit: 'output',
      },
      logs: { stdout: stdout.join('\n').slice(0, 4096), stderr: '', truncated: true },
      metrics: report.metrics ?? {},
    };
  };
  const fail = (error: Error) => {
    if (error instanceof CredentialStoreError) {
      // The store's message names the secret; the tenant learns only that it was unavailable.
      ports.log('error', 'Credential store failed', { jobId: job.jobId, error: error.message });
      return finish('failed', {
        error: {
          type: 'CredentialUnavailable',
          message: 'The credential could not be read; try the run again later',
        },
      });
    }
    if (!(error instanceof ExecFabricError)) {
      ports.log('error', 'Unexpected http job failure', { jobId: job.jobId, error: error.name });
      return finish('failed', {
        error: { type: 'ExecutorError', message: 'The executor failed unexpectedly' },
      });
    }
    return finish(error instanceof UpstreamTimeoutError ? 'timed_out' : 'failed', {
      error: { type: runErrorType(error), message: error.message },
    });
  };

  if (job.refused !== undefined || job.resource === undefined) {
    return finish('failed', {
      error: job.refused ?? { type: 'HttpResourceNotGranted', message: 'The job names no resource' },
    });
  }
  const resource: HttpResourceSnapshot = job.resource;
  metrics.resourceId = resource.id;
  metrics.resourceVersion = resource.version;

  let path: string;
  let query: Record<string, string>;
  let body: unknown;
  try {
    path = substitutePath(job.request.path, job.input);
    query = substituteQuery(job.request.query, job.input);
    body = job.request.body === undefined ? undefined : substituteBody(job.request.body, job.input);
  } catch (error) {
    return fail(error as Error);
  }

  const timeoutMs = Math.min(resource.timeoutSeconds * 1000, job.limits.timeoutSeconds * 1000, budgetMs);
  let used: Attempt;
  try {
    const sent = await sendWithCredential(
      resource,
      { method: job.request.method, path, query, ...(body === undefined ? {} : { body }) },
      ports,
      {
        deadline: Date.now() + timeoutMs,
        oversize: 'fail',
        tenantId: job.tenantId,
        executionId: job.executionId,
      },
    );
    if (sent === null) {
      return finish('failed', {
        error: { type: 'CredentialMissing', message: 'The HTTP resource has no credential configured' },
      });
    }
    stdout.push(...sent.lines);
    used = sent.used;
  } catch (error) {
    return fail(error as Error);
  }

  const { response, credential } = used;
  metrics.httpStatus = response.status;
  metrics.responseBytes = response.bytes;
  metrics.redirects = response.redirects;
  metrics.credential = { resourceId: resource.id, stage: credential.stage, version: credential.versionId };
  const redact = redactor(credential.value, resource.auth);
  if (response.status < 200 || response.status >= 300) {
    if (response.body !== '') stderr.push(response.body.slice(0, ERROR_BODY_BYTES));
    return finish('failed', {
      error: {
        type: 'HttpStatus',
        message: `The upstream answered ${response.status}${response.statusText === '' ? '' : ` ${response.statusText}`}`,
      },
    });
  }
  if (response.body.trim() === '') return finish('succeeded', { output: null });
  let output: unknown;
  try {
    output = JSON.parse(response.body);
  } catch {
    stderr.push(response.body.slice(0, ERROR_BODY_BYTES));
    return finish('failed', {
      error: {
        type: 'ResponseNotJson',
        message: 'The upstream answer is not JSON; the run output must be JSON',
      },
    });
  }
  // Redacted again after parsing, for forms only JSON escaping would reveal.
  return finish('succeeded', { output: redactJson(output, redact) });
}

export { REDACTED };

/**
 * Sends a request with the resource's current credential; if the upstream answers 401 or 403 and a
 * previous version is kept, once more with that one. Null when no credential is configured.
 */
async function sendWithCredential(
  resource: HttpResourceSnapshot,
  request: OutboundRequest,
  ports: HttpRuntimePorts,
  options: {
    readonly deadline: number;
    readonly oversize: 'fail' | 'truncate';
    readonly tenantId: string;
    readonly executionId: string;
  },
): Promise<{ used: Attempt; lines: string[] } | null> {
  const attempt = async (stage: 'current' | 'previous'): Promise<Attempt | null> => {
    const credential = await ports.credentials.read(resource.id, stage);
    if (credential === null) return null;
    const response = await sendToResource(request, {
      resource,
      credential: credential.value,
      allowLocalDevelopment: ports.allowLocalDevelopment,
      timeoutMs: Math.max(1, options.deadline - Date.now()),
      oversize: options.oversize,
      ...(ports.resolver === undefined ? {} : { resolver: ports.resolver }),
    });
    ports.log('info', 'Credential used', {
      resourceId: resource.id,
      resourceVersion: resource.version,
      tenantId: options.tenantId,
      executionId: options.executionId,
      credentialStage: stage,
      credentialVersion: credential.versionId,
      status: response.status,
    });
    return { credential, response };
  };
  const first = await attempt('current');
  if (first === null) return null;
  const lines = [statusLine(first.response)];
  if (first.response.status === 401 || first.response.status === 403) {
    const fallback = await attempt('previous');
    if (fallback !== null) {
      lines.push(
        `the current credential was refused (${first.response.status}); retried with the previous version`,
        statusLine(fallback.response),
      );
      return { used: fallback, lines };
    }
  }
  return { used: first, lines };
}

function refusedCall(type: string, message: string): EgressReply {
  return { ok: false, error: { type, message, egress: true } };
}

/**
 * One `ctx.http` call relayed by a script worker with its run's sealed grant. Every refusal is an
 * answer to the script (`ok: false`), never a thrown error: the run goes on and decides what to do.
 */
export async function relayEgressCall(
  input: unknown,
  ports: HttpRuntimePorts,
  remainingMs: () => number,
): Promise<EgressReply> {
  const relay = egressRelaySchema.safeParse(input);
  if (!relay.success) return refusedCall('InvalidRelay', 'The relay request is malformed');
  const raw = unseal(ports.signer, 'grant', relay.data.grant);
  const grant = raw === null ? null : egressGrantSchema.safeParse(raw);
  if (grant === null || !grant.success) {
    await securityEvent(ports, 'grant-refused', 'invoke:http-executor', {
      reason: "a relayed call's egress grant does not verify",
    });
    return refusedCall('GrantRefused', "The run's egress grant could not be verified");
  }
  const now = (ports.now ?? (() => new Date()))();
  if (Date.parse(grant.data.expiresAt) <= now.getTime()) {
    return refusedCall('GrantExpired', "The run's egress grant has expired");
  }
  const call = egressCallSchema.safeParse(relay.data.call);
  if (!call.success) {
    return refusedCall(
      'InvalidCall',
      call.error.issues.map((issue) => `${issue.path.join('.') || 'call'}: ${issue.message}`).join('; '),
    );
  }
  const { resource: wanted, method, path, query, headers, json } = call.data;
  const resource = grant.data.resources.find((entry) => entry.id === wanted || entry.name === wanted);
  if (resource === undefined) {
    return grant.data.declared.includes(wanted)
      ? refusedCall(
          'HttpResourceNotGranted',
          `The HTTP resource ${wanted} is no longer granted to this tenant`,
        )
      : refusedCall(
          'EgressNotDeclared',
          `The HTTP resource ${wanted} is not declared in this Skill's egress; a tenant admin adds it to the Skill`,
        );
  }
  if (json !== undefined && Buffer.byteLength(JSON.stringify(json), 'utf8') > MAX_EGRESS_BODY_BYTES) {
    return refusedCall(
      'RequestTooLarge',
      `A call's JSON body may hold at most ${MAX_EGRESS_BODY_BYTES} bytes`,
    );
  }
  // Refused requests are refused before the credential is even read (and are no credential use).
  try {
    precheck(resource, method.toUpperCase(), path, query, headers, json, ports.allowLocalDevelopment);
  } catch (error) {
    if (error instanceof ExecFabricError) return refusedCall(runErrorType(error), error.message);
    throw error;
  }
  // The run's deadline bounds the call as the resource's timeout and this invocation's time do: a
  // call the worker relays as its job ends must not reach the upstream after the run is over.
  const started = Date.now();
  const runLeftMs = relay.data.deadlineMs - started;
  if (!(runLeftMs > 0)) {
    return refusedCall('DeadlinePassed', "The run's deadline has passed: the call was not sent");
  }
  const ownBoundMs = Math.min(resource.timeoutSeconds * 1000, Math.max(1, remainingMs()));
  const cutByRun = runLeftMs < ownBoundMs;
  const base = {
    resourceId: resource.id,
    resourceVersion: resource.version,
    method: method.toUpperCase(),
    path,
    at: now.toISOString(),
  };
  try {
    const sent = await sendWithCredential(
      resource,
      {
        method: method.toUpperCase(),
        path,
        ...(query === undefined ? {} : { query }),
        ...(headers === undefined ? {} : { headers }),
        ...(json === undefined ? {} : { body: json }),
      },
      ports,
      {
        deadline: started + Math.min(ownBoundMs, runLeftMs),
        oversize: 'truncate',
        tenantId: grant.data.tenantId,
        executionId: grant.data.executionId,
      },
    );
    if (sent === null)
      return refusedCall('CredentialMissing', 'The HTTP resource has no credential configured');
    const { response, credential } = sent.used;
    const use: EgressUse = {
      ...base,
      status: response.status,
      durationMs: Date.now() - started,
      credentialStage: credential.stage,
      credentialVersion: credential.versionId,
    };
    return {
      ok: true,
      response: {
        status: response.status,
        headers: response.headers,
        body: response.body,
        truncated: response.truncated,
      },
      use,
    };
  } catch (cause) {
    const error = cause as Error;
    if (error instanceof CredentialStoreError) {
      ports.log('error', 'Credential store failed', {
        executionId: grant.data.executionId,
        error: error.message,
      });
      return {
        ok: false,
        error: { type: 'CredentialUnavailable', message: 'The credential could not be read' },
      };
    }
    if (!(error instanceof ExecFabricError)) {
      ports.log('error', 'Unexpected relayed call failure', {
        executionId: grant.data.executionId,
        error: error.name,
      });
      return { ok: false, error: { type: 'ExecutorError', message: 'The call failed unexpectedly' } };
    }
    // Past the prechecks the credential went out (a redirect refused, a timeout…): a use all the same.
    const refusal = error instanceof ValidationError || error instanceof ForbiddenError;
    const timedOut = error instanceof UpstreamTimeoutError;
    const message =
      timedOut && cutByRun
        ? "The run's deadline came before the upstream answered: the call was stopped"
        : error.message;
    return {
      ok: false,
      error: { type: runErrorType(error), message, ...(refusal ? { egress: true } : {}) },
      use: { ...base, status: 0, durationMs: Date.now() - started, ...(timedOut ? { timedOut: true } : {}) },
    };
  }
}

/** The checks `sendToResource` makes before anything is sent, made here before the credential is read. */
function precheck(
  resource: HttpResourceSnapshot,
  method: string,
  path: string,
  query: Readonly<Record<string, string>> | undefined,
  headers: Readonly<Record<string, string>> | undefined,
  json: unknown,
  allowLocalDevelopment: boolean,
): void {
  if (resource.localDevelopment && !allowLocalDevelopment) {
    throw new LocalDevelopmentDisabledError('Local development resources are disabled on this deployment');
  }
  assertRequestAllowed(resource, method, path);
  assertNoMethodOverride(query, json, 'json');
  if (json !== undefined && (method === 'GET' || method === 'HEAD')) {
    throw new HttpRequestRefusedError(`A ${method} request has no body`, 'json');
  }
  for (const [name, value] of Object.entries(headers ?? {})) {
    const issue = extraHeaderIssue(resource, name, value);
    if (issue !== null) throw new HttpRequestRefusedError(issue, 'headers');
  }
}
