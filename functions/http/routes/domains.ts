/** What the route files share: narrowing a request's domain, and the shape of a JSON Schema body field. */
import * as z from 'zod';
import { AVAILABILITY_STATES } from '../../core/availability.ts';
import { NotFoundError } from '../../core/errors.ts';
import { isJsonObject } from '../../core/json.ts';
import type { DomainContext, PublicContext, TenantContext } from '../../core/tenancy/domain.ts';

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

/** The tenant domain of a tenant-only route; anything else has no such thing (404). */
export function tenantOf(domain: DomainContext, what: string): TenantContext {
  if (domain.kind !== 'tenant') throw new NotFoundError(`No ${what} in this domain`);
  return domain;
}

/** The public domain of a governance-only route; anything else has no such thing (404). */
export function publicOf(domain: DomainContext, what: string): PublicContext {
  if (domain.kind !== 'public') throw new NotFoundError(`No ${what} in this domain`);
  return domain;
}

/** Disable, archive or restore (`active`) a Skill, a script or an HTTP resource. */
export const stateBody = z.strictObject({
  state: z.enum(AVAILABILITY_STATES),
  reason: z.string().max(500).optional(),
});
