/**
 * Keys of the free edition's items, all built on the core key module: its leads (one partition,
 * newest last, with two sparse filter indexes), the templates it offers to new personal spaces,
 * its rate-limit counters, and the one-time sign-in handoffs kept in each personal space's own
 * partition. Nothing else in the free module writes a key string.
 */
import { freePk, INDEX, itemKey, type Key, TAG } from '../keys.ts';
import type { TenantContext } from '../tenancy/domain.ts';

/** The partition of every lead: the sort key is the lead's time-ordered id. */
export const LEADS_PARTITION = freePk('LEADS');

export function leadKey(leadId: string): Key {
  return { PK: LEADS_PARTITION, SK: leadId };
}

/** GSI3: leads of one source; GSI4: leads of one status (both sorted by lead id). */
export const LEAD_INDEXES = { source: INDEX.filter3, status: INDEX.filter4 } as const;

export function leadsBySource(source: string): string {
  return freePk('LEADS', 'S', source);
}

export function leadsByStatus(status: string): string {
  return freePk('LEADS', 'T', status);
}

/** The templates offered to every new personal space: one item per template. */
export const OFFERS_PARTITION = freePk('OFFERS');

export function offerKey(templateId: string): Key {
  return { PK: OFFERS_PARTITION, SK: templateId };
}

/** One fixed window of one rate rule for one (hashed) subject. */
export function freeRateKey(rule: string, subjectDigest: string, window: number): Key {
  return { PK: freePk('RATE', rule, subjectDigest), SK: String(window) };
}

/** A one-time sign-in handoff, in the personal space's own partition. */
export function handoffKey(domain: TenantContext, handoffId: string): Key {
  return itemKey(domain, TAG.handoff, handoffId);
}
