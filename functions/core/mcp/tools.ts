/**
 * Skills as MCP tools: a stable tool name per Skill, the input and output schemas an MCP client is
 * shown, and the run envelope every call answers with.
 *
 * - A tool name is the Skill's name as a slug plus its id (`greet_k3j9x0q2m1ab`): unique, stable
 *   while the name stays, and within `^[A-Za-z0-9_-]{1,64}$`, the narrowest rule MCP clients and
 *   model APIs apply (MCP itself allows 128 characters and dots).
 * - A call is a run, so a tool's result is the run: `{ runId, status, done, output?, error?,
 *   awaiting?, approvals?, runUrl, approvalUrl?, next? }`. A finished run carries the Skill's output
 *   under `output`; a run still waiting (for approvals, or to finish) is a ticket the agent follows
 *   with `get_run`. The output schema is that envelope with the Skill's output schema inside it, so
 *   a result always conforms to the schema the tool declared, ticket or not.
 * - MCP tool schemas are objects without a dialect (2020-12 is MCP's default): `$schema` is
 *   dropped (clients compile schemas with a draft-07 validator that does not know the 2020-12 URI),
 *   and the Skill output schema's `$defs`/`definitions` move to the envelope's root, so local
 *   `#/$defs/…` references still resolve.
 */
import { counted } from '../../contract/wording.ts';
import type { JsonSchema } from '../catalog/schemas.ts';
import type { Skill } from '../catalog/skills.ts';
import type { Vote } from '../executions/approvals.ts';
import {
  EXECUTION_STATUSES,
  type Execution,
  type ExecutionStatus,
  TERMINAL,
} from '../executions/executions.ts';

export const GET_RUN_TOOL = 'get_run';
/** What every tool name satisfies (MCP's own rule is wider: 128 characters, dots allowed). */
export const TOOL_NAME_PATTERN = /^[A-Za-z0-9_-]{1,64}$/;
const SLUG_LENGTH = 50;
const SKILL_ID_PREFIX = 'skl-';

export type JsonObjectSchema = { readonly type: 'object' } & Readonly<Record<string, unknown>>;

export interface McpTool {
  readonly name: string;
  readonly title: string;
  readonly description: string;
  readonly inputSchema: JsonObjectSchema;
  readonly outputSchema: JsonObjectSchema;
  readonly annotations: Readonly<Record<string, unknown>>;
}

/** `Send invoice (EU)` + `skl-k3j9x0q2m1ab` → `send_invoice_eu_k3j9x0q2m1ab`. */
export function toolName(skill: Pick<Skill, 'id' | 'name'>): string {
  const slug = skill.name
    .normalize('NFKD')
    .replace(/[\u0300-\u036f]/g, '')
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '_')
    .slice(0, SLUG_LENGTH)
    .replace(/^_+|_+$/g, '');
  const suffix = skill.id.startsWith(SKILL_ID_PREFIX) ? skill.id.slice(SKILL_ID_PREFIX.length) : skill.id;
  return `${slug === '' ? 'skill' : slug}_${suffix}`;
}

/** The Skill id a tool name carries (its last `_` part), or null when it carries none. */
export function skillIdOfTool(name: string): string | null {
  if (!TOOL_NAME_PATTERN.test(name)) return null;
  const suffix = name.slice(name.lastIndexOf('_') + 1);
  return /^[a-z0-9]{12}$/.test(suffix) ? `${SKILL_ID_PREFIX}${suffix}` : null;
}

/** A Skill's input schema as an MCP tool input schema: an object schema, no dialect. */
export function toolInputSchema(schema: JsonSchema): JsonObjectSchema {
  if (typeof schema === 'boolean') return schema ? { type: 'object' } : { type: 'object', not: {} };
  const { $schema: _dialect, ...rest } = schema;
  return { ...rest, type: 'object' };
}

/** A schema placed inside another one: dialect and id dropped, definitions handed to the root. */
function embed(schema: JsonSchema): { embedded: JsonSchema; definitions: Record<string, unknown> } {
  if (typeof schema === 'boolean') return { embedded: schema, definitions: {} };
  // A reference to the document root cannot survive being moved inside another document.
  if (/"\$(ref|dynamicRef)":"#"/.test(JSON.stringify(schema))) return { embedded: true, definitions: {} };
  const { $schema: _dialect, $id: _id, $defs, definitions, ...rest } = schema;
  return {
    embedded: rest,
    definitions: {
      ...($defs === undefined ? {} : { $defs }),
      ...(definitions === undefined ? {} : { definitions }),
    },
  };
}

const STRING = { type: 'string' } as const;

/** The run envelope's schema; `output` holds the Skill's output schema (anything, for `get_run`). */
export function runEnvelopeSchema(output: JsonSchema): JsonObjectSchema {
  const { embedded, definitions } = embed(output);
  return {
    type: 'object',
    properties: {
      runId: { type: 'string', description: 'The run; pass it to get_run to follow it' },
      status: { type: 'string', enum: [...EXECUTION_STATUSES] },
      done: { type: 'boolean', description: 'Whether the run has finished (and will not change again)' },
      skill: {
        type: 'object',
        properties: { id: STRING, name: STRING, tool: STRING },
        required: ['id', 'name', 'tool'],
      },
      output: { description: 'What the Skill returned, once the run succeeded', ...asObject(embedded) },
      error: {
        type: 'object',
        properties: {
          type: STRING,
          message: STRING,
          issues: {
            type: 'array',
            items: { type: 'object', properties: { path: STRING, message: STRING } },
          },
        },
        required: ['type', 'message'],
      },
      awaiting: {
        type: 'string',
        enum: ['approval', 'execution'],
        description: 'What an unfinished run waits for: people to approve it, or a worker to run it',
      },
      approvals: {
        type: 'object',
        properties: {
          required: { type: 'integer' },
          received: { type: 'integer' },
          adminRequired: { type: 'boolean' },
          expiresAt: STRING,
        },
        required: ['required', 'received', 'adminRequired'],
      },
      runUrl: { type: 'string', description: 'The run in the tenant front' },
      approvalUrl: { type: 'string', description: 'Where approvers decide, on the tenant host' },
      requestedAt: STRING,
      finishedAt: STRING,
      next: { type: 'string', description: 'What to do next, for an unfinished run' },
    },
    required: ['runId', 'status', 'done', 'skill', 'runUrl'],
    additionalProperties: false,
    ...definitions,
  };
}

/** A boolean subschema written as an object (`true` → `{}`, `false` → `{ not: {} }`). */
function asObject(schema: JsonSchema): Record<string, unknown> {
  if (typeof schema === 'boolean') return schema ? {} : { not: {} };
  return schema;
}

export function skillTool(skill: Skill): McpTool {
  const approvals =
    skill.approval === 'none' && skill.risk === 'low'
      ? 'It runs at once.'
      : 'People must approve each run first: a call answers at once with a pending ticket (runId, approvalUrl); follow it with get_run.';
  const description = [
    skill.description.trim(),
    `ExecFabric Skill "${skill.name}" (risk ${skill.risk}). ${approvals}`,
    'The result is the run: status "succeeded" carries the Skill\'s output in `output`; a run that is not done yet comes back as a ticket to follow with get_run.',
  ]
    .filter((part) => part !== '')
    .join('\n\n');
  return {
    name: toolName(skill),
    title: skill.name,
    description,
    inputSchema: toolInputSchema(skill.inputSchema),
    outputSchema: runEnvelopeSchema(skill.outputSchema),
    annotations: { title: skill.name, openWorldHint: skill.asset.kind === 'http' },
  };
}

export const getRunTool: McpTool = {
  name: GET_RUN_TOOL,
  title: 'Follow a run',
  description:
    'Returns a run this client started (the runId of a ticket): its status, and its output once it succeeded. ' +
    'waitSeconds (optional) waits up to that long for the run to finish before answering.',
  inputSchema: {
    type: 'object',
    properties: {
      runId: { type: 'string', pattern: '^ex-[0-9a-z]{10}[0-9a-f]{10}$' },
      waitSeconds: { type: 'integer', minimum: 0 },
    },
    required: ['runId'],
    additionalProperties: false,
  },
  outputSchema: runEnvelopeSchema(true),
  annotations: { title: 'Follow a run', readOnlyHint: true, idempotentHint: true, openWorldHint: false },
};

export interface RunEnvelope {
  readonly runId: string;
  readonly status: ExecutionStatus;
  readonly done: boolean;
  readonly skill: { readonly id: string; readonly name: string; readonly tool: string };
  readonly output?: unknown;
  readonly error?: {
    readonly type: string;
    readonly message: string;
    readonly issues?: readonly { path: string; message: string }[];
  };
  readonly awaiting?: 'approval' | 'execution';
  /** Why a run bound to a local agent has not started ("waiting for agent laptop, which is offline…"). */
  readonly waitingFor?: string;
  readonly approvals?: {
    readonly required: number;
    readonly received: number;
    readonly adminRequired: boolean;
    readonly expiresAt?: string;
  };
  readonly runUrl: string;
  readonly approvalUrl?: string;
  readonly requestedAt: string;
  readonly finishedAt?: string;
  readonly next?: string;
}

/** Failed, timed-out, rejected and cancelled runs are tool errors; every other state is not. */
export function isErrorStatus(status: ExecutionStatus): boolean {
  return TERMINAL.has(status) && status !== 'succeeded';
}

/** The answer for a run as it is now. `origin` is the tenant host's public origin. */
export function runEnvelope(
  execution: Execution,
  context: {
    readonly origin: string;
    readonly votes: readonly Vote[];
    readonly maxWaitSeconds: number;
    readonly waitingFor?: string;
  },
): RunEnvelope {
  const id = execution.id;
  const done = TERMINAL.has(execution.status);
  const awaiting =
    execution.status === 'pending_approval' ? 'approval' : done ? undefined : ('execution' as const);
  const follow = `call ${GET_RUN_TOOL} with {"runId": "${id}"}`;
  const next =
    awaiting === 'approval'
      ? `The run waits for ${counted(execution.approvalsRequired, 'approval')} by people of this tenant (never the requester). Give approvalUrl to an approver, then ${follow} to follow it.`
      : awaiting === 'execution'
        ? `${context.waitingFor === undefined ? 'The run has not finished yet' : `The run has not started, ${context.waitingFor}`}: ${follow} (with "waitSeconds" up to ${context.maxWaitSeconds} to wait for it).`
        : undefined;
  const received = context.votes.filter((vote) => vote.decision === 'approve').length;
  return {
    runId: id,
    status: execution.status,
    done,
    skill: {
      id: execution.skillId,
      name: execution.skillName,
      tool: toolName({ id: execution.skillId, name: execution.skillName }),
    },
    ...(execution.status === 'succeeded' ? { output: execution.output ?? null } : {}),
    ...(execution.error === undefined
      ? {}
      : {
          error: {
            type: execution.error.type,
            message: execution.error.message,
            ...(execution.error.issues === undefined ? {} : { issues: execution.error.issues }),
          },
        }),
    ...(awaiting === undefined ? {} : { awaiting }),
    ...(awaiting === 'execution' && context.waitingFor !== undefined
      ? { waitingFor: context.waitingFor }
      : {}),
    ...(execution.approvalsRequired > 0
      ? {
          approvals: {
            required: execution.approvalsRequired,
            received,
            adminRequired: execution.adminApprovalRequired === true,
            ...(execution.status === 'pending_approval' && execution.deadline !== undefined
              ? { expiresAt: execution.deadline }
              : {}),
          },
        }
      : {}),
    runUrl: `${context.origin}/executions/${encodeURIComponent(id)}`,
    ...(awaiting === 'approval'
      ? { approvalUrl: `${context.origin}/approvals?run=${encodeURIComponent(id)}` }
      : {}),
    requestedAt: execution.createdAt,
    ...(execution.finishedAt === undefined ? {} : { finishedAt: execution.finishedAt }),
    ...(next === undefined ? {} : { next }),
  };
}

/** One line for people (and models that read only text), then the envelope as JSON. */
export function envelopeText(envelope: RunEnvelope): string {
  const head =
    envelope.status === 'succeeded'
      ? `Run ${envelope.runId} of ${envelope.skill.name} succeeded.`
      : envelope.done
        ? `Run ${envelope.runId} of ${envelope.skill.name} ended ${envelope.status}${envelope.error === undefined ? '' : `: ${envelope.error.message}`}.`
        : `Run ${envelope.runId} of ${envelope.skill.name} is ${envelope.status.replace('_', ' ')}. ${envelope.next ?? ''}`.trim();
  return `${head}\n${JSON.stringify(envelope)}`;
}
