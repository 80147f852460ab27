/** The events the lifecycle-scan function takes: a scheduled (or operator's) scan, or the one-time bootstrap. */
import * as z from 'zod';
import { SCAN_NAMES } from '../core/governance/lifecycle.ts';

export const scanEvent = z.strictObject({
  scan: z.enum(SCAN_NAMES),
  now: z.iso.datetime({ offset: true }).optional(),
});

/** An operator's one-time request for the first super-admin (docs/deploy.md, "The first deploy"). */
export const bootstrapEvent = z.strictObject({
  bootstrap: z.strictObject({ username: z.string().min(2).max(63) }),
});

export const lifecycleEvent = z.union([scanEvent, bootstrapEvent]);
