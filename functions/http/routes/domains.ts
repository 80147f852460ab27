/** What the route files share: the shape of a JSON Schema body field, a display name, and the availability body. */
import * as z from 'zod';
import { AVAILABILITY_STATES } from '../../core/availability.ts';
import { isJsonObject } from '../../core/json.ts';

/**
 * A JSON Schema as a request carries it (checked for real by the catalogue's schema module). Kept as
 * parsed — a zod record would rebuild it and drop a `__proto__` key.
 */
export const jsonSchemaField = z
  .custom<Record<string, unknown> | boolean>((value) => typeof value === 'boolean' || isJsonObject(value), {
    message: 'must be a JSON Schema: an object or a boolean',
  })
  .meta({
    description: 'A JSON Schema (2020-12): an object or a boolean',
    override: { type: ['object', 'boolean'] },
  });

/**
 * Control characters (C0, DEL, C1) and the bidirectional overrides and isolates: no name needs them,
 * and printed as they are they drive a terminal (colours, titles, links: a name shown by the CLI to
 * another admin) or reorder what a reader sees.
 */
const NOT_DISPLAYABLE = /[\p{Cc}\u202a-\u202e\u2066-\u2069]/u;

/** The name of a Skill, a script, a template, a schedule or an HTTP resource: a label people read. */
export const displayName = z
  .string()
  .trim()
  .min(1)
  .max(120)
  .refine((name) => !NOT_DISPLAYABLE.test(name), {
    message: 'must not contain control characters or bidirectional overrides',
  });

/** Disable, archive or restore (`active`) a Skill, a script or an HTTP resource. */
export const stateBody = z.strictObject({
  state: z.enum(AVAILABILITY_STATES),
  reason: z.string().max(500).optional(),
});
