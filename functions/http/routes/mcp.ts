/**
 * The MCP endpoint, its protected-resource metadata, and the AI clients users create for it in the
 * tenant front.
 */
import { Logger } from '@aws-lambda-powertools/logger';
import * as z from 'zod';
import { MCP_PATH } from '../../contract/paths.ts';
import {
  DEFAULT_CLIENT_DAYS,
  DEFAULT_WAIT_SECONDS,
  MAX_CLIENT_DAYS,
  MAX_CLIENT_SKILLS,
  MAX_CLIENT_TAGS,
  MAX_WAIT_SECONDS,
  MCP_PERMISSION,
} from '../../core/mcp/clients.ts';
import { pageSize } from '../../core/pagination.ts';
import type { TenantCore } from '../../core/platform.ts';
import { RESOURCE_METADATA_PATH, resourceMetadata } from '../mcp-auth.ts';
import { MAX_MCP_BODY_BYTES, mcpMessage } from '../mcp-message.ts';
import { problemSchema } from '../openapi.ts';
import { PROBLEM_CONTENT_TYPE } from '../problem.ts';
import { list, page, pageQuery } from '../responses.ts';
import { media, type ResultOf, type Route, route } from '../router.ts';
import { displayText } from './domains.ts';

const name = displayText(100);
const skills = z.array(z.string().max(64)).max(MAX_CLIENT_SKILLS);
const tags = z.array(z.string().max(64)).max(MAX_CLIENT_TAGS);
const waitSeconds = z.number().int().min(0).max(MAX_WAIT_SECONDS);

const newClientBody = z.strictObject({
  name,
  skills: skills.default([]),
  tags: tags.default([]),
  expiresInDays: z.number().int().min(1).max(MAX_CLIENT_DAYS).default(DEFAULT_CLIENT_DAYS),
  waitSeconds: waitSeconds.default(DEFAULT_WAIT_SECONDS),
});

const clientChangeBody = z.strictObject({
  name: name.optional(),
  skills: skills.optional(),
  tags: tags.optional(),
  waitSeconds: waitSeconds.optional(),
});

const resourceMetadataSchema = z
  .looseObject({
    resource: z.string(),
    authorization_servers: z.array(z.string()),
    bearer_methods_supported: z.array(z.string()),
    resource_name: z.string(),
    resource_documentation: z.string(),
  })
  .meta({ id: 'ProtectedResourceMetadata' });

const mcpClientSchema = z
  .looseObject({
    id: z.string(),
    name: z.string(),
    owner: z.string(),
    skills: z.array(z.string()),
    tags: z.array(z.string()),
    waitSeconds: z.number().int(),
    createdAt: z.string(),
    expiresAt: z.string(),
    lastUsedAt: z.string().nullable(),
    revoked: z.boolean(),
    endedAt: z
      .string()
      .optional()
      .meta({
        description:
          "When the owner's sessions were ended after the client was made (a new password, a disabling, " +
          '"end all sessions"): the client is refused from then on',
      }),
  })
  .meta({ id: 'McpClient' });

const mcpCallSchema = z
  .looseObject({
    at: z.string(),
    tool: z.string(),
    skillId: z.string().optional(),
    runId: z.string().optional(),
    status: z.string(),
    error: z.looseObject({ type: z.string(), message: z.string() }).optional(),
  })
  .meta({ id: 'McpCall' });

/** What the transport answers: a JSON-RPC response, nothing for a notification, or a refusal. */
const refusal = media(PROBLEM_CONTENT_TYPE, {
  schema: problemSchema,
  description:
    'Refused by the transport: a problem that is also a JSON-RPC error response (`jsonrpc`, `id`, `error`)',
});
const mcpResponses = {
  200: media('application/json', {
    schema: z.looseObject({ jsonrpc: z.literal('2.0') }),
    description: 'The JSON-RPC response',
  }),
  202: null,
  400: refusal,
  404: refusal,
  405: refusal,
  406: refusal,
  413: refusal,
  415: refusal,
} as const;

/**
 * `logger`: the API function's (failed tool calls are logged as `mcp`). Route tables built outside a
 * function (docs, tests) get one at Powertools' default level.
 */
export function mcpRoutes(core: TenantCore, functionLogger?: Logger): Route[] {
  const logger =
    functionLogger?.createChild({ serviceName: 'mcp' }) ??
    new Logger({ serviceName: 'mcp', logLevel: 'INFO' });
  const metadata = (path: `/.well-known/${string}`) =>
    route({
      method: 'GET',
      path,
      serves: 'tenant',
      auth: 'anonymous',
      summary: 'OAuth protected-resource metadata of the MCP endpoint (RFC 9728)',
      responses: { 200: resourceMetadataSchema },
      handle: async ({ domain, request }) => ({
        status: 200,
        body: resourceMetadata(domain, request.headers),
      }),
    });
  return [
    route({
      method: 'POST',
      path: MCP_PATH,
      serves: 'tenant',
      auth: 'mcp-client',
      summary: 'The MCP endpoint (Streamable HTTP, stateless): one JSON-RPC message per request',
      responses: mcpResponses,
      body: mcpMessage,
      maxBodyBytes: MAX_MCP_BODY_BYTES,
      // The SDK's transport picks the status: one of mcpResponses (the contract test holds it to them).
      // The SDK is loaded by the first MCP call of an instance, not at its cold start (../mcp.ts).
      handle: async ({ domain, caller, request }) => {
        const { serveMcp } = await import('../mcp.ts');
        return (await serveMcp(core, domain, caller, request, logger)) as ResultOf<typeof mcpResponses>;
      },
    }),
    metadata(RESOURCE_METADATA_PATH),
    metadata(`${RESOURCE_METADATA_PATH}${MCP_PATH}`),
    route({
      method: 'GET',
      path: '/api/mcp-clients',
      serves: 'tenant',
      auth: 'caller',
      summary: "The caller's AI clients (a user admin's: also those of users they may manage)",
      responses: { 200: list(mcpClientSchema) },
      handle: async ({ domain, caller }) => ({
        status: 200,
        body: { items: await core.mcpClients.list(domain, caller) },
      }),
    }),
    route({
      method: 'POST',
      path: '/api/mcp-clients',
      serves: 'tenant',
      auth: 'caller',
      summary: 'Create an AI client (its token is shown once)',
      responses: { 201: mcpClientSchema.extend({ token: z.string() }).meta({ id: 'NewMcpClient' }) },
      permission: MCP_PERMISSION,
      body: newClientBody,
      maxBodyBytes: 16 * 1024,
      handle: async ({ domain, caller, request }) => ({
        status: 201,
        body: await core.mcpClients.create(domain, caller, request.body),
      }),
    }),
    route({
      method: 'GET',
      path: '/api/mcp-clients/{id}',
      serves: 'tenant',
      auth: 'caller',
      summary: 'One AI client',
      responses: { 200: mcpClientSchema },
      handle: async ({ domain, caller, request }) => ({
        status: 200,
        body: await core.mcpClients.get(domain, caller, request.params.id ?? ''),
      }),
    }),
    route({
      method: 'PATCH',
      path: '/api/mcp-clients/{id}',
      serves: 'tenant',
      auth: 'caller',
      summary: "Change an AI client's name, Skills, tags or wait",
      responses: { 200: mcpClientSchema },
      permission: MCP_PERMISSION,
      body: clientChangeBody,
      maxBodyBytes: 16 * 1024,
      handle: async ({ domain, caller, request }) => ({
        status: 200,
        body: await core.mcpClients.update(domain, caller, request.params.id ?? '', request.body),
      }),
    }),
    route({
      method: 'DELETE',
      path: '/api/mcp-clients/{id}',
      serves: 'tenant',
      auth: 'caller',
      summary: 'Revoke an AI client',
      responses: { 204: null },
      handle: async ({ domain, caller, request }) => {
        await core.mcpClients.revoke(domain, caller, request.params.id ?? '');
        return { status: 204 };
      },
    }),
    route({
      method: 'GET',
      path: '/api/mcp-clients/{id}/calls',
      serves: 'tenant',
      auth: 'caller',
      summary: "An AI client's tool calls, newest first",
      query: z.object(pageQuery),
      responses: { 200: page(mcpCallSchema) },
      handle: async ({ domain, caller, request }) => ({
        status: 200,
        body: await core.mcpClients.calls(
          domain,
          caller,
          request.params.id ?? '',
          pageSize(request.query.limit),
          request.query.cursor,
        ),
      }),
    }),
  ];
}
