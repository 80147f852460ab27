/** The approvals inbox and decisions on a run. */
import * as z from 'zod';
import { executionView } from '../../core/executions/executions.ts';
import { pageSize } from '../../core/pagination.ts';
import type { SignedInCore } from '../../core/platform.ts';
import { acceptedAgeMs } from '../cache-control.ts';
import { executionSchema, page, pageQuery, voteSchema } from '../responses.ts';
import { type Route, route } from '../router.ts';

const decisionBody = z.strictObject({ comment: z.string().max(1000).optional() });

const inboxEntrySchema = executionSchema
  .extend({
    approvalsRequired: z.number().int(),
    adminApprovalRequired: z.boolean(),
    deadline: z.string().optional(),
    approvals: z.array(voteSchema),
    declaredEgress: z.array(z.string()),
    declaredEgressResources: z
      .array(z.object({ id: z.string(), name: z.string() }))
      .meta({ description: 'The declared HTTP resources with their names (the id where no longer granted)' }),
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
      summary: 'Runs waiting for approval that the caller may see, oldest first',
      query: z.object(pageQuery),
      responses: { 200: page(inboxEntrySchema) },
      handle: async ({ domain, caller, request }) => {
        const inbox = await core.approvals.inbox(
          domain,
          caller,
          pageSize(request.query.limit),
          request.query.cursor,
          acceptedAgeMs(request.headers),
        );
        // Approvers see what the script may call by name: the granted resources are read once a page,
        // for them (their listing is for those who manage Skills).
        const declared = inbox.items.some((entry) => entry.egress.length > 0);
        const names = new Map(
          declared
            ? (await core.httpResources.summaries(domain)).map((resource) => [resource.id, resource.name])
            : [],
        );
        return {
          status: 200,
          body: {
            items: inbox.items.map((entry) => ({
              ...executionView(entry.execution),
              approvalsRequired: entry.execution.approvalsRequired,
              adminApprovalRequired: entry.execution.adminApprovalRequired === true,
              deadline: entry.execution.deadline,
              approvals: entry.approvals,
              declaredEgress: entry.egress,
              declaredEgressResources: entry.egress.map((id) => ({ id, name: names.get(id) ?? id })),
              declaredCollections: entry.collections ?? [],
              declaredParameters: entry.parameters ?? [],
              canDecide: entry.canDecide,
            })),
            ...(inbox.cursor === undefined ? {} : { cursor: inbox.cursor }),
          },
        };
      },
    }),
    decide('approve'),
    decide('reject'),
  ];
}
