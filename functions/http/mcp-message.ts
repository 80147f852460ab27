/**
 * What the MCP endpoint's route accepts before the transport sees it (functions/http/mcp.ts): one
 * JSON-RPC message within a size. Apart from the SDK, so the route table declares it without
 * loading the SDK at a cold start.
 */
import * as z from 'zod';

/** Largest MCP request body: a run's input (64 KiB) and the JSON-RPC envelope around it. */
export const MAX_MCP_BODY_BYTES = 128 * 1024;

/**
 * One JSON-RPC message: what the pipeline lets through to the transport. Unknown members, a missing
 * or wrong `jsonrpc`, and batches (gone from MCP since 2025-06-18; one message per request keeps
 * every call bounded) are refused with a 422 naming the field, like every other body of the API.
 */
export const mcpMessage = z.strictObject(
  {
    jsonrpc: z.literal('2.0'),
    id: z.union([z.string().max(256), z.number(), z.null()]).optional(),
    method: z.string().min(1).max(128).optional(),
    params: z.record(z.string(), z.unknown()).optional(),
    result: z.record(z.string(), z.unknown()).optional(),
    error: z
      .strictObject({ code: z.number().int(), message: z.string().max(4096), data: z.unknown().optional() })
      .optional(),
  },
  {
    error: (issue) =>
      Array.isArray(issue.input)
        ? 'JSON-RPC batches are not accepted: send one message per request'
        : undefined,
  },
);
