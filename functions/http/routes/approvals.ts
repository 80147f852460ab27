/** The approvals inbox and decisions on a run. */
import { z } from 'zod';
import { executionView } from '../../core/executions/executions.ts';
import type { Core } from '../../core/platform.ts';
import { type Route, route } from '../router.ts';
import { tenantOf } from './domains.ts';

const decisionBody = z.strictObject({ comment: z.string().max(1000).optional() });

export function approvalRoutes(core: Core): Route[] {
  const decide = (decision: 'approve' | 'reject') =>
    route({
      method: 'POST',
      path: `/api/executions/{id}/${decision}`,
      auth: 'caller',
      permission: 'approval:decide',
      body: decisionBody,
      maxBodyBytes: 8 * 1024,
      handle: async ({ domain, caller, request }) => {
        const execution = await core.approvals.decide(
          tenantOf(domain, 'approvals'),
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
      auth: 'caller',
      handle: async ({ domain, caller }) => ({
        status: 200,
        body: {
          items: (await core.approvals.inbox(tenantOf(domain, 'approvals'), caller)).map((entry) => ({
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
