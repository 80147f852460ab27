/**
 * Keys of the governance items, all in the public partition and all built on `itemKey` from the
 * core's key module: customers, their tenant links and ledgers, orders, scan state and platform
 * announcement idempotency keys. Nothing else in the governance module writes a key string.
 */
import { itemKey, type Key, TAG, typePrefix } from '../keys.ts';
import type { PublicContext } from '../tenancy/domain.ts';

/** The public domain as the platform's own jobs (scans, fan-outs) address it. */
export const PUBLIC_DOMAIN: PublicContext = { kind: 'public', host: 'system', surface: 'governance' };

const CUSTOMER = TAG.customer;
const CUSTOMER_TENANT = TAG.customerTenant;
const LEDGER = TAG.ledger;
const ORDER = TAG.order;
const SCAN_STATE = TAG.scanState;
const ANNOUNCEMENT_KEY = TAG.platformAnnouncementKey;
const PLATFORM_ANNOUNCEMENT = TAG.platformAnnouncement;

export function customerKey(customerId: string): Key {
  return itemKey(PUBLIC_DOMAIN, CUSTOMER, customerId);
}

export const CUSTOMER_PREFIX = typePrefix(CUSTOMER);

export function customerTenantKey(customerId: string, tenantId: string): Key {
  return itemKey(PUBLIC_DOMAIN, CUSTOMER_TENANT, customerId, tenantId);
}

export function customerTenantPrefix(customerId: string): string {
  return `${typePrefix(CUSTOMER_TENANT)}${customerId}#`;
}

/** Ledger entries sort by their (stable) moment, then id, inside the customer's range. */
export function ledgerKey(customerId: string, at: string, entryId: string): Key {
  return itemKey(PUBLIC_DOMAIN, LEDGER, customerId, at, entryId);
}

export function ledgerPrefix(customerId: string): string {
  return `${typePrefix(LEDGER)}${customerId}#`;
}

export function orderKey(orderId: string): Key {
  return itemKey(PUBLIC_DOMAIN, ORDER, orderId);
}

export const ORDER_PREFIX = typePrefix(ORDER);

export function scanStateKey(scan: string): Key {
  return itemKey(PUBLIC_DOMAIN, SCAN_STATE, scan);
}

export function announcementKeyKey(idempotencyKey: string): Key {
  return itemKey(PUBLIC_DOMAIN, ANNOUNCEMENT_KEY, idempotencyKey);
}

/** A platform announcement as written in the public domain (copies live in each tenant's partition). */
export function platformAnnouncementKey(announcementId: string): Key {
  return itemKey(PUBLIC_DOMAIN, PLATFORM_ANNOUNCEMENT, announcementId);
}

export const PLATFORM_ANNOUNCEMENT_PREFIX = typePrefix(PLATFORM_ANNOUNCEMENT);
