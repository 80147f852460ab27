/**
 * Skills as MCP tools: names within every client's rules and stable for a Skill, schemas an MCP
 * client compiles (checked with the SDK's own validator), and the run envelope that conforms to them.
 */
import { AjvJsonSchemaValidator } from '@modelcontextprotocol/sdk/validation/ajv';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { JsonSchema } from '../../../../../functions/core/catalog/schemas.ts';
import type { Skill } from '../../../../../functions/core/catalog/skills.ts';
import type { Execution } from '../../../../../functions/core/executions/executions.ts';
import { MAX_WAIT_SECONDS } from '../../../../../functions/core/mcp/clients.ts';
import {
  GET_RUN_TOOL,
  getRunTool,
  isErrorStatus,
  runEnvelope,
  runEnvelopeSchema,
  skillIdOfTool,
  skillTool,
  TOOL_NAME_PATTERN,
  toolInputSchema,
  toolName,
} from '../../../../../functions/core/mcp/tools.ts';
import { functions } from '../../../../../lib/topology.ts';

const ID = 'skl-k3j9x0q2m1ab';
const ORIGIN = 'https://acme.example.com';

function skill(overrides: Partial<Skill> = {}): Skill {
  return {
    id: ID,
    revision: 1,
    name: 'Send invoice',
    description: 'Sends an invoice.',
    inputSchema: { type: 'object', properties: { to: { type: 'string' } }, required: ['to'] },
    outputSchema: { type: 'object', properties: { sent: { type: 'boolean' } }, required: ['sent'] },
    risk: 'low',
    approval: 'none',
    visibility: { roles: [] },
    state: 'active',
    tags: [],
    asset: { kind: 'python-script', id: 'scr-aaaaaaaaaaaa', version: 'active' },
    limits: { timeoutSeconds: 30, memoryMb: 256 },
    definitionHash: 'h',
    createdAt: '2026-01-01T00:00:00.000Z',
    updatedAt: '2026-01-01T00:00:00.000Z',
    createdBy: 'alice',
    updatedBy: 'alice',
    ...overrides,
  };
}

function execution(overrides: Partial<Execution> = {}): Execution {
  return {
    id: 'ex-00mx584dkn92f080da92',
    tenantId: 'acme',
    skillId: ID,
    skillName: 'Send invoice',
    skillRevision: 1,
    status: 'succeeded',
    input: { to: 'x' },
    inputHash: 'h',
    asset: { kind: 'python-script', id: 'scr-aaaaaaaaaaaa', version: 1, sha256: 'h' },
    limits: { timeoutSeconds: 30, memoryMb: 256 },
    requestedBy: 'bob',
    createdAt: '2026-01-01T00:00:00.000Z',
    approvalsRequired: 0,
    ...overrides,
  };
}

/** The SDK client's validator (a draft-07 Ajv): what every client built on the SDK compiles schemas with. */
const sdk = new AjvJsonSchemaValidator();

describe('tool names', () => {
  it('are the Skill name as a slug plus its id, within ^[A-Za-z0-9_-]{1,64}$', () => {
    expect(toolName(skill())).toBe('send_invoice_k3j9x0q2m1ab');
    expect(toolName(skill({ name: 'Überweisung (EUR) → Lieferant' }))).toBe(
      'uberweisung_eur_lieferant_k3j9x0q2m1ab',
    );
    expect(toolName(skill({ name: '日本語のみ' }))).toBe('skill_k3j9x0q2m1ab');
    expect(toolName(skill({ name: '  ---  ' }))).toBe('skill_k3j9x0q2m1ab');
    expect(toolName(skill({ name: 'x'.repeat(120) }))).toHaveLength(63);
  });

  it('hold for any name, and give back the Skill id', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 120 }), fc.stringMatching(/^[a-z0-9]{12}$/), (name, suffix) => {
        const tool = toolName({ id: `skl-${suffix}`, name });
        expect(tool).toMatch(TOOL_NAME_PATTERN);
        expect(skillIdOfTool(tool)).toBe(`skl-${suffix}`);
        expect(tool).not.toBe(GET_RUN_TOOL);
      }),
      { numRuns: 2000 },
    );
  });

  it('differ for two Skills of the same name', () => {
    expect(toolName(skill())).not.toBe(toolName(skill({ id: 'skl-000000000000' })));
  });

  it('carry no Skill id unless they end in one', () => {
    for (const name of [
      'get_run',
      'greet',
      'greet_K3J9X0Q2M1AB',
      'greet_k3j9x0q2m1a',
      'x'.repeat(65),
      '',
      'a b_k3j9x0q2m1ab',
    ]) {
      expect(skillIdOfTool(name), name).toBeNull();
    }
  });
});

describe('tool schemas', () => {
  it('make an object input schema without a dialect', () => {
    expect(toolInputSchema(true)).toEqual({ type: 'object' });
    expect(toolInputSchema(false)).toEqual({ type: 'object', not: {} });
    expect(
      toolInputSchema({
        $schema: 'https://json-schema.org/draft/2020-12/schema',
        type: ['object', 'null'],
        minProperties: 1,
      }),
    ).toEqual({ type: 'object', minProperties: 1 });
  });

  it('put the Skill output schema in the envelope, with its definitions at the root', () => {
    const output: JsonSchema = {
      $schema: 'https://json-schema.org/draft/2020-12/schema',
      $id: 'https://example.com/invoice',
      type: 'object',
      properties: { amount: { $ref: '#/$defs/money' }, legacy: { $ref: '#/definitions/old' } },
      $defs: { money: { type: 'integer', minimum: 0 } },
      definitions: { old: { type: 'string' } },
    };
    const schema = runEnvelopeSchema(output);
    expect(schema.type).toBe('object');
    expect(schema.$defs).toEqual({ money: { type: 'integer', minimum: 0 } });
    expect(schema.definitions).toEqual({ old: { type: 'string' } });
    expect(JSON.stringify(schema)).not.toMatch(/\$schema|\$id/);
    const validate = sdk.getValidator(schema);
    const run = (output: unknown) => ({
      runId: 'ex-1',
      status: 'succeeded',
      done: true,
      skill: { id: ID, name: 'n', tool: 't' },
      runUrl: ORIGIN,
      output,
    });
    expect(validate(run({ amount: 5, legacy: 'x' })).valid).toBe(true);
    expect(validate(run({ amount: -5 })).valid).toBe(false);
    expect(validate(run({ legacy: 5 })).valid).toBe(false);
  });

  it('keep a recursive output schema valid by not constraining the output', () => {
    const schema = runEnvelopeSchema({ type: 'object', properties: { child: { $ref: '#' } } });
    expect((schema.properties as Record<string, unknown>).output).toEqual({
      description: expect.any(String),
    });
    expect(sdk.getValidator(schema)).toBeTypeOf('function');
  });

  it('compile with the SDK client’s validator for boolean and typical schemas', () => {
    for (const output of [
      true,
      false,
      {},
      { type: 'array', prefixItems: [{ type: 'string' }] },
      skill().outputSchema,
    ]) {
      const tool = skillTool(skill({ outputSchema: output }));
      expect(() => sdk.getValidator(tool.outputSchema), JSON.stringify(output)).not.toThrow();
      expect(tool.inputSchema.type).toBe('object');
    }
    expect(() => sdk.getValidator(getRunTool.outputSchema)).not.toThrow();
  });

  it('say in the description when people must approve each run', () => {
    expect(skillTool(skill()).description).toContain('It runs at once.');
    expect(skillTool(skill({ risk: 'medium', approval: 'one' })).description).toContain('pending ticket');
    expect(skillTool(skill({ risk: 'low', approval: 'one' })).description).toContain('pending ticket');
  });
});

describe('the run envelope', () => {
  const validate = sdk.getValidator(skillTool(skill()).outputSchema);
  const context = { origin: ORIGIN, votes: [], maxWaitSeconds: MAX_WAIT_SECONDS };

  it('carries the output of a finished run, and conforms to the tool’s output schema', () => {
    const envelope = runEnvelope(
      execution({ output: { sent: true }, finishedAt: '2026-01-01T00:00:01.000Z' }),
      context,
    );
    expect(envelope).toEqual(
      expect.objectContaining({
        status: 'succeeded',
        done: true,
        output: { sent: true },
        runUrl: `${ORIGIN}/executions/ex-00mx584dkn92f080da92`,
      }),
    );
    expect(envelope.awaiting).toBeUndefined();
    expect(validate(envelope).valid).toBe(true);
  });

  it('is a ticket while approvals are awaited, with the link for approvers', () => {
    const envelope = runEnvelope(
      execution({
        status: 'pending_approval',
        approvalsRequired: 2,
        adminApprovalRequired: true,
        deadline: '2026-01-04T00:00:00.000Z',
      }),
      { ...context, votes: [{ approver: 'carol', decision: 'approve', comment: '', admin: false, at: 'x' }] },
    );
    expect(envelope).toEqual(
      expect.objectContaining({
        done: false,
        awaiting: 'approval',
        approvals: { required: 2, received: 1, adminRequired: true, expiresAt: '2026-01-04T00:00:00.000Z' },
        approvalUrl: `${ORIGIN}/approvals?run=ex-00mx584dkn92f080da92`,
      }),
    );
    expect(envelope.output).toBeUndefined();
    expect(envelope.next).toContain('get_run');
    expect(validate(envelope).valid).toBe(true);
  });

  it('is a ticket while the run is queued or running, and an error once it failed', () => {
    const queued = runEnvelope(execution({ status: 'queued' }), context);
    expect(queued).toEqual(expect.objectContaining({ awaiting: 'execution', done: false }));
    expect(queued.next).toContain(`up to ${MAX_WAIT_SECONDS}`);
    const failed = runEnvelope(
      execution({ status: 'failed', error: { type: 'ValueError', message: 'boom', trace: 'secret trace' } }),
      context,
    );
    expect(failed.error).toEqual({ type: 'ValueError', message: 'boom' });
    expect(validate(failed).valid).toBe(true);
    expect(isErrorStatus('failed')).toBe(true);
    expect(isErrorStatus('rejected')).toBe(true);
    expect(isErrorStatus('pending_approval')).toBe(false);
    expect(isErrorStatus('succeeded')).toBe(false);
  });
});

describe('waiting', () => {
  it('stays well under the tenant API’s timeout, with room for the run’s own writes', () => {
    expect(MAX_WAIT_SECONDS + 4).toBeLessThanOrEqual(functions['tenant-api'].timeoutSeconds);
  });
});
