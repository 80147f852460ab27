/**
 * The free entry's routes (free-api): the templates it offers, self-serve sign-up, and finding one's
 * space again — what a person does before they have a space. Anonymous, so every write proves it
 * comes from the free entry's own page (JSON only — no form can send it cross-site without a
 * preflight no one answers — and its `Origin`/`Sec-Fetch-Site`, when the browser sends them, name
 * this host). Its schemas are zod/mini: the free entry's function loads no classic zod at
 * init (docs/decisions/lambda-bundles.md; its OpenAPI chunk, loaded by the first request for the
 * document, does). The edition's other routes are in free.ts.
 */
import { isDisplayable, NOT_DISPLAYABLE_MESSAGE } from '../../contract/names.ts';
import { HANDOFF_BROWSER_COOKIE, HANDOFF_SECONDS, newBrowserBinding } from '../../core/free/handoffs.ts';
import type { FreeEntry } from '../../core/free/index.ts';
import { MAX_SIGNUP_TEMPLATES } from '../../core/free/signups.ts';
import { MAX_PASSWORD_LENGTH } from '../../core/identity/passwords.ts';
import { FREE_PLAN, planLimits } from '../../core/tenancy/plans.ts';
import * as z from '../../core/zod-mini.ts';
import { type Route, route } from '../router.ts';
import { assertFromThisOrigin, strictCookie } from '../session.ts';

const signupBody = z.strictObject({
  handle: z.string().check(z.minLength(1), z.maxLength(64)),
  email: z.email().check(z.maxLength(254)),
  password: z.string().check(z.minLength(1), z.maxLength(MAX_PASSWORD_LENGTH + 1)),
  // The space's name, shown to the platform's admins: a label like every other (empty: the handle).
  name: z.optional(
    z
      .string()
      .check(z.trim(), z.maxLength(80), z.refine(isDisplayable, { message: NOT_DISPLAYABLE_MESSAGE })),
  ),
  templates: z.optional(z.array(z.string().check(z.maxLength(64))).check(z.maxLength(MAX_SIGNUP_TEMPLATES))),
  source: z.optional(z.string().check(z.maxLength(200))),
  campaign: z.optional(z.string().check(z.maxLength(200))),
  referrer: z.optional(z.string().check(z.maxLength(253))),
});

/** A sign-up answers more than 4 KiB of nothing: its body is small. */
const SIGNUP_BODY_BYTES = 4096;

const offersSchema = z.object({
  items: z.array(z.object({ templateId: z.string(), name: z.string(), description: z.string() })),
  plan: z.looseObject({
    name: z.string(),
    runsPerDay: z.nullable(z.number()),
    skills: z.nullable(z.number()),
    schedules: z.nullable(z.number()),
    users: z.nullable(z.number()),
    scriptBytes: z.number(),
    httpAssets: z.boolean(),
  }),
});

const signupSchema = z
  .looseObject({
    tenantId: z.string(),
    handle: z.string(),
    host: z.string().check(z.meta({ description: "The personal space's own host" })),
    username: z.string(),
    plan: z.string(),
    leadId: z.string(),
    templates: z.array(z.object({ id: z.string(), name: z.string(), skillId: z.nullable(z.string()) })),
    handoff: z
      .object({ token: z.string(), expiresAt: z.string() })
      .check(
        z.meta({ description: 'Signs the new owner in on the space host, once (POST /api/auth/handoff)' }),
      ),
  })
  .check(z.meta({ id: 'Signup' }));

/**
 * The cookie binding a handoff to this browser: set by the free entry on its own domain, so the
 * browser sends it to the new space's host (under that domain) and only to the handoff route.
 */
function handoffBindingCookie(browser: string, freeHost: string, secure: boolean): string {
  return strictCookie(HANDOFF_BROWSER_COOKIE, browser, HANDOFF_SECONDS, secure, {
    domain: freeHost,
    path: '/api/auth/handoff',
  });
}

/** The free entry's routes: what a person does before they have a space. */
export function freeEntryRoutes(free: FreeEntry): Route[] {
  return [
    route({
      // What the sign-up form offers: the templates to pre-install, and the plan's limits.
      method: 'GET',
      path: '/api/free/offers',
      serves: 'free',
      auth: 'anonymous',
      responses: { 200: offersSchema },
      handle: async () => {
        const limits = planLimits(FREE_PLAN);
        return {
          status: 200,
          body: {
            items: (await free.offers.list()).map(({ templateId, name, description }) => ({
              templateId,
              name,
              description,
            })),
            plan: {
              name: FREE_PLAN,
              runsPerDay: limits.runsPerDay,
              skills: limits.skills,
              schedules: limits.schedules,
              users: limits.users,
              scriptBytes: limits.scriptBytes,
              httpAssets: limits.httpAssets,
            },
          },
        };
      },
    }),
    route({
      method: 'POST',
      path: '/api/free/signups',
      serves: 'free',
      auth: 'anonymous',
      body: signupBody,
      maxBodyBytes: SIGNUP_BODY_BYTES,
      responses: { 201: signupSchema },
      handle: async ({ domain: entry, request }) => {
        // Only the free entry's own page signs people up (no cross-site form, no other origin).
        assertFromThisOrigin(request.headers, entry);
        // The handoff into the new space works only in this browser (see handoffs.ts).
        const browser = newBrowserBinding();
        const result = await free.signups.signUp(entry, request.body, {
          sourceIp: request.sourceIp,
          requestId: request.requestId,
          browser,
        });
        return {
          status: 201,
          body: result,
          cookies: [handoffBindingCookie(browser, entry.host, request.secure)],
        };
      },
    }),
    route({
      // Sign-in starts here: which host a handle's space lives on (then its own sign-in page).
      method: 'GET',
      path: '/api/free/spaces/{handle}',
      serves: 'free',
      auth: 'anonymous',
      responses: { 200: z.object({ handle: z.string(), host: z.string() }) },
      handle: async ({ domain, request }) => ({
        status: 200,
        body: await free.signups.lookup(domain, request.params.handle ?? '', request.sourceIp),
      }),
    }),
  ];
}
