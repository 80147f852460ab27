/** Skills, script assets and executions: the tenant's catalogue and its runs. */
import * as z from 'zod';
import type { ApprovalWarning } from '../../contract/responses.ts';
import { MAX_SCRIPT_BYTES } from '../../core/assets/scripts.ts';
import {
  APPROVALS,
  MAX_DECLARED_NAME_LENGTH,
  MAX_EGRESS,
  MAX_SKILL_COLLECTIONS,
  MAX_SKILL_PARAMETERS,
  MAX_SKILL_TAGS,
  RISKS,
} from '../../core/catalog/rules.ts';
import type { Skill } from '../../core/catalog/skills.ts';
import { ValidationError } from '../../core/errors.ts';
import { approvalWarning } from '../../core/executions/approvers.ts';
import {
  EXECUTION_ID_PATTERN,
  EXECUTION_STATUSES,
  type ExecutionFilter,
  type ExecutionStatus,
  executionView,
  MAX_CANCEL_REASON,
  TERMINAL,
} from '../../core/executions/executions.ts';
import { MAX_WAITS_PER_TENANT } from '../../core/executions/run-ends.ts';
import {
  IDEMPOTENCY_HEADER,
  MAX_RUN_WAIT_SECONDS,
  PREFER_HEADER,
  PREFERENCE_APPLIED_HEADER,
} from '../../core/headers.ts';
import { pageSize } from '../../core/pagination.ts';
import type { SignedInCore } from '../../core/platform.ts';
import type { TenantContext } from '../../core/tenancy/domain.ts';
import { acceptedAgeMs } from '../cache-control.ts';
import {
  availabilityState,
  executionSchema,
  list,
  page,
  pageQuery,
  sameNameAs,
  skillSchema,
  voteSchema,
} from '../responses.ts';
import { type Route, route } from '../router.ts';
import { displayName, jsonSchemaField, stateBody } from './domains.ts';

/** A script upload's body: the source (≤ 256 KiB) may double when JSON-escaped. */
const SCRIPT_BODY_BYTES = 4 * MAX_SCRIPT_BYTES;

const skillBody = z.strictObject({
  name: displayName,
  description: z.string().max(2000).optional(),
  inputSchema: jsonSchemaField,
  outputSchema: jsonSchemaField,
  risk: z.enum(RISKS),
  approval: z.enum(APPROVALS).optional(),
  visibility: z.strictObject({ roles: z.array(z.string().max(64)).max(20) }).optional(),
  tags: z.array(z.string().max(MAX_DECLARED_NAME_LENGTH)).max(MAX_SKILL_TAGS).optional(),
  asset: z.record(z.string(), z.unknown()),
  limits: z
    .strictObject({ timeoutSeconds: z.number().int().optional(), memoryMb: z.number().int().optional() })
    .optional(),
  egress: z.array(z.string().min(1).max(MAX_DECLARED_NAME_LENGTH)).max(MAX_EGRESS).optional(),
  collections: z.array(z.string().min(1).max(MAX_DECLARED_NAME_LENGTH)).max(MAX_SKILL_COLLECTIONS).optional(),
  parameters: z.array(z.string().min(1).max(MAX_DECLARED_NAME_LENGTH)).max(MAX_SKILL_PARAMETERS).optional(),
});

const skillUpdateBody = skillBody.extend({ revision: z.number().int().min(1).optional() });

const newScriptBody = z.strictObject({
  name: displayName,
  source: z.string(),
  note: z.string().max(500).optional(),
});

const renameScriptBody = z.strictObject({ name: displayName });
const newVersionBody = z.strictObject({ source: z.string(), note: z.string().max(500).optional() });
const activateBody = z.strictObject({ version: z.number().int().min(1) });
const runBody = z.strictObject({
  input: z.unknown(),
  /** The run this one repeats (same or edited input), for the record. */
  rerunOf: z.string().regex(EXECUTION_ID_PATTERN, 'a run id').optional(),
});

const cancelBody = z.strictObject({ reason: z.string().max(MAX_CANCEL_REASON).optional() });

const scriptAssetSchema = z
  .looseObject({
    id: z.string(),
    kind: z.literal('python-script'),
    name: z.string(),
    activeVersion: z.number().int(),
    latestVersion: z.number().int(),
    state: availabilityState,
    createdAt: z.string(),
    updatedAt: z.string(),
    createdBy: z.string(),
    sameNameAs: sameNameAs('scripts'),
  })
  .meta({ id: 'ScriptAsset' });

const newScriptSchema = scriptAssetSchema
  .extend({ version: z.number().int(), sha256: z.string() })
  .meta({ id: 'NewScriptAsset' });

const scriptVersionSchema = z
  .looseObject({
    assetId: z.string(),
    version: z.number().int(),
    sha256: z.string(),
    sizeBytes: z.number().int(),
    note: z.string(),
    author: z.string(),
    createdAt: z.string(),
  })
  .meta({ id: 'ScriptVersion' });

const runAcceptedSchema = z
  .object({
    id: z.string(),
    status: z.enum(EXECUTION_STATUSES),
    replayed: z
      .boolean()
      .meta({ description: 'True when an earlier request with the same Idempotency-Key answered' }),
  })
  .meta({ id: 'RunAccepted' });

const runFinishedSchema = executionSchema
  .extend({
    replayed: z
      .boolean()
      .meta({ description: 'True when an earlier request with the same Idempotency-Key answered' }),
  })
  .meta({ id: 'RunFinished' });

/**
 * The seconds a `Prefer: wait=N` (RFC 7240) asks a run request to wait for its run, capped at
 * MAX_RUN_WAIT_SECONDS; null without one. A preference the server cannot read is ignored, as the
 * RFC asks (the request is then answered at once).
 */
export function preferredWait(header: string | undefined): number | null {
  if (header === undefined) return null;
  for (const preference of header.split(',')) {
    const match = /^\s*wait\s*=\s*"?(\d{1,9})"?\s*(?:;.*)?$/i.exec(preference);
    if (match !== null) return Math.min(Number(match[1]), MAX_RUN_WAIT_SECONDS);
  }
  return null;
}

/** What an answer needs after its wait: reading the run and writing the answer. */
export const ANSWER_MARGIN_MS = 2_000;

/**
 * A wait cut to what the invocation has left, less ANSWER_MARGIN_MS: a wait the function's timeout
 * would cut off answers as a shorter one (and says so in Preference-Applied), never as a 5xx that a
 * client would retry into a second run.
 */
export function waitWithin(wait: number | null, remainingMs: number | undefined): number | null {
  if (wait === null || remainingMs === undefined) return wait;
  return Math.max(0, Math.min(wait, Math.floor((remainingMs - ANSWER_MARGIN_MS) / 1000)));
}

const waitingForField = z
  .string()
  .optional()
  .meta({ description: 'Why a run has not started: its local agent, or its plan’s limit on runs at once' });

/** A run in a listing: one not started says why (`waitingFor`), as its own answer does. */
const executionListedSchema = executionSchema
  .extend({ waitingFor: waitingForField })
  .meta({ id: 'ExecutionListed' });

const executionDetailSchema = executionSchema
  .extend({ decisions: z.array(voteSchema).optional(), waitingFor: waitingForField })
  .meta({ id: 'ExecutionDetail' });

const logPageSchema = z
  .looseObject({
    status: z.enum(EXECUTION_STATUSES),
    chunks: z.array(
      z.looseObject({
        seq: z.number().int(),
        stream: z.enum(['stdout', 'stderr']),
        text: z.string(),
        at: z.string().optional(),
      }),
    ),
    cursor: z.string(),
    complete: z.boolean(),
    truncated: z.boolean(),
  })
  .meta({ id: 'LogPage' });

const USERNAME_FILTER = /^[^\s]{1,128}$/;
const SKILL_FILTER = /^skl-[a-z0-9]{12}$/;

/** `?status=&skillId=&requestedBy=&from=&to=` of the run history, checked field by field. */
function executionFilter(query: Readonly<Record<string, string>>): ExecutionFilter {
  const issues: { path: string; message: string }[] = [];
  const filter: { -readonly [K in keyof ExecutionFilter]: ExecutionFilter[K] } = {};
  const { status, skillId, requestedBy, from, to } = query;
  if (status !== undefined && status !== '') {
    if ((EXECUTION_STATUSES as readonly string[]).includes(status)) filter.status = status as ExecutionStatus;
    else issues.push({ path: 'status', message: `one of ${EXECUTION_STATUSES.join(', ')}` });
  }
  if (skillId !== undefined && skillId !== '') {
    if (SKILL_FILTER.test(skillId)) filter.skillId = skillId;
    else issues.push({ path: 'skillId', message: 'a Skill id' });
  }
  if (requestedBy !== undefined && requestedBy !== '') {
    if (USERNAME_FILTER.test(requestedBy)) filter.requestedBy = requestedBy.toLowerCase();
    else issues.push({ path: 'requestedBy', message: 'a username' });
  }
  for (const [name, value] of [
    ['from', from],
    ['to', to],
  ] as const) {
    if (value === undefined || value === '') continue;
    const time = Date.parse(value);
    if (Number.isNaN(time) || time < 0 || time > Date.parse('9999-12-31T23:59:59Z')) {
      issues.push({ path: name, message: 'an ISO 8601 date or date-time' });
    } else filter[name] = new Date(time).toISOString();
  }
  if (filter.from !== undefined && filter.to !== undefined && filter.from > filter.to) {
    issues.push({ path: 'to', message: 'must be on or after `from`' });
  }
  if (issues.length > 0) throw new ValidationError('Invalid run filter', issues);
  return filter;
}

function versionParam(raw: string | undefined): number {
  const version = Number(raw);
  if (!Number.isInteger(version) || version < 1) {
    throw new ValidationError('Invalid version', [{ path: 'version', message: 'a positive integer' }]);
  }
  return version;
}

/** A Skill as its managers see it: with a warning when too few people may approve its runs now. */
async function withApprovalWarning(
  core: SignedInCore,
  domain: TenantContext,
  skill: Skill,
): Promise<Skill & { readonly approvalWarning?: ApprovalWarning }> {
  const warning = await approvalWarning(core.directory, domain, skill);
  return warning === null ? skill : { ...skill, approvalWarning: warning };
}

/**
 * Ids of the tenant's other live items an item just created, saved or renamed shares its name with:
 * names are labels (ids are identity), so the name is accepted, and the answer says what `execfabric
 * push` will stop on (docs/decisions/cli.md).
 */
function withNamesakes<T extends object>(
  item: T,
  ids: readonly string[],
): T & { sameNameAs?: readonly string[] } {
  return ids.length === 0 ? item : { ...item, sameNameAs: ids };
}

/** A Skill as the answer to saving it: its approval warning, and the Skills sharing its name. */
async function savedSkill(core: SignedInCore, domain: TenantContext, skill: Skill) {
  return withNamesakes(
    await withApprovalWarning(core, domain, skill),
    await core.skills.namesakes(domain, skill.name, skill.id),
  );
}

export function catalogRoutes(core: SignedInCore): Route[] {
  return [
    route({
      method: 'GET',
      path: '/api/skills',
      serves: 'tenant',
      auth: 'caller',
      summary: 'Skills the caller may see',
      description:
        'Answered from a per-process copy of the catalogue read at most 5 s ago (a change made through ' +
        'the same process shows at once); `Cache-Control: no-cache` reads it now.',
      query: z.object({
        archived: z
          .enum(['true', 'false'])
          .optional()
          .meta({ description: 'Include archived Skills (managers only)' }),
      }),
      responses: { 200: list(skillSchema) },
      permission: 'skill:read',
      handle: async ({ domain, caller, request }) => ({
        status: 200,
        body: {
          items: await core.skills.listVisible(domain, caller, {
            // Archived Skills are out of the catalogue; their managers may list them to restore them.
            includeArchived: request.query.archived === 'true' && caller.permissions.has('skill:manage'),
            maxAgeMs: acceptedAgeMs(request.headers),
          }),
        },
      }),
    }),
    route({
      method: 'PUT',
      path: '/api/skills/{id}/state',
      serves: 'tenant',
      auth: 'caller',
      summary: 'Disable, archive or restore a Skill',
      responses: { 200: skillSchema },
      permission: 'skill:manage',
      body: stateBody,
      handle: async ({ domain, caller, request }) => ({
        status: 200,
        body: await core.skills.setState(
          domain,
          request.params.id ?? '',
          request.body.state,
          caller,
          request.body.reason,
        ),
      }),
    }),
    route({
      method: 'POST',
      path: '/api/skills',
      serves: 'tenant',
      auth: 'caller',
      summary: 'Create a Skill',
      responses: { 201: skillSchema },
      permission: 'skill:manage',
      body: skillBody,
      maxBodyBytes: 256 * 1024,
      handle: async ({ domain, caller, request }) => ({
        status: 201,
        body: await savedSkill(core, domain, await core.skills.create(domain, request.body, caller)),
      }),
    }),
    route({
      method: 'GET',
      path: '/api/skills/{id}',
      serves: 'tenant',
      auth: 'caller',
      summary: 'One Skill',
      responses: { 200: skillSchema },
      permission: 'skill:read',
      handle: async ({ domain, caller, request }) => {
        const skill = await core.skills.getVisible(domain, caller, request.params.id ?? '');
        return {
          status: 200,
          body: caller.permissions.has('skill:manage')
            ? await withApprovalWarning(core, domain, skill)
            : skill,
        };
      },
    }),
    route({
      method: 'PUT',
      path: '/api/skills/{id}',
      serves: 'tenant',
      auth: 'caller',
      summary: "Change a Skill's definition",
      responses: { 200: skillSchema },
      permission: 'skill:manage',
      body: skillUpdateBody,
      maxBodyBytes: 256 * 1024,
      handle: async ({ domain, caller, request }) => {
        const { revision, ...definition } = request.body;
        return {
          status: 200,
          body: await savedSkill(
            core,
            domain,
            await core.skills.update(domain, request.params.id ?? '', definition, caller, revision),
          ),
        };
      },
    }),
    route({
      method: 'POST',
      path: '/api/skills/{id}/executions',
      serves: 'tenant',
      auth: 'caller',
      summary: 'Run a Skill',
      description: `Answers 202 as soon as the run is accepted. With \`Prefer: wait=N\` (RFC 7240; N at most ${MAX_RUN_WAIT_SECONDS} seconds, more is capped) the answer waits until the run has ended and is then 200 with the run, or is the 202 once N seconds have passed or the run waits for approval; \`Preference-Applied\` names the wait applied. A tenant holds at most ${MAX_WAITS_PER_TENANT} waits at once (on AWS across every instance of the API): a wait beyond them is answered at once (202, no \`Preference-Applied\`).`,
      responses: { 200: runFinishedSchema, 202: runAcceptedSchema },
      permission: 'skill:run',
      body: runBody,
      maxBodyBytes: 128 * 1024,
      handle: async ({ domain, caller, request }) => {
        const { execution, created } = await core.executions.request(
          domain,
          caller,
          request.params.id ?? '',
          request.body.input,
          request.headers[IDEMPOTENCY_HEADER],
          request.body.rerunOf === undefined ? {} : { rerunOf: request.body.rerunOf },
        );
        const wait = waitWithin(preferredWait(request.headers[PREFER_HEADER]), request.remainingMs?.());
        const location = `/api/executions/${execution.id}`;
        if (wait === null) {
          return {
            status: 202,
            body: { id: execution.id, status: execution.status, replayed: !created },
            headers: { location },
          };
        }
        const { run: settled, waited } = await core.executions.settleWithin(domain, execution, wait);
        // A wait the tenant had no room for was not applied, and the answer does not say it was.
        const headers: Record<string, string> = waited
          ? { location, [PREFERENCE_APPLIED_HEADER]: `wait=${wait}` }
          : { location };
        if (!TERMINAL.has(settled.status)) {
          return {
            status: 202,
            body: { id: settled.id, status: settled.status, replayed: !created },
            headers,
          };
        }
        return { status: 200, body: { ...executionView(settled), replayed: !created }, headers };
      },
    }),
    route({
      method: 'GET',
      path: '/api/executions',
      serves: 'tenant',
      auth: 'caller',
      summary: 'Runs the caller may see, newest first',
      query: z.object({
        ...pageQuery,
        status: z.enum(EXECUTION_STATUSES).optional(),
        skillId: z.string().optional().meta({ description: 'Runs of this Skill' }),
        requestedBy: z.string().optional().meta({ description: 'Runs requested by this username' }),
        from: z.string().optional().meta({ description: 'ISO 8601: runs requested at or after' }),
        to: z.string().optional().meta({ description: 'ISO 8601: runs requested at or before' }),
      }),
      responses: { 200: page(executionListedSchema) },
      handle: async ({ domain, caller, request }) => {
        const page = await core.executions.list(
          domain,
          caller,
          pageSize(request.query.limit),
          request.query.cursor,
          executionFilter(request.query),
          acceptedAgeMs(request.headers),
        );
        // Why runs wait (their agents, their plan's limit), one read per agent or kind of the page.
        const reasonFor = core.runWaits.reasons(domain);
        const items = await Promise.all(
          page.items.map(async (execution) => {
            const waitingFor = await reasonFor(execution);
            return { ...executionView(execution), ...(waitingFor === null ? {} : { waitingFor }) };
          }),
        );
        return { status: 200, body: { items, ...(page.cursor ? { cursor: page.cursor } : {}) } };
      },
    }),
    route({
      method: 'GET',
      path: '/api/executions/{id}',
      serves: 'tenant',
      auth: 'caller',
      summary: 'One run, with its decisions and what it waits for',
      responses: { 200: executionDetailSchema },
      handle: async ({ domain: tenant, caller, request }) => {
        // Running as soon as its job streams its log, before the `started` report is recorded.
        const execution = await core.executions.watch(tenant, caller, request.params.id ?? '');
        // Who approved or rejected it, when and with what comment.
        const decisions =
          execution.approvalsRequired > 0 ? await core.approvals.votes(tenant, execution.id) : undefined;
        // A run not started says why: whether its local agent is there to take it, or that its plan's
        // limit on runs at once is full.
        const waitingFor = await core.runWaits.reasons(tenant)(execution);
        return {
          status: 200,
          body: {
            ...executionView(execution),
            ...(decisions === undefined ? {} : { decisions }),
            ...(waitingFor === null ? {} : { waitingFor }),
          },
        };
      },
    }),
    route({
      method: 'POST',
      path: '/api/executions/{id}/cancel',
      serves: 'tenant',
      auth: 'caller',
      summary: 'Cancel a run',
      responses: { 200: executionSchema, 202: executionSchema },
      body: cancelBody,
      maxBodyBytes: 4 * 1024,
      handle: async ({ domain, caller, request }) => {
        const execution = await core.executions.cancel(
          domain,
          caller,
          request.params.id ?? '',
          request.body.reason ?? '',
        );
        // 200 when the run is cancelled; 202 when the runtime was asked to stop it.
        return { status: execution.status === 'cancelled' ? 200 : 202, body: executionView(execution) };
      },
    }),
    route({
      method: 'GET',
      path: '/api/executions/{id}/logs',
      serves: 'tenant',
      auth: 'caller',
      summary: "A run's log chunks after a cursor",
      query: z.object({
        after: z.string().optional().meta({ description: 'The `cursor` of the previous answer' }),
      }),
      responses: { 200: logPageSchema },
      handle: async ({ domain, caller, request }) => ({
        status: 200,
        body: await core.executions.logs(domain, caller, request.params.id ?? '', request.query.after),
      }),
    }),
    route({
      method: 'GET',
      path: '/api/assets/scripts',
      serves: 'tenant',
      auth: 'caller',
      summary: 'Script assets',
      query: z.object({ ...pageQuery, archived: z.enum(['true', 'false']).optional() }),
      responses: { 200: page(scriptAssetSchema) },
      permission: 'asset:manage',
      handle: async ({ domain, request }) => ({
        status: 200,
        body: await core.scripts.list(domain, pageSize(request.query.limit), request.query.cursor, {
          includeArchived: request.query.archived === 'true',
        }),
      }),
    }),
    route({
      method: 'PUT',
      path: '/api/assets/scripts/{id}/state',
      serves: 'tenant',
      auth: 'caller',
      summary: 'Disable, archive or restore a script asset',
      responses: { 200: scriptAssetSchema },
      permission: 'asset:manage',
      body: stateBody,
      handle: async ({ domain, caller, request }) => ({
        status: 200,
        body: await core.scripts.setState(
          domain,
          request.params.id ?? '',
          request.body.state,
          caller,
          request.body.reason,
        ),
      }),
    }),
    route({
      method: 'POST',
      path: '/api/assets/scripts',
      serves: 'tenant',
      auth: 'caller',
      summary: 'Create a script asset (its version 1)',
      responses: { 201: newScriptSchema },
      permission: 'asset:manage',
      body: newScriptBody,
      maxBodyBytes: SCRIPT_BODY_BYTES,
      handle: async ({ domain, caller, request }) => {
        const created = await core.scripts.create(domain, request.body, caller);
        return {
          status: 201,
          body: withNamesakes(created, await core.scripts.namesakes(domain, created.name, created.id)),
        };
      },
    }),
    route({
      method: 'GET',
      path: '/api/assets/scripts/{id}',
      serves: 'tenant',
      auth: 'caller',
      summary: 'One script asset',
      responses: { 200: scriptAssetSchema },
      permission: 'asset:manage',
      handle: async ({ domain, request }) => ({
        status: 200,
        body: await core.scripts.get(domain, request.params.id ?? ''),
      }),
    }),
    route({
      method: 'PATCH',
      path: '/api/assets/scripts/{id}',
      serves: 'tenant',
      auth: 'caller',
      summary: 'Rename a script asset',
      description:
        'Skills and runs hold the script by its id, so they follow it. The answer lists in `sameNameAs` ' +
        'the other live scripts that have the new name.',
      responses: { 200: scriptAssetSchema },
      permission: 'asset:manage',
      body: renameScriptBody,
      maxBodyBytes: 4 * 1024,
      handle: async ({ domain, caller, request }) => {
        const renamed = await core.scripts.rename(domain, request.params.id ?? '', request.body.name, caller);
        return {
          status: 200,
          body: withNamesakes(renamed, await core.scripts.namesakes(domain, renamed.name, renamed.id)),
        };
      },
    }),
    route({
      method: 'GET',
      path: '/api/assets/scripts/{id}/versions',
      serves: 'tenant',
      auth: 'caller',
      summary: "A script's versions, newest first",
      query: z.object(pageQuery),
      responses: { 200: page(scriptVersionSchema) },
      permission: 'asset:manage',
      handle: async ({ domain, request }) => ({
        status: 200,
        body: await core.scripts.versions(
          domain,
          request.params.id ?? '',
          pageSize(request.query.limit),
          request.query.cursor,
        ),
      }),
    }),
    route({
      method: 'POST',
      path: '/api/assets/scripts/{id}/versions',
      serves: 'tenant',
      auth: 'caller',
      summary: 'Upload a new version of a script (hot update)',
      responses: { 201: scriptVersionSchema },
      permission: 'asset:manage',
      body: newVersionBody,
      maxBodyBytes: SCRIPT_BODY_BYTES,
      handle: async ({ domain, caller, request }) => ({
        status: 201,
        body: await core.scripts.addVersion(domain, request.params.id ?? '', request.body, caller),
      }),
    }),
    route({
      method: 'GET',
      path: '/api/assets/scripts/{id}/versions/{version}',
      serves: 'tenant',
      auth: 'caller',
      summary: 'One version of a script, with its source',
      responses: {
        200: scriptVersionSchema.extend({ source: z.string() }).meta({ id: 'ScriptVersionWithSource' }),
      },
      permission: 'asset:manage',
      handle: async ({ domain, request }) => ({
        status: 200,
        body: await core.scripts.version(
          domain,
          request.params.id ?? '',
          versionParam(request.params.version),
        ),
      }),
    }),
    route({
      method: 'PUT',
      path: '/api/assets/scripts/{id}/active',
      serves: 'tenant',
      auth: 'caller',
      summary: 'Activate a version of a script (hot update or rollback)',
      responses: { 200: scriptAssetSchema },
      permission: 'asset:manage',
      body: activateBody,
      handle: async ({ domain, caller, request }) => ({
        status: 200,
        body: await core.scripts.activate(domain, request.params.id ?? '', request.body.version, caller),
      }),
    }),
  ];
}
