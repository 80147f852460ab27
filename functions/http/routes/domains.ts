/**
 * What the route files share: the shape of a JSON Schema body field, a label people read (a name, a
 * title), and the availability body.
 */
import * as z from 'zod';
import { isDisplayable, NOT_DISPLAYABLE_MESSAGE } from '../../contract/names.ts';
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
 * A label people read (a name, a title): trimmed, 1 to `max` characters, and none of the contract's
 * `NOT_DISPLAYABLE` (control characters, invisible and bidirectional formatting, line separators).
 */
export function displayText(max: number) {
  return z.string().trim().min(1).max(max).refine(isDisplayable, { message: NOT_DISPLAYABLE_MESSAGE });
}

/** The name of a Skill, a script, a template, a schedule or an HTTP resource. */
export const displayName = displayText(120);

/** Disable, archive or restore (`active`) a Skill, a script or an HTTP resource. */
export const stateBody = z.strictObject({
  state: z.enum(AVAILABILITY_STATES),
  reason: z.string().max(500).optional(),
});
