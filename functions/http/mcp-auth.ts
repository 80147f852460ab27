/**
 * Who may use a tenant host's MCP endpoint, and where MCP clients learn it: AI client
 * authentication with the `WWW-Authenticate` challenge the MCP authorization spec describes, and
 * the OAuth protected-resource metadata (RFC 9728) it points at. Kept apart from the endpoint
 * itself (mcp.ts), so the API functions that only authenticate do not bundle the MCP SDK.
 */
import { MCP_PATH } from '../contract/paths.ts';
import { AuthenticationError, RouteNotFoundError } from '../core/errors.ts';
import type { Caller } from '../core/identity/caller.ts';
import type { McpClients } from '../core/mcp/clients.ts';
import type { DomainContext, TenantContext } from '../core/tenancy/domain.ts';
import { publicOrigin } from './origin.ts';
import type { ApiRequest } from './router.ts';

/** Where its protected-resource metadata is (RFC 9728 §3.1: the resource's path after the well-known one). */
export const RESOURCE_METADATA_PATH = '/.well-known/oauth-protected-resource';

/** The RFC 9728 document of a tenant host's MCP endpoint. */
export function resourceMetadata(domain: TenantContext, headers: Readonly<Record<string, string>>) {
  const origin = publicOrigin(domain, headers);
  return {
    resource: `${origin}${MCP_PATH}`,
    // Client tokens are issued on the tenant host itself, by its users, in the front.
    authorization_servers: [origin],
    bearer_methods_supported: ['header'],
    resource_name: `${domain.tenant.name} on ExecFabric`,
    resource_documentation: `${origin}/mcp-clients`,
  };
}

/**
 * Authenticates an AI client; a refusal carries the challenge MCP clients follow to the metadata
 * (`error="invalid_token"` when a token was sent, RFC 6750 §3).
 */
export async function authenticateMcpClient(
  clients: McpClients,
  domain: DomainContext,
  request: ApiRequest<unknown>,
): Promise<Caller> {
  if (domain.kind !== 'tenant') throw new RouteNotFoundError(`No route for ${request.path}`);
  try {
    return await clients.authenticate(domain, request.headers.authorization);
  } catch (error) {
    if (!(error instanceof AuthenticationError)) throw error;
    const metadata = `${publicOrigin(domain, request.headers)}${RESOURCE_METADATA_PATH}${MCP_PATH}`;
    const invalid = request.headers.authorization === undefined ? '' : 'error="invalid_token", ';
    throw new AuthenticationError(error.message, {
      cause: error,
      challenge: `Bearer ${invalid}resource_metadata="${metadata}"`,
    });
  }
}
