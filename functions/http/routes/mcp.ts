/**
 * The MCP endpoint, its protected-resource metadata, and the AI clients users create for it in the
 * tenant front.
 */
import { Logger } from '@aws-lambda-powertools/logger';
import { z } from 'zod';
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
import type { Core } from '../../core/platform.ts';
import { MAX_MCP_BODY_BYTES, mcpMessage, serveMcp } from '../mcp.ts';
import { MCP_PATH, RESOURCE_METADATA_PATH, resourceMetadata } from '../mcp-auth.ts';
import { type Route, route } from '../router.ts';
import { tenantOf } from './domains.ts';

const logger = new Logger({ serviceName: 'mcp' });

const name = z.string().trim().min(1).max(100);
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

export function mcpRoutes(core: Core): Route[] {
  const metadata = (path: `/.well-known/${string}`) =>
    route({
      method: 'GET',
      path,
      auth: 'anonymous',
      handle: async ({ domain, request }) => ({
        status: 200,
        body: resourceMetadata(tenantOf(domain, 'MCP endpoint'), request.headers),
      }),
    });
  return [
    route({
      method: 'POST',
      path: MCP_PATH,
      auth: 'mcp-client',
      body: mcpMessage,
      maxBodyBytes: MAX_MCP_BODY_BYTES,
      handle: async ({ domain, caller, request }) =>
        serveMcp(core, tenantOf(domain, 'MCP endpoint'), caller, request, logger),
    }),
    metadata(RESOURCE_METADATA_PATH),
    metadata(`${RESOURCE_METADATA_PATH}${MCP_PATH}`),
    route({
      method: 'GET',
      path: '/api/mcp-clients',
      auth: 'caller',
      handle: async ({ domain, caller }) => ({
        status: 200,
        body: { items: await core.mcpClients.list(tenantOf(domain, 'AI clients'), caller) },
      }),
    }),
    route({
      method: 'POST',
      path: '/api/mcp-clients',
      auth: 'caller',
      permission: MCP_PERMISSION,
      body: newClientBody,
      maxBodyBytes: 16 * 1024,
      handle: async ({ domain, caller, request }) => ({
        status: 201,
        body: await core.mcpClients.create(tenantOf(domain, 'AI clients'), caller, request.body),
      }),
    }),
    route({
      method: 'GET',
      path: '/api/mcp-clients/{id}',
      auth: 'caller',
      handle: async ({ domain, caller, request }) => ({
        status: 200,
        body: await core.mcpClients.get(tenantOf(domain, 'AI clients'), caller, request.params.id ?? ''),
      }),
    }),
    route({
      method: 'PATCH',
      path: '/api/mcp-clients/{id}',
      auth: 'caller',
      permission: MCP_PERMISSION,
      body: clientChangeBody,
      maxBodyBytes: 16 * 1024,
      handle: async ({ domain, caller, request }) => ({
        status: 200,
        body: await core.mcpClients.update(
          tenantOf(domain, 'AI clients'),
          caller,
          request.params.id ?? '',
          request.body,
        ),
      }),
    }),
    route({
      method: 'DELETE',
      path: '/api/mcp-clients/{id}',
      auth: 'caller',
      handle: async ({ domain, caller, request }) => {
        await core.mcpClients.revoke(tenantOf(domain, 'AI clients'), caller, request.params.id ?? '');
        return { status: 204 };
      },
    }),
    route({
      method: 'GET',
      path: '/api/mcp-clients/{id}/calls',
      auth: 'caller',
      handle: async ({ domain, caller, request }) => ({
        status: 200,
        body: await core.mcpClients.calls(
          tenantOf(domain, 'AI clients'),
          caller,
          request.params.id ?? '',
          pageSize(request.query.limit),
          request.query.cursor,
        ),
      }),
    }),
  ];
}
