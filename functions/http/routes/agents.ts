/**
 * Local agents. Tenant admins (`agent:manage`) create agents and rotate or revoke their tokens;
 * the agent channel (`/api/agent/*`) is what `execfabric agent` calls, authenticated by the agent's
 * own token (never a user's: its routes are `auth: 'agent'`, on which no user credential is tried),
 * checked before the body is read, and for reports about a run also by the lease the agent was handed with it. The governance console reads each tenant's agents (status, last seen, version).
 */
import * as z from 'zod';
import { type Agent, MAX_POLL_WAIT_SECONDS } from '../../core/agents/agents.ts';
import { NotFoundError } from '../../core/errors.ts';
import {
  MAX_LOG_BYTES,
  MAX_LOG_CHUNK_BYTES,
  MAX_LOG_CHUNKS,
  MAX_OUTPUT_BYTES,
} from '../../core/executions/executions.ts';
import { isStorableNumber } from '../../core/json.ts';
import type { ApiCore, SignedInCore } from '../../core/platform.ts';
import { TENANT_ID_PATTERN } from '../../core/tenancy/domain.ts';
import { tenantContext } from '../../core/tenancy/hosts.ts';
import { list } from '../responses.ts';
import { type Route, route } from '../router.ts';

const newAgentBody = z.strictObject({
  name: z.string().min(1).max(63),
  description: z.string().max(500).optional(),
});

const helloBody = z.strictObject({
  name: z.string().min(1).max(63),
  version: z.string().min(1).max(64),
  platform: z.string().max(128).default(''),
  waitSeconds: z.number().int().min(0).max(MAX_POLL_WAIT_SECONDS).default(MAX_POLL_WAIT_SECONDS),
});

/** An agent stopping gracefully: its name, which must be its token's. */
const goodbyeBody = z.strictObject({ name: z.string().min(1).max(63) });

const lease = z.string().min(1).max(128);

const startedBody = z.strictObject({ lease });

/** At most this many chunks per report (16 KiB each): a report stays under a quarter MiB. */
const LOG_CHUNKS_PER_REPORT = 16;

/** Live output while a run runs (about once a second; an empty list is a heartbeat). */
const logsBody = z.strictObject({
  lease,
  chunks: z
    .array(
      z.strictObject({
        seq: z.number().int().min(1).max(MAX_LOG_CHUNKS),
        stream: z.enum(['stdout', 'stderr']),
        text: z.string().max(MAX_LOG_CHUNK_BYTES),
      }),
    )
    .max(LOG_CHUNKS_PER_REPORT),
});

/** The runtime's plan has six fields today (network, seccomp, memory, disk, uid, pid); room for more. */
const MAX_SANDBOX_FIELDS = 16;

const resultBody = z.strictObject({
  lease,
  status: z.enum(['succeeded', 'failed', 'timed_out', 'killed', 'cancelled']),
  output: z.unknown().optional(),
  error: z
    .strictObject({
      type: z.string().max(200),
      message: z.string().max(8192),
      trace: z
        .string()
        .max(32 * 1024)
        .optional(),
      limit: z.string().max(64).optional(),
    })
    .optional(),
  logs: z
    .strictObject({ stdout: z.string(), stderr: z.string(), truncated: z.boolean() })
    .partial()
    .optional(),
  metrics: z
    .record(
      z.string(),
      z.union([
        z.number().refine(isStorableNumber, {
          message: 'must be a finite number, an integer within ±9007199254740991',
        }),
        z.string(),
        z.boolean(),
      ]),
    )
    .optional(),
  /**
   * The containment the agent's runtime chose for the job, as the agent reports it (the runtime's
   * recorded plan): the run shows it as it shows the platform's own workers'. It is the agent's word,
   * like the rest of its report; the run also names the agent.
   */
  sandbox: z
    .record(z.string().max(32), z.union([z.string().max(64), z.boolean()]))
    .refine((plan) => Object.keys(plan).length <= MAX_SANDBOX_FIELDS, {
      message: `at most ${MAX_SANDBOX_FIELDS} fields`,
    })
    .optional(),
});

/** An agent result: the output, both log streams and an error envelope, with room for JSON escaping. */
const agentSchema = z
  .looseObject({
    name: z.string(),
    description: z.string(),
    createdAt: z.string(),
    createdBy: z.string(),
    lastSeenAt: z.string().nullable(),
    stoppedAt: z.string().nullable().meta({ description: 'When the agent last said it was stopping' }),
    version: z.string().nullable(),
    platform: z.string().nullable(),
    status: z.enum(['online', 'offline', 'never-seen', 'revoked']),
  })
  .meta({ id: 'Agent' });

const agentWithTokenSchema = z
  .object({ agent: agentSchema, token: z.string().meta({ description: 'Shown this once' }) })
  .meta({ id: 'AgentWithToken' });

const agentJobSchema = z
  .object({
    job: z.looseObject({
      executionId: z.string(),
      skillId: z.string(),
      asset: z.looseObject({
        id: z.string(),
        version: z.number().int(),
        sha256: z.string(),
        source: z.string(),
      }),
      input: z.unknown(),
      limits: z.looseObject({ timeoutSeconds: z.number(), memoryMb: z.number() }),
      requestedAt: z.string(),
    }),
    lease: z.string().meta({ description: 'Echoed by started and result' }),
  })
  .meta({ id: 'AgentJob' });

const RESULT_BODY_BYTES = 2 * (MAX_OUTPUT_BYTES + 2 * MAX_LOG_BYTES) + 64 * 1024;

/** The name an agent says it is must be its token's. */
function assertNamed(agent: Agent, name: string): void {
  if (name !== agent.name) throw new NotFoundError(`This token is not agent ${name}'s`);
}

export function agentRoutes(core: SignedInCore): Route[] {
  return [
    route({
      method: 'GET',
      path: '/api/agents',
      serves: 'tenant',
      auth: 'caller',
      summary: "The tenant's local agents and their status",
      responses: { 200: list(agentSchema) },
      permission: 'agent:manage',
      handle: async ({ domain }) => ({
        status: 200,
        body: { items: await core.agents.list(domain) },
      }),
    }),
    route({
      method: 'POST',
      path: '/api/agents',
      serves: 'tenant',
      auth: 'caller',
      summary: 'Create a local agent (its token is shown once)',
      responses: { 201: agentWithTokenSchema },
      permission: 'agent:manage',
      body: newAgentBody,
      handle: async ({ domain, caller, request }) => ({
        status: 201,
        body: await core.agents.create(domain, request.body, caller),
      }),
    }),
    route({
      method: 'POST',
      path: '/api/agents/{name}/token',
      serves: 'tenant',
      auth: 'caller',
      summary: "Rotate an agent's token (shown once)",
      responses: { 201: agentWithTokenSchema },
      permission: 'agent:manage',
      handle: async ({ domain, caller, request }) => ({
        status: 201,
        body: await core.agents.rotate(domain, request.params.name ?? '', caller),
      }),
    }),
    route({
      method: 'DELETE',
      path: '/api/agents/{name}/token',
      serves: 'tenant',
      auth: 'caller',
      summary: "Revoke an agent's token",
      responses: { 200: agentSchema },
      permission: 'agent:manage',
      handle: async ({ domain, caller, request }) => ({
        status: 200,
        body: await core.agents.revoke(domain, request.params.name ?? '', caller),
      }),
    }),

    // The agent channel.
    route({
      method: 'POST',
      path: '/api/agent/hello',
      serves: 'tenant',
      auth: 'agent',
      summary: 'Agent protocol: an agent (its token as bearer) says hello',
      responses: {
        200: z
          .object({
            agent: agentSchema,
            tenant: z.object({ id: z.string(), name: z.string() }),
            pollSeconds: z.number().int(),
          })
          .meta({ id: 'AgentHello' }),
      },
      body: helloBody,
      maxBodyBytes: 4096,
      handle: async ({ domain: tenant, request, agent }) => {
        assertNamed(agent, request.body.name);
        const seen = await core.agents.seen(tenant, agent, request.body);
        return {
          status: 200,
          body: {
            agent: seen,
            tenant: { id: tenant.tenant.id, name: tenant.tenant.name },
            pollSeconds: MAX_POLL_WAIT_SECONDS,
          },
        };
      },
    }),
    route({
      method: 'POST',
      path: '/api/agent/goodbye',
      serves: 'tenant',
      auth: 'agent',
      summary: 'Agent protocol: an agent that is stopping says so (offline at once)',
      responses: { 204: null },
      body: goodbyeBody,
      maxBodyBytes: 4096,
      handle: async ({ domain: tenant, request, agent }) => {
        assertNamed(agent, request.body.name);
        await core.agents.stopped(tenant, agent);
        return { status: 204 };
      },
    }),
    route({
      method: 'POST',
      path: '/api/agent/poll',
      serves: 'tenant',
      auth: 'agent',
      summary: 'Agent protocol: long-poll for the next job',
      responses: { 200: agentJobSchema, 204: null },
      body: helloBody,
      maxBodyBytes: 4096,
      handle: async ({ domain: tenant, request, agent }) => {
        assertNamed(agent, request.body.name);
        await core.agents.seen(tenant, agent, request.body);
        const taken = await core.agents.poll(tenant, agent, request.body.waitSeconds);
        return taken === null ? { status: 204 } : { status: 200, body: taken };
      },
    }),
    route({
      method: 'POST',
      path: '/api/agent/runs/{id}/started',
      serves: 'tenant',
      auth: 'agent',
      summary: 'Agent protocol: report that a job started (confirms its lease)',
      responses: { 204: null },
      body: startedBody,
      maxBodyBytes: 4096,
      handle: async ({ domain: tenant, request, agent }) => {
        const id = request.params.id ?? '';
        await core.agents.confirmStarted(tenant, agent, id, request.body.lease);
        await core.executions.recordStarted(tenant, {
          kind: 'started',
          executionId: id,
          tenantId: tenant.tenant.id,
          startedAt: core.now().toISOString(),
        });
        return { status: 204 };
      },
    }),
    route({
      method: 'POST',
      path: '/api/agent/runs/{id}/logs',
      serves: 'tenant',
      auth: 'agent',
      summary: 'Agent protocol: live output of a running job; the answer says whether to stop it',
      responses: {
        200: z.object({ stop: z.boolean().meta({ description: 'A cancel was requested: stop the job' }) }),
      },
      body: logsBody,
      maxBodyBytes: 2 * LOG_CHUNKS_PER_REPORT * MAX_LOG_CHUNK_BYTES + 4096,
      handle: async ({ domain: tenant, request, agent }) => {
        const id = request.params.id ?? '';
        await core.agents.checkLease(tenant, agent, id, request.body.lease);
        const chunks = request.body.chunks.map((chunk) => ({ ...chunk, at: core.now().toISOString() }));
        if (chunks.length > 0) await core.executions.appendLogChunks(tenant, id, chunks);
        // The answer carries a cancel: the agent stops the job and reports it cancelled.
        const run = await core.executions.find(tenant, id);
        return { status: 200, body: { stop: run?.cancelRequested === true } };
      },
    }),
    route({
      method: 'POST',
      path: '/api/agent/runs/{id}/result',
      serves: 'tenant',
      auth: 'agent',
      summary: "Agent protocol: report a job's result",
      responses: {
        200: z.object({ id: z.string(), status: z.string() }).meta({ id: 'AgentResultRecorded' }),
      },
      body: resultBody,
      maxBodyBytes: RESULT_BODY_BYTES,
      handle: async ({ domain: tenant, request, agent }) => {
        const id = request.params.id ?? '';
        const { lease: secret, ...report } = request.body;
        await core.agents.checkLease(tenant, agent, id, secret);
        // The one recording path: output-schema check, conditional transition, audit.
        await core.executions.recordResult(tenant, {
          kind: 'result',
          executionId: id,
          tenantId: tenant.tenant.id,
          ...report,
          metrics: { ...report.metrics, agent: agent.name },
        });
        await core.agents.release(tenant, agent, id, secret);
        const run = await core.executions.find(tenant, id);
        return { status: 200, body: { id, status: run?.status ?? 'unknown' } };
      },
    }),
  ];
}

/** The governance console's read of a tenant's agents. */
export function agentGovernanceRoutes(core: ApiCore): Route[] {
  return [
    route({
      method: 'GET',
      path: '/api/tenants/{id}/agents',
      serves: 'governance',
      auth: 'caller',
      summary: "A tenant's local agents (governance console)",
      responses: { 200: list(agentSchema) },
      permission: 'tenant:read',
      handle: async ({ domain, request }) => {
        domain;
        const id = request.params.id ?? '';
        const tenant = TENANT_ID_PATTERN.test(id) ? await tenantContext(core.table, id) : null;
        if (tenant === null) throw new NotFoundError(`Tenant ${request.params.id} not found`);
        return { status: 200, body: { items: await core.agents.list(tenant) } };
      },
    }),
  ];
}
