/**
 * Tenant schedules over the API: schedule a Skill (cron, rate or once, in a time zone, with a fixed
 * input), pause, resume, edit, delete, fire now; the fire log per schedule and per tenant, paged,
 * newest first. Anyone who may schedule sees their own schedules; `schedule:read` sees all, and
 * `schedule:manage` changes anyone's.
 */
import * as z from 'zod';
import { EXECUTION_STATUSES } from '../../contract/executions.ts';
import { SKIP_REASONS } from '../../contract/responses.ts';
import { ForbiddenError } from '../../core/errors.ts';
import type { Caller } from '../../core/identity/caller.ts';
import { pageSize } from '../../core/pagination.ts';
import type { TenantCore } from '../../core/platform.ts';
import type { ListedSchedule } from '../../core/schedules/schedules.ts';
import { MAX_RATE, RATE_UNITS } from '../../core/schedules/timing.ts';
import { list, page, pageQuery } from '../responses.ts';
import { type Route, route } from '../router.ts';
import { displayName } from './domains.ts';

const timing = z.discriminatedUnion('kind', [
  z.strictObject({ kind: z.literal('cron'), expression: z.string().min(1).max(200) }),
  z.strictObject({
    kind: z.literal('rate'),
    every: z.number().int().min(1).max(MAX_RATE),
    unit: z.enum(RATE_UNITS),
  }),
  z.strictObject({ kind: z.literal('once'), at: z.string().min(1).max(40) }),
]);

const scheduleBody = z.strictObject({
  name: displayName,
  description: z.string().max(1000).optional(),
  skillId: z.string().min(1).max(64),
  input: z.unknown(),
  timing,
  timezone: z.string().min(1).max(64).optional(),
  enabled: z.boolean().optional(),
});

const scheduleUpdateBody = scheduleBody.extend({ revision: z.number().int().min(1).optional() });

const scheduleSchema = z
  .looseObject({
    id: z.string(),
    name: z.string(),
    description: z.string(),
    skillId: z.string(),
    input: z.record(z.string(), z.unknown()),
    timing: z.union([
      z.looseObject({ kind: z.literal('cron'), expression: z.string() }),
      z.looseObject({ kind: z.literal('rate'), every: z.number().int(), unit: z.enum(RATE_UNITS) }),
      z.looseObject({ kind: z.literal('once'), at: z.string() }),
    ]),
    timezone: z.string(),
    state: z.enum(['enabled', 'paused', 'completed']),
    owner: z.string(),
    revision: z.number().int(),
    nextFireAt: z.string().optional(),
    lastFireAt: z.string().optional(),
    lastOutcome: z.enum(['ran', 'skipped', 'failed']).optional(),
    lastReason: z.enum(SKIP_REASONS).optional().meta({ description: 'Why the last fire was skipped' }),
    lastExecutionId: z.string().optional().meta({ description: 'The run the last fire started' }),
    lastExecutionStatus: z.enum(EXECUTION_STATUSES).optional().meta({
      description:
        "On the list and a schedule's own answer: the last fire's run's status when read, not when it was fired",
    }),
    createdAt: z.string(),
    updatedAt: z.string(),
    upcoming: z.array(z.string()).meta({ description: 'The next occurrences (UTC)' }),
  })
  .meta({ id: 'Schedule' });

const fireLogEntrySchema = z
  .looseObject({
    scheduleId: z.string(),
    scheduleName: z.string(),
    skillId: z.string(),
    scheduledTime: z.string(),
    firedAt: z.string(),
    outcome: z.enum(['ran', 'skipped', 'failed', 'requesting']),
    trigger: z.enum(['schedule', 'manual']),
    owner: z.string(),
    reason: z.enum(SKIP_REASONS).optional().meta({ description: 'Why the fire was skipped' }),
    detail: z.string().optional(),
    executionId: z.string().optional(),
    executionStatus: z
      .enum(EXECUTION_STATUSES)
      .optional()
      .meta({ description: "The run's status when the log is read, not when it was fired" }),
  })
  .meta({ id: 'FireLogEntry' });

const SCHEDULE_PERMISSIONS = ['schedule:read', 'schedule:create', 'schedule:manage'] as const;

function requireAny(caller: Caller): void {
  if (!SCHEDULE_PERMISSIONS.some((permission) => caller.permissions.has(permission))) {
    throw new ForbiddenError(
      'Schedules need one of the permissions schedule:read, schedule:create or schedule:manage',
      {
        extra: { permission: 'schedule:read' },
      },
    );
  }
}

export function scheduleRoutes(core: TenantCore): Route[] {
  const view = async (schedule: ListedSchedule) => ({
    ...schedule,
    upcoming: await core.schedules.upcoming(schedule),
  });
  return [
    route({
      method: 'GET',
      path: '/api/schedules',
      serves: 'tenant',
      auth: 'caller',
      summary: 'Schedules the caller may see',
      responses: { 200: list(scheduleSchema) },
      handle: async ({ domain, caller }) => {
        requireAny(caller);
        const items = await core.schedules.list(domain, caller);
        return { status: 200, body: { items: await Promise.all(items.map(view)) } };
      },
    }),
    route({
      method: 'POST',
      path: '/api/schedules',
      serves: 'tenant',
      auth: 'caller',
      summary: 'Schedule a Skill',
      responses: { 201: scheduleSchema },
      permission: 'schedule:create',
      body: scheduleBody,
      maxBodyBytes: 128 * 1024,
      handle: async ({ domain, caller, request }) => {
        const schedule = await core.schedules.create(domain, caller, request.body);
        return {
          status: 201,
          body: await view(schedule),
          headers: { location: `/api/schedules/${schedule.id}` },
        };
      },
    }),
    route({
      method: 'GET',
      path: '/api/schedules/{id}',
      serves: 'tenant',
      auth: 'caller',
      summary: 'One schedule with its next occurrences and its last fire’s run status',
      responses: { 200: scheduleSchema },
      handle: async ({ domain, caller, request }) => {
        requireAny(caller);
        return {
          status: 200,
          body: await view(await core.schedules.show(domain, caller, request.params.id ?? '')),
        };
      },
    }),
    route({
      method: 'PUT',
      path: '/api/schedules/{id}',
      serves: 'tenant',
      auth: 'caller',
      summary: "Change a schedule's definition",
      responses: { 200: scheduleSchema },
      permission: 'schedule:create',
      body: scheduleUpdateBody,
      maxBodyBytes: 128 * 1024,
      handle: async ({ domain, caller, request }) => {
        const { revision, ...input } = request.body;
        const schedule = await core.schedules.update(
          domain,
          caller,
          request.params.id ?? '',
          input,
          revision,
        );
        return { status: 200, body: await view(schedule) };
      },
    }),
    ...(['pause', 'resume'] as const).map((action) =>
      route({
        method: 'POST',
        path: `/api/schedules/{id}/${action}`,
        serves: 'tenant',
        auth: 'caller',
        summary: action === 'pause' ? 'Pause a schedule' : 'Resume a schedule',
        responses: { 200: scheduleSchema },
        handle: async ({ domain, caller, request }) => {
          requireAny(caller);
          const schedule = await core.schedules.setEnabled(
            domain,
            caller,
            request.params.id ?? '',
            action === 'resume',
          );
          return { status: 200, body: await view(schedule) };
        },
      }),
    ),
    route({
      method: 'POST',
      path: '/api/schedules/{id}/fire',
      serves: 'tenant',
      auth: 'caller',
      summary: 'Fire a schedule now (its owner): a run of its Skill with its input',
      responses: {
        200: fireLogEntrySchema,
        409: z
          .object({ result: z.string() })
          .meta({ id: 'FireRefused', description: 'This moment was fired already' }),
      },
      handle: async ({ domain, caller, request }) => {
        requireAny(caller);
        const fired = await core.schedules.fireNow(domain, caller, request.params.id ?? '');
        return fired.result === 'logged'
          ? { status: 200, body: fired.entry }
          : { status: 409, body: { result: fired.result } };
      },
    }),
    route({
      method: 'DELETE',
      path: '/api/schedules/{id}',
      serves: 'tenant',
      auth: 'caller',
      summary: 'Delete a schedule',
      responses: { 204: null },
      handle: async ({ domain, caller, request }) => {
        requireAny(caller);
        await core.schedules.remove(domain, caller, request.params.id ?? '');
        return { status: 204 };
      },
    }),
    route({
      method: 'GET',
      path: '/api/schedules/{id}/logs',
      serves: 'tenant',
      auth: 'caller',
      summary: "A schedule's fire log, newest first",
      query: z.object(pageQuery),
      responses: { 200: page(fireLogEntrySchema) },
      handle: async ({ domain, caller, request }) => {
        requireAny(caller);
        return {
          status: 200,
          body: await core.schedules.logs(domain, caller, {
            scheduleId: request.params.id ?? '',
            limit: pageSize(request.query.limit),
            ...(request.query.cursor === undefined ? {} : { cursor: request.query.cursor }),
          }),
        };
      },
    }),
    route({
      method: 'GET',
      path: '/api/schedule-logs',
      serves: 'tenant',
      auth: 'caller',
      summary: "The tenant's fire log, newest first",
      query: z.object(pageQuery),
      responses: { 200: page(fireLogEntrySchema) },
      handle: async ({ domain, caller, request }) => {
        requireAny(caller);
        return {
          status: 200,
          body: await core.schedules.logs(domain, caller, {
            limit: pageSize(request.query.limit),
            ...(request.query.cursor === undefined ? {} : { cursor: request.query.cursor }),
          }),
        };
      },
    }),
  ];
}
