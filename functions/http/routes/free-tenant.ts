/**
 * The free edition on a tenant's own host (the tenant API): redeeming a sign-up's one-time handoff
 * for a session (personal spaces), and the plan's usage with what is left (every tenant has it). The
 * free entry's routes are in free-entry.ts, the governance console's in free.ts.
 */
import * as z from 'zod';
import { HANDOFF_BROWSER_COOKIE } from '../../core/free/handoffs.ts';
import type { TenantCore } from '../../core/platform.ts';
import { type Route, route } from '../router.ts';
import { assertFromThisOrigin, sessionCookie } from '../session.ts';
import { loginSchema } from './identity.ts';

const handoffBody = z.strictObject({ token: z.string().min(1).max(200) });

const quotaSchema = z.object({
  used: z.number(),
  limit: z.number().nullable().meta({ description: 'null: not limited on this plan' }),
  remaining: z.number().nullable(),
});

const usageSchema = z
  .looseObject({
    plan: z.string(),
    day: z.string().meta({ description: 'The UTC day the daily quotas count' }),
    resetsAt: z.string(),
    runsToday: quotaSchema,
    skills: quotaSchema,
    schedules: quotaSchema,
    users: quotaSchema.meta({ description: 'Users kept, disabled ones too' }),
    allows: z.looseObject({
      httpAssets: z.boolean(),
      scriptBytes: z.number(),
      concurrentRuns: z.number(),
      scheduledFiresPerDay: z.number(),
      collections: z.number(),
      pendingApprovals: z.number().meta({ description: 'Runs that may wait for approval at once' }),
    }),
  })
  .meta({ id: 'PlanUsage' });

/** A tenant's own: redeeming a sign-up's handoff (personal spaces), and the plan's usage (every tenant). */
export function freeTenantRoutes(core: TenantCore): Route[] {
  return [
    route({
      method: 'POST',
      path: '/api/auth/handoff',
      serves: 'tenant',
      auth: 'anonymous',
      body: handoffBody,
      maxBodyBytes: 1024,
      responses: { 200: loginSchema },
      handle: async ({ domain: space, request }) => {
        // A cookie session is only ever started by this host's own page.
        assertFromThisOrigin(request.headers, space);
        const username = await core.free.handoffs.consume(
          space,
          request.body.token,
          request.cookies.get(HANDOFF_BROWSER_COOKIE),
        );
        const { token, ...rest } = await core.auth.startVerifiedSession(
          space,
          username,
          { requestId: request.requestId, sourceIp: request.sourceIp },
          'handoff',
        );
        const caller = await core.auth.authenticateSessionToken(space, token);
        return {
          status: 200,
          body: { ...rest, session: 'cookie', csrfToken: core.auth.csrfToken(caller) },
          cookies: [sessionCookie(token, new Date(rest.expiresAt), core.now(), request.secure)],
        };
      },
    }),
    route({
      // The plan, each quota with what is left today, and what the plan allows at all.
      method: 'GET',
      path: '/api/usage',
      serves: 'tenant',
      auth: 'caller',
      responses: { 200: usageSchema },
      handle: async ({ domain }) => ({
        status: 200,
        body: await core.quotas.usage(domain),
      }),
    }),
  ];
}
