/**
 * The MCP endpoint of a tenant host (`POST /mcp`, Streamable HTTP), built on the official SDK: a
 * fresh SDK `Server` and stateless transport per request, answering in JSON (no SSE stream, no
 * session), which is what a Lambda behind API Gateway can hold. The pipeline has already bound the
 * host, authenticated the AI client and parsed the JSON body (size, UTF-8, nesting depth); the
 * transport checks the rest of the framing (Accept, JSON-RPC shape, protocol version), and the
 * core (functions/core/mcp) decides what the client may see and do.
 * Who may call it, and the metadata that says so, are in mcp-auth.ts; what the pipeline lets
 * through, in mcp-message.ts.
 *
 * The route imports this module on the first MCP call (routes/mcp.ts): the SDK's server, transport
 * and protocol schemas stay out of the tenant API's cold start, which every other request pays.
 */
import type { Logger } from '@aws-lambda-powertools/logger';
import { Server } from '@modelcontextprotocol/sdk/server/index.js';
import { WebStandardStreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/webStandardStreamableHttp.js';
import {
  CallToolRequestSchema,
  type CallToolResult,
  ErrorCode,
  ListToolsRequestSchema,
} from '@modelcontextprotocol/sdk/types.js';
import { MCP_PATH } from '../contract/paths.ts';
import type { Caller } from '../core/identity/caller.ts';
import { MAX_WAIT_SECONDS } from '../core/mcp/clients.ts';
import { UnknownToolError } from '../core/mcp/service.ts';
import { GET_RUN_TOOL } from '../core/mcp/tools.ts';
import type { TenantCore } from '../core/platform.ts';
import type { TenantContext } from '../core/tenancy/domain.ts';
import { acceptedAgeMs } from './cache-control.ts';
import { refusingSchemaValidator } from './mcp-validation.ts';
import { publicOrigin } from './origin.ts';
import { PROBLEM_CONTENT_TYPE, problem } from './problem.ts';
import type { ApiRequest, RouteResult } from './router.ts';

/** Request headers the transport reads; nothing else of the request reaches it. */
const FORWARDED_HEADERS = [
  'accept',
  'content-type',
  'mcp-protocol-version',
  'mcp-session-id',
  'last-event-id',
];

const SERVER_VERSION = '1.0.0';

function instructions(tenant: string): string {
  return [
    `Tools are the ExecFabric Skills of ${tenant} this client may use; calling one runs it, under the tenant's governance.`,
    'A result is the run: status "succeeded" carries the output; a run that needs people to approve it, or takes longer than the client waits, comes back at once as a ticket (runId, awaiting, approvalUrl).',
    `Follow a ticket with ${GET_RUN_TOOL} {"runId": …, "waitSeconds": up to ${MAX_WAIT_SECONDS}}. The tool list follows the tenant's Skills and grants: list tools again rather than keeping an old list.`,
  ].join(' ');
}

/** Problem types of the transport's refusals, by JSON-RPC error code, then by HTTP status. */
const PROBLEM_BY_RPC_CODE: Readonly<Record<number, string>> = {
  [ErrorCode.ParseError]: 'malformed-request',
  [ErrorCode.InvalidRequest]: 'invalid-request',
};
const PROBLEM_BY_STATUS: Readonly<Record<number, string>> = {
  404: 'not-found',
  405: 'method-not-allowed',
  406: 'not-acceptable',
  413: 'payload-too-large',
  415: 'unsupported-media-type',
};

/**
 * An HTTP-level refusal of an MCP message: application/problem+json like every refusal of the
 * platform, and at the same time the JSON-RPC error response (no id) the Streamable HTTP transport
 * describes, as extension members of the problem.
 */
function mcpRefusal(status: number, code: number, message: string): RouteResult {
  const slug = PROBLEM_BY_RPC_CODE[code] ?? PROBLEM_BY_STATUS[status] ?? 'bad-request';
  const response = problem(status, slug, message, { jsonrpc: '2.0', id: null, error: { code, message } });
  return { status, raw: { contentType: PROBLEM_CONTENT_TYPE, text: response.body } };
}

/** The JSON-RPC error of a transport refusal, if the body is one. */
function rpcErrorOf(text: string): { code: number; message: string } | null {
  try {
    const parsed = JSON.parse(text) as { error?: { code?: unknown; message?: unknown } };
    const { code, message } = parsed.error ?? {};
    return typeof code === 'number' && typeof message === 'string' ? { code, message } : null;
  } catch {
    return null;
  }
}

function createMcpServer(
  core: TenantCore,
  domain: TenantContext,
  caller: Caller,
  origin: string,
  requestId: string,
  logger: Logger,
  maxAgeMs: number | undefined,
): Server {
  const server = new Server(
    { name: 'execfabric', title: `${domain.tenant.name} on ExecFabric`, version: SERVER_VERSION },
    {
      // Stateless: no stream to send tools/list_changed on; clients re-list instead.
      capabilities: { tools: { listChanged: false } },
      instructions: instructions(domain.tenant.name),
      // Never elicits: the SDK's default validator (Ajv) is neither used nor bundled (mcp-validation.ts).
      jsonSchemaValidator: refusingSchemaValidator,
    },
  );
  server.setRequestHandler(ListToolsRequestSchema, async () => ({
    tools: (await core.mcp.listTools(domain, caller, maxAgeMs)).map((tool) => ({ ...tool })),
  }));
  server.setRequestHandler(CallToolRequestSchema, async (call): Promise<CallToolResult> => {
    try {
      const answer = await core.mcp.call(
        domain,
        caller,
        call.params.name,
        call.params.arguments ?? {},
        origin,
      );
      return {
        content: [{ type: 'text', text: answer.text }],
        ...(answer.envelope === undefined ? {} : { structuredContent: { ...answer.envelope } }),
        isError: answer.isError,
      };
    } catch (error) {
      if (error instanceof UnknownToolError) throw new RpcError(ErrorCode.InvalidParams, error.message);
      logger.error('MCP tool call failed', { error: error as Error, requestId, tool: call.params.name });
      return {
        content: [
          {
            type: 'text',
            text: `The platform failed to handle this call (request ${requestId}); try again.`,
          },
        ],
        isError: true,
      };
    }
  });
  return server;
}

/**
 * A JSON-RPC error the SDK's server answers with its own `code` and `message`. Not the SDK's
 * McpError, whose message starts "MCP error <code>: ": a client's McpError adds that prefix again,
 * and the caller read "MCP error -32602: MCP error -32602: Unknown tool: nope".
 */
class RpcError extends Error {
  readonly code: number;

  constructor(code: number, message: string) {
    super(message);
    this.code = code;
    this.name = 'RpcError';
  }
}

/**
 * The methods whose params this server's handlers read, with the SDK's schema of each request. A
 * map, not an object: a method named `constructor` or `toString` is a client's string, and read off
 * an object it found the object's own function (a 500).
 */
const HANDLED_REQUESTS = new Map<string, typeof CallToolRequestSchema | typeof ListToolsRequestSchema>([
  ['tools/call', CallToolRequestSchema],
  ['tools/list', ListToolsRequestSchema],
]);

/**
 * A JSON-RPC "invalid params" answer for a request to a handled method whose params do not fit it, or
 * null. The SDK checks them inside the handler and answered a mismatch as -32603, an internal error,
 * carrying its validator's dump (`tools/call` with `"name": 123`).
 */
function invalidParams(body: unknown): RouteResult | null {
  if (body === null || typeof body !== 'object' || Array.isArray(body)) return null;
  const { id, method } = body as { id?: unknown; method?: unknown };
  const schema = typeof method === 'string' ? HANDLED_REQUESTS.get(method) : undefined;
  if (schema === undefined || (typeof id !== 'string' && typeof id !== 'number')) return null;
  const parsed = schema.safeParse(body);
  if (parsed.success) return null;
  const issue = parsed.error.issues[0];
  const where = issue === undefined ? 'params' : issue.path.map(String).join('.').slice(0, 128);
  const message = `Invalid params for ${method}: ${where}: ${(issue?.message ?? 'does not fit').slice(0, 200)}`;
  const text = JSON.stringify({ jsonrpc: '2.0', id, error: { code: ErrorCode.InvalidParams, message } });
  return { status: 200, raw: { contentType: 'application/json', text } };
}

/**
 * One MCP request (a JSON-RPC message, already parsed), answered by a stateless SDK server. The
 * params of a handled method are checked here first and again by the SDK's handler: the SDK cannot be
 * told they were, and its own mismatch answer is an internal error.
 */
export async function serveMcp(
  core: TenantCore,
  domain: TenantContext,
  caller: Caller,
  request: ApiRequest<unknown>,
  logger: Logger,
): Promise<RouteResult> {
  const refused = invalidParams(request.body);
  if (refused !== null) return refused;
  const origin = publicOrigin(domain, request.headers);
  const headers = new Headers();
  for (const name of FORWARDED_HEADERS) {
    const value = request.headers[name];
    if (value !== undefined) headers.set(name, value);
  }
  // The HTTP request's Cache-Control says how old a catalogue `tools/list` may answer from.
  const maxAgeMs = acceptedAgeMs(request.headers);
  const server = createMcpServer(core, domain, caller, origin, request.requestId, logger, maxAgeMs);
  const transport = new WebStandardStreamableHTTPServerTransport({
    sessionIdGenerator: undefined,
    enableJsonResponse: true,
  });
  await server.connect(transport);
  try {
    const response = await transport.handleRequest(
      new Request(`${origin}${MCP_PATH}`, { method: request.method, headers }),
      { parsedBody: request.body },
    );
    const text = await response.text();
    if (response.status >= 400) {
      const error = rpcErrorOf(text) ?? {
        code: ErrorCode.InvalidRequest,
        message: 'The MCP request was refused',
      };
      return mcpRefusal(response.status, error.code, error.message);
    }
    const contentType = response.headers.get('content-type') ?? 'application/json';
    return text === ''
      ? { status: response.status }
      : { status: response.status, raw: { contentType, text } };
  } finally {
    await server.close();
  }
}
