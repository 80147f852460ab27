/**
 * Keys of the coordination (claims) table that the dispatcher writes, partition key `jobId`: a
 * tenant's slots and wait list (`slots#<tenant>`) and each waiting job (`waits#<tenant>#<run>`). Job
 * claims (`<tenant>:<execution>`) never begin with either prefix.
 */

const SLOTS_PREFIX = 'slots#';
const WAITS_PREFIX = 'waits#';

/** The key attribute of the claims table. */
export const CLAIMS_KEY_NAME = 'jobId';

/** The key of a tenant's slots in the coordination (claims) table. */
export function slotsKey(tenantId: string): string {
  return `${SLOTS_PREFIX}${tenantId}`;
}

/** The key of a waiting job of a tenant in the coordination (claims) table. */
export function waitingJobKey(tenantId: string, executionId: string): string {
  return `${WAITS_PREFIX}${tenantId}#${executionId}`;
}

/**
 * The coordination table's keys that only the dispatcher writes (`LeadingKeys` patterns): every other
 * writer of the table (job claims) is refused them — in AWS by its role, locally by the Python ports.
 */
export const SLOT_KEY_PATTERNS = [`${SLOTS_PREFIX}*`, `${WAITS_PREFIX}*`] as const;

/** True for a key of the slots or the wait list (never a job's claim). */
export function isSlotKey(key: string): boolean {
  return key.startsWith(SLOTS_PREFIX) || key.startsWith(WAITS_PREFIX);
}
