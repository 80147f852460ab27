/**
 * `run`, `logs`, `skills`, `runs`, `approvals`, `approve`, `reject`: the catalogue and its runs.
 * Following a run polls it (backing off to 2 s) and prints each status change on stderr; its
 * output goes to stdout, so `execfabric run … > out.json` keeps only the result.
 */
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { counted } from '../../../functions/contract/wording.ts';
import { MAX_PAGE_SIZE } from '../../../functions/core/pagination.ts';
import type { CliContext } from '../context.ts';
import { readStdin } from '../context.ts';
import { CliError, RunUnsuccessfulError, UsageError } from '../errors.ts';
import { hint } from '../invocation.ts';
import { printable } from '../output.ts';
import { type RemoteRun, type RemoteSkill, TERMINAL_STATUSES, TenantApi } from '../remote.ts';
import { resolveTarget, type TargetOptions } from '../target.ts';

type HostOptions = TargetOptions;

function api(context: CliContext, options: HostOptions): TenantApi {
  return new TenantApi(resolveTarget(options, context).client);
}

/** A Skill named by its id (`skl-…`) or its name (exact, else case-insensitive and unique). */
export async function findSkill(
  tenant: TenantApi,
  reference: string,
  env: NodeJS.ProcessEnv,
): Promise<RemoteSkill> {
  const skills = await tenant.skills();
  const exact = skills.filter((skill) => skill.id === reference || skill.name === reference);
  const candidates =
    exact.length > 0 ? exact : skills.filter((skill) => skill.name.toLowerCase() === reference.toLowerCase());
  if (candidates.length === 1 && candidates[0] !== undefined) return candidates[0];
  if (candidates.length === 0) {
    throw new CliError(`No Skill named "${reference}" that you may see`, {
      details: [`\`${hint('skills', env)}\` lists the Skills you may run.`],
    });
  }
  throw new CliError(`${candidates.length} Skills are named "${reference}"`, {
    details: candidates.map((skill) => `${skill.id}  ${skill.name}: name it by id`),
  });
}

/** `--input '{"a":1}'`, `--input @file.json` or `--input @-` (standard input). */
export async function readInput(context: CliContext, input: string | undefined): Promise<unknown> {
  if (input === undefined) return {};
  let text = input;
  let source = '--input';
  if (input === '@-') {
    text = await readStdin(context);
    source = 'standard input';
  } else if (input.startsWith('@')) {
    source = input.slice(1);
    try {
      text = readFileSync(source, 'utf8');
    } catch (error) {
      throw new UsageError(
        `Cannot read ${source}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`,
      );
    }
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new UsageError(`${source} is not JSON: ${(error as Error).message}`);
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new UsageError(`${source} must be a JSON object (the run's inputs)`);
  }
  return value;
}

/** How long a finished run took: "35 ms" under a second (most script runs), else "2.4s". */
export function took(run: Pick<RemoteRun, 'createdAt' | 'startedAt' | 'finishedAt'>): string {
  const start = run.startedAt ?? run.createdAt;
  if (run.finishedAt === undefined) return '';
  const ms = Math.max(0, Date.parse(run.finishedAt) - Date.parse(start));
  return ms < 1_000 ? `${ms} ms` : `${(ms / 1000).toFixed(1)}s`;
}

function describeStatus(run: RemoteRun, env: NodeJS.ProcessEnv): string {
  switch (run.status) {
    case 'pending_approval':
      return waitingForApproval(run, env);
    case 'queued':
      return typeof run.waitingFor === 'string' ? `queued: ${run.waitingFor}` : 'queued';
    case 'succeeded':
      return `succeeded in ${took(run)}`;
    default:
      return run.status;
  }
}

/**
 * A run waiting for approval, said so that its requester knows it is not theirs to approve: how
 * many approvals it still needs, from users other than the requester, and how to follow it.
 */
function waitingForApproval(run: RemoteRun, env: NodeJS.ProcessEnv): string {
  const given = Array.isArray(run.approvals) ? run.approvals.length : 0;
  const required = typeof run.approvalsRequired === 'number' ? run.approvalsRequired : undefined;
  const missing = required === undefined ? 'approval' : counted(Math.max(1, required - given), 'approval');
  return `waiting for ${missing} by users other than ${printable(run.requestedBy)} (nobody approves their own run); \`${hint(`logs ${run.id} --follow`, env)}\` follows it, \`${hint('runs --status pending_approval', env)}\` lists the runs that wait`;
}

interface LogCursor {
  stdout: number;
  stderr: number;
}

/** Prints what was added to a run's logs since the cursor. */
function printLogs(
  context: CliContext,
  run: RemoteRun,
  cursor: LogCursor,
  stdoutTo: 'stdout' | 'stderr',
): void {
  const stdout = run.logs?.stdout ?? '';
  const stderr = run.logs?.stderr ?? '';
  if (stdout.length > cursor.stdout) context.output.raw(stdout.slice(cursor.stdout), stdoutTo);
  if (stderr.length > cursor.stderr) context.output.raw(stderr.slice(cursor.stderr), 'stderr');
  cursor.stdout = Math.max(cursor.stdout, stdout.length);
  cursor.stderr = Math.max(cursor.stderr, stderr.length);
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Polls a run until it ends (or `timeoutSeconds` pass), reporting status changes and new logs. */
async function follow(
  context: CliContext,
  tenant: TenantApi,
  id: string,
  options: { timeoutSeconds?: number; logsTo: 'stdout' | 'stderr'; quiet?: boolean },
): Promise<RemoteRun> {
  const deadline =
    options.timeoutSeconds === undefined
      ? Number.POSITIVE_INFINITY
      : Date.now() + options.timeoutSeconds * 1000;
  const cursor: LogCursor = { stdout: 0, stderr: 0 };
  let lastStatus = '';
  let delay = 250;
  for (;;) {
    const run = await tenant.execution(id);
    const shown = describeStatus(run, context.env);
    if (shown !== lastStatus && options.quiet !== true) {
      context.output.info(`${context.output.style('dim', `[${run.id}]`)} ${shown}`);
      lastStatus = shown;
    }
    if (options.quiet !== true) printLogs(context, run, cursor, options.logsTo);
    if (TERMINAL_STATUSES.has(run.status)) return run;
    if (Date.now() >= deadline) {
      throw new CliError(`Stopped waiting after ${options.timeoutSeconds}s: run ${id} is ${run.status}`, {
        details: [`It goes on; follow it with \`${hint(`logs ${id} --follow`, context.env)}\`.`],
      });
    }
    await sleep(Math.min(delay, Math.max(0, deadline - Date.now())));
    delay = Math.min(2000, delay * 1.5);
  }
}

function failure(run: RemoteRun): RunUnsuccessfulError {
  const reason = run.error === undefined ? '' : `: ${run.error.type}: ${run.error.message}`;
  // What was wrong, as the run keeps it: each schema issue (`output: must have required property
  // 'x'`, as a refused request's fields are shown), then the script's traceback.
  const issues = (run.error?.issues ?? []).map((issue) => `${issue.path}: ${issue.message}`);
  const trace = run.error?.trace === undefined ? [] : [run.error.trace.trimEnd()];
  return new RunUnsuccessfulError(`Run ${run.id} ${run.status.replace('_', ' ')}${reason}`, {
    details: [...issues, ...trace],
  });
}

export interface RunOptions extends HostOptions {
  readonly input?: string;
  readonly wait: boolean;
  readonly timeout?: number;
  readonly json?: boolean;
}

export async function run(context: CliContext, skillReference: string, options: RunOptions): Promise<void> {
  const input = await readInput(context, options.input);
  const tenant = api(context, options);
  const skill = await findSkill(tenant, skillReference, context.env);
  // One key for this invocation: the client sends it again with every retry of the request, so a
  // retried run request is the same run to the platform, never a second one.
  const requested = await tenant.run(skill.id, input, `cli-${randomUUID()}`);
  context.output.info(
    `${context.output.style('dim', `[${requested.id}]`)} requested ${skill.name} (${skill.id})`,
  );
  if (!options.wait) {
    if (options.json === true) context.output.json(requested);
    else context.output.out(requested.id);
    return;
  }
  const finished = await follow(context, tenant, requested.id, {
    ...(options.timeout === undefined ? {} : { timeoutSeconds: options.timeout }),
    logsTo: 'stderr',
  });
  if (options.json === true) context.output.json(finished);
  else if (finished.status === 'succeeded')
    context.output.out(JSON.stringify(finished.output ?? null, null, 2));
  if (finished.status !== 'succeeded') throw failure(finished);
}

/**
 * A run's logs: stdout on stdout, stderr on stderr. A run that ended without succeeding ends the
 * command as `run` does: its error (and traceback) on stderr, exit code 1.
 */
export async function logs(
  context: CliContext,
  id: string,
  options: HostOptions & { follow?: boolean; json?: boolean },
): Promise<void> {
  const tenant = api(context, options);
  const current =
    options.follow === true
      ? await follow(context, tenant, id, { logsTo: 'stdout', quiet: options.json === true })
      : await tenant.execution(id);
  if (options.json === true) {
    context.output.json({
      id: current.id,
      status: current.status,
      logs: current.logs ?? null,
      error: current.error ?? null,
    });
  } else if (options.follow !== true) {
    printLogs(context, current, { stdout: 0, stderr: 0 }, 'stdout');
    if (!TERMINAL_STATUSES.has(current.status)) {
      context.output.info(`Run ${id} is ${current.status}; \`--follow\` waits for the rest.`);
    } else if (current.logs?.truncated === true) {
      context.output.info('(the logs were truncated by the platform)');
    }
  }
  if (TERMINAL_STATUSES.has(current.status) && current.status !== 'succeeded') throw failure(current);
}

export async function skills(context: CliContext, options: HostOptions & { json?: boolean }): Promise<void> {
  const items = await api(context, options).skills();
  if (options.json === true) {
    context.output.json(items);
    return;
  }
  if (items.length === 0) {
    context.output.info('No Skills you may see.');
    return;
  }
  context.output.table(
    ['NAME', 'ID', 'RISK', 'APPROVAL', 'ASSET'],
    items.map((skill) => [
      skill.name,
      skill.id,
      skill.risk,
      skill.approval,
      `${skill.asset.kind} ${skill.asset.id}${skill.asset.version === undefined ? '' : `@${String(skill.asset.version)}`}`,
    ]),
  );
}

export interface RunsOptions extends HostOptions {
  readonly status?: string;
  readonly skill?: string;
  readonly limit: number;
  readonly json?: boolean;
}

export async function runs(context: CliContext, options: RunsOptions): Promise<void> {
  const tenant = api(context, options);
  const skillId =
    options.skill === undefined ? undefined : (await findSkill(tenant, options.skill, context.env)).id;
  // The platform filters (by its status and Skill indexes) and pages; a run's own answer is not
  // needed: a queued run bound to a local agent says in the list why it waits (`waitingFor`).
  const shown: RemoteRun[] = [];
  for await (const item of tenant.executions(
    {
      ...(options.status === undefined ? {} : { status: options.status }),
      ...(skillId === undefined ? {} : { skillId }),
    },
    Math.min(options.limit, MAX_PAGE_SIZE),
  )) {
    shown.push(item);
    if (shown.length >= options.limit) break;
  }
  if (options.json === true) {
    context.output.json(shown);
    return;
  }
  if (shown.length === 0) {
    context.output.info('No runs.');
    return;
  }
  const waiting = (item: RemoteRun) =>
    typeof item.waitingFor === 'string' ? item.waitingFor.replace(/^waiting for /, '') : '';
  context.output.table(
    ['ID', 'SKILL', 'STATUS', 'BY', 'CREATED', 'TOOK', 'WAITING FOR'],
    shown.map((item) => [
      item.id,
      item.skillName,
      item.status,
      item.requestedBy,
      item.createdAt,
      took(item),
      waiting(item),
    ]),
  );
}

export async function approvals(
  context: CliContext,
  options: HostOptions & { limit: number; json?: boolean },
): Promise<void> {
  const items: RemoteRun[] = [];
  // Oldest first, page after page (the inbox is paged like the runs): at most `limit` of them.
  for await (const item of api(context, options).approvals()) {
    items.push(item);
    if (items.length >= options.limit) break;
  }
  if (options.json === true) {
    context.output.json(items);
    return;
  }
  if (items.length === 0) {
    context.output.info('No runs are waiting for approval.');
    return;
  }
  context.output.table(
    ['ID', 'SKILL', 'BY', 'APPROVALS', 'DEADLINE', 'YOU MAY DECIDE'],
    items.map((item) => [
      item.id,
      item.skillName,
      item.requestedBy,
      `${Array.isArray(item.approvals) ? item.approvals.length : 0}/${String(item.approvalsRequired ?? '?')}`,
      String(item.deadline ?? ''),
      item.canDecide === true ? 'yes' : 'no',
    ]),
  );
}

export async function decide(
  context: CliContext,
  decision: 'approve' | 'reject',
  id: string,
  options: HostOptions & { comment?: string; json?: boolean },
): Promise<void> {
  const result = await api(context, options).decide(id, decision, options.comment);
  if (options.json === true) context.output.json(result);
  else context.output.out(decidedLine(decision, id, result));
}

/** What a decision did, in words: how many approvals a run still waits for, or where it went. */
export function decidedLine(decision: 'approve' | 'reject', id: string, run: RemoteRun): string {
  const done = `${decision === 'approve' ? 'Approved' : 'Rejected'} ${id}`;
  if (run.status !== 'pending_approval') return `${done}: it is now ${run.status}.`;
  const given = Array.isArray(run.approvals) ? run.approvals.length : undefined;
  const required = typeof run.approvalsRequired === 'number' ? run.approvalsRequired : undefined;
  if (given === undefined || required === undefined || required <= given)
    return `${done}: it still waits for approval.`;
  return `${done}: ${given} of ${counted(required, 'approval')}; it waits for ${required - given} more.`;
}
