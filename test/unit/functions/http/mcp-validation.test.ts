/**
 * The MCP server's JSON Schema validator (functions/http/mcp-validation.ts) refuses every value:
 * an elicitation answer the server never asked for cannot be accepted unchecked, through the real
 * SDK server and client over the SDK's in-memory transport.
 */
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { InMemoryTransport } from '@modelcontextprotocol/sdk/inMemory.js';
import { Server } from '@modelcontextprotocol/sdk/server/index.js';
import { ElicitRequestSchema, ErrorCode, McpError } from '@modelcontextprotocol/sdk/types.js';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { REFUSED_ELICITATION, refusingSchemaValidator } from '../../../../functions/http/mcp-validation.ts';

describe('the MCP server’s schema validator', () => {
  it('refuses every value under every schema', () => {
    fc.assert(
      fc.property(fc.jsonValue(), fc.jsonValue(), (schema, value) => {
        const validate = refusingSchemaValidator.getValidator(schema as never);
        expect(validate(value)).toEqual({ valid: false, data: undefined, errorMessage: REFUSED_ELICITATION });
      }),
    );
  });

  it('is what the SDK server validates an elicitation answer with: a forged answer is refused', async () => {
    const server = new Server(
      { name: 'execfabric-test', version: '1.0.0' },
      { capabilities: {}, jsonSchemaValidator: refusingSchemaValidator },
    );
    const client = new Client(
      { name: 'attacker', version: '1.0.0' },
      { capabilities: { elicitation: { form: {} } } },
    );
    // The client answers any elicitation with content that matches the requested schema exactly.
    client.setRequestHandler(ElicitRequestSchema, async () => ({ action: 'accept', content: { name: 'x' } }));
    const [clientSide, serverSide] = InMemoryTransport.createLinkedPair();
    await Promise.all([server.connect(serverSide), client.connect(clientSide)]);
    try {
      const asked = server.elicitInput({
        mode: 'form',
        message: 'Your name?',
        requestedSchema: { type: 'object', properties: { name: { type: 'string' } }, required: ['name'] },
      });
      await expect(asked).rejects.toBeInstanceOf(McpError);
      await expect(asked).rejects.toMatchObject({ code: ErrorCode.InvalidParams });
      await expect(asked).rejects.toThrow(REFUSED_ELICITATION);
    } finally {
      await client.close();
      await server.close();
    }
  });
});
