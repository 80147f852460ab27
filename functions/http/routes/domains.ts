/** What the route files share: the shape of a JSON Schema body field, and the availability body. */
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

/** Disable, archive or restore (`active`) a Skill, a script or an HTTP resource. */
export const stateBody = z.strictObject({
  state: z.enum(AVAILABILITY_STATES),
  reason: z.string().max(500).optional(),
});
