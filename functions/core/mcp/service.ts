/**
 * What an AI client does over MCP, in governance terms: list the Skills it may use as tools, call
 * one (a call is a run, requested through the same admission as any other: input schema, size,
 * tenant status, approvals, audit), and follow its runs. Protocol framing lives at the HTTP edge
 * (functions/http/mcp.ts); this module knows nothing of JSON-RPC.
 *
 * A call that needs approval answers at once with a ticket. Any other call waits up to the client's
 * `waitSeconds` for its run to finish, and otherwise answers with a ticket too. `get_run` waits up to
 * its own `waitSeconds` for the run to end, through its approval too.
 */
import type { SkillCatalog } from '../catalog/skills.ts';
import { ExecFabricError, NotFoundError, ValidationError } from '../errors.ts';
import type { Approvals, Vote } from '../executions/approvals.ts';
import { EXECUTION_ID_PATTERN, type Execution, type Executions } from '../executions/executions.ts';
import type { Caller, CallerClient } from '../identity/caller.ts';
import type { TenantContext } from '../tenancy/domain.ts';
import { inScope, MAX_WAIT_SECONDS, type McpClients } from './clients.ts';
import {
  envelopeText,
  GET_RUN_TOOL,
  getRunTool,
  isErrorStatus,
  type McpTool,
  type RunEnvelope,
  runEnvelope,
  skillIdOfTool,
  skillTool,
  toolName,
} from './tools.ts';

/** A tool name this client has no tool for (a protocol error, not a tool error). */
export class UnknownToolError extends NotFoundError {
  override readonly code = 'unknown-tool';
}

/** What a tool call answers: the run (when there is one), whether it is an error, and its text. */
export interface ToolAnswer {
  readonly envelope?: RunEnvelope;
  readonly isError: boolean;
  readonly text: string;
}

export interface McpServiceOptions {
  readonly skills: SkillCatalog;
  readonly executions: Executions;
  readonly approvals: Approvals;
  readonly clients: McpClients;
  /**
   * Why a run has not started (its local agent offline, its plan's limit on runs at once full:
   * executions/run-waits.ts). @default not said
   */
  readonly waitingFor?: (domain: TenantContext, execution: Execution) => Promise<string | null>;
  /** @default setTimeout */
  readonly sleep?: (ms: number) => Promise<void>;
}

function clientOf(caller: Caller): CallerClient {
  if (caller.client === undefined) throw new UnknownToolError('Tools are for AI clients');
  return caller.client;
}

/** A refusal as a tool error: what went wrong and, for bad input, which fields. */
function refusal(error: ExecFabricError): ToolAnswer {
  const issues = error instanceof ValidationError ? error.issues : [];
  const problem = {
    error: {
      type: error.code,
      message: error.message,
      ...(issues.length === 0 ? {} : { issues }),
      ...error.extra,
    },
  };
  return { isError: true, text: `Refused: ${error.message}\n${JSON.stringify(problem)}` };
}

export class McpService {
  readonly #skills: SkillCatalog;
  readonly #executions: Executions;
  readonly #approvals: Approvals;
  readonly #clients: McpClients;
  readonly #sleep: (ms: number) => Promise<void>;
  readonly #waitingFor: McpServiceOptions['waitingFor'];

  constructor(options: McpServiceOptions) {
    this.#skills = options.skills;
    this.#executions = options.executions;
    this.#approvals = options.approvals;
    this.#clients = options.clients;
    this.#waitingFor = options.waitingFor;
    this.#sleep = options.sleep ?? ((ms) => new Promise((resolve) => setTimeout(resolve, ms)));
  }

  /**
   * The client's tools: the Skills in its scope its user may see and run, and `get_run`, from a
   * catalogue read at most `maxAgeMs` ago (the HTTP request's `Cache-Control`; SkillCatalog.listVisible).
   * An archived Skill is not a tool (its runs are refused, and archiving takes it out of the default
   * lists); a disabled one stays listed, as in the console, and a call to it is refused with the reason.
   */
  async listTools(domain: TenantContext, caller: Caller, maxAgeMs?: number): Promise<McpTool[]> {
    const client = clientOf(caller);
    const skills = caller.permissions.has('skill:run')
      ? (await this.#skills.listVisible(domain, caller, { includeArchived: false, maxAgeMs })).filter(
          (skill) => inScope(client, skill),
        )
      : [];
    return [...skills.map(skillTool), getRunTool];
  }

  /**
   * Calls a tool. Refusals the platform explains (bad input, a suspended tenant, a Skill gone) are
   * tool errors; an unknown tool throws UnknownToolError; anything else is a fault and is thrown.
   */
  async call(
    domain: TenantContext,
    caller: Caller,
    name: string,
    args: Readonly<Record<string, unknown>>,
    origin: string,
  ): Promise<ToolAnswer> {
    const client = clientOf(caller);
    if (name === GET_RUN_TOOL) {
      try {
        return await this.#getRun(domain, caller, client, args, origin);
      } catch (error) {
        if (error instanceof ExecFabricError && !(error instanceof UnknownToolError)) return refusal(error);
        throw error;
      }
    }
    const skill = await this.#toolSkill(domain, caller, client, name);
    let execution: Execution;
    let created: boolean;
    try {
      ({ execution, created } = await this.#executions.request(domain, caller, skill.id, args));
    } catch (error) {
      if (!(error instanceof ExecFabricError)) throw error;
      await this.#clients.recordCall(domain, client, {
        tool: name,
        skillId: skill.id,
        status: 'refused',
        error: { type: error.code, message: error.message },
      });
      return refusal(error);
    }
    const settled = await this.#settle(domain, execution, client.waitSeconds);
    await this.#clients.recordCall(domain, client, {
      tool: name,
      skillId: skill.id,
      runId: settled.id,
      status: settled.status,
      ...(settled.error === undefined
        ? {}
        : { error: { type: settled.error.type, message: settled.error.message } }),
    });
    // A run requested just now and still waiting for approval has no votes yet.
    const fresh = created && settled.status === 'pending_approval';
    return this.#answer(domain, settled, origin, fresh ? [] : undefined);
  }

  async #getRun(
    domain: TenantContext,
    caller: Caller,
    client: CallerClient,
    args: Readonly<Record<string, unknown>>,
    origin: string,
  ): Promise<ToolAnswer> {
    const { runId, waitSeconds } = args;
    const extra = Object.keys(args).filter((key) => key !== 'runId' && key !== 'waitSeconds');
    const issues = [
      ...(typeof runId === 'string' && EXECUTION_ID_PATTERN.test(runId)
        ? []
        : [{ path: 'runId', message: 'a run id (ex-…) from a ticket' }]),
      ...(waitSeconds === undefined ||
      (typeof waitSeconds === 'number' && Number.isInteger(waitSeconds) && waitSeconds >= 0)
        ? []
        : [{ path: 'waitSeconds', message: 'a whole number of seconds, 0 or more' }]),
      ...extra.map((key) => ({ path: key.slice(0, 64), message: 'unexpected argument' })),
    ];
    if (issues.length > 0) throw new ValidationError('Invalid get_run arguments', issues);
    const id = String(runId);
    const execution = await this.#executions.get(domain, caller, id);
    // A client follows the runs it asked for, not every run its user can read.
    if (execution.client?.id !== client.id) throw new NotFoundError(`Run ${id} not found`);
    const wait = Math.min(Number(waitSeconds ?? 0), MAX_WAIT_SECONDS);
    // Following a ticket, a client waits through an approval as through a run: answered at once,
    // a loop on get_run asked ~100 times a second while people decided.
    const followed = await this.#executions.settle(domain, execution, wait, this.#sleep, {
      throughApproval: true,
    });
    return this.#answer(domain, followed, origin);
  }

  /** The Skill behind a tool name, if this client has that tool now. */
  async #toolSkill(domain: TenantContext, caller: Caller, client: CallerClient, name: string) {
    const unknown = () => new UnknownToolError(`Unknown tool: ${name.slice(0, 128)}`);
    const skillId = skillIdOfTool(name);
    if (skillId === null || !caller.permissions.has('skill:run')) throw unknown();
    let skill: Awaited<ReturnType<SkillCatalog['getVisible']>>;
    try {
      skill = await this.#skills.getVisible(domain, caller, skillId);
    } catch (error) {
      if (error instanceof NotFoundError) throw unknown();
      throw error;
    }
    if (!inScope(client, skill) || toolName(skill) !== name) throw unknown();
    return skill;
  }

  /** Waits up to `seconds` for a run to finish; a run waiting for people is answered at once. */
  #settle(domain: TenantContext, execution: Execution, seconds: number): Promise<Execution> {
    return this.#executions.settle(domain, execution, seconds, this.#sleep);
  }

  async #answer(
    domain: TenantContext,
    execution: Execution,
    origin: string,
    known?: readonly Vote[],
  ): Promise<ToolAnswer> {
    const votes =
      known ?? (execution.approvalsRequired > 0 ? await this.#approvals.votesOf(domain, execution.id) : []);
    // A run that has not started says why, as its REST answer does.
    const waitingFor = (await this.#waitingFor?.(domain, execution)) ?? undefined;
    const envelope = runEnvelope(execution, {
      origin,
      votes,
      maxWaitSeconds: MAX_WAIT_SECONDS,
      ...(waitingFor === undefined ? {} : { waitingFor }),
    });
    return { envelope, isError: isErrorStatus(execution.status), text: envelopeText(envelope) };
  }
}
