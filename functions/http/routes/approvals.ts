/** The approvals inbox and decisions on a run. */
import * as z from 'zod';
import { executionView } from '../../core/executions/executions.ts';
import type { SignedInCore } from '../../core/platform.ts';
import { executionSchema, list, voteSchema } from '../responses.ts';
import { type Route, route } from '../router.ts';

const decisionBody = z.strictObject({ comment: z.string().max(1000).optional() });

const inboxEntrySchema = executionSchema
  .extend({
    approvalsRequired: z.number().int(),
    adminApprovalRequired: z.boolean(),
    deadline: z.string().optional(),
    approvals: z.array(voteSchema),
    declaredEgress: z.array(z.string()),
    declaredCollections: z.array(z.string()),
    declaredParameters: z.array(z.string()),
    canDecide: z.boolean(),
  })
  .meta({ id: 'ApprovalRequest' });

export function approvalRoutes(core: SignedInCore): Route[] {
  const decide = (decision: 'approve' | 'reject') =>
    route({
      method: 'POST',
      path: `/api/executions/{id}/${decision}`,
      serves: 'tenant',
      auth: 'caller',
      summary:
        decision === 'approve' ? 'Approve a run waiting for approval' : 'Reject a run waiting for approval',
      permission: 'approval:decide',
      body: decisionBody,
      maxBodyBytes: 8 * 1024,
      responses: { 200: executionSchema },
      handle: async ({ domain, caller, request }) => {
        const execution = await core.approvals.decide(
          domain,
          caller,
          request.params.id ?? '',
          decision,
          request.body.comment ?? '',
        );
        return { status: 200, body: executionView(execution) };
      },
    });
  return [
    route({
      method: 'GET',
      path: '/api/approvals',
      serves: 'tenant',
      auth: 'caller',
      summary: 'Runs waiting for approval that the caller may see',
      responses: { 200: list(inboxEntrySchema) },
      handle: async ({ domain, caller }) => ({
        status: 200,
        body: {
          items: (await core.approvals.inbox(domain, caller)).map((entry) => ({
            ...executionView(entry.execution),
            approvalsRequired: entry.execution.approvalsRequired,
            adminApprovalRequired: entry.execution.adminApprovalRequired === true,
            deadline: entry.execution.deadline,
            approvals: entry.approvals,
            declaredEgress: entry.egress,
            declaredCollections: entry.collections ?? [],
            declaredParameters: entry.parameters ?? [],
            canDecide: entry.canDecide,
          })),
        },
      }),
    }),
    decide('approve'),
    decide('reject'),
  ];
}
