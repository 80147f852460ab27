/** The events the lifecycle-scan function takes: a scheduled (or operator's) scan, or the one-time bootstrap. */

import { SCAN_NAMES } from '../core/governance/lifecycle.ts';
import * as z from '../core/zod-mini.ts';

export const scanEvent = z.strictObject({
  scan: z.enum(SCAN_NAMES),
  now: z.optional(z.iso.datetime({ offset: true })),
});

/** An operator's one-time request for the first super-admin (docs/deploy.md, "The first deploy"). */
export const bootstrapEvent = z.strictObject({
  bootstrap: z.strictObject({ username: z.string().check(z.minLength(2), z.maxLength(63)) }),
});

export const lifecycleEvent = z.union([scanEvent, bootstrapEvent]);
