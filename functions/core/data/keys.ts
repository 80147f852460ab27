/**
 * Keys of a tenant's extension data, built on `itemKey` from the core's key module, always in the
 * tenant's own partition: collection definitions (`DATACOL#<name>`), records
 * (`DATA#<collection>#<key>`, so a collection's records — and a key prefix within it — are one
 * `begins_with` range that can never reach another collection: names hold no `#`) and the tenant's
 * usage counters (`DATAUSAGE`).
 */
import { itemKey, type Key, TAG, typePrefix } from '../keys.ts';
import type { TenantContext } from '../tenancy/domain.ts';

const COLLECTION = TAG.dataCollection;
const RECORD = TAG.dataRecord;
const USAGE = TAG.dataUsage;

export function collectionKey(domain: TenantContext, name: string): Key {
  return itemKey(domain, COLLECTION, name);
}

export const COLLECTION_PREFIX = typePrefix(COLLECTION);

export function recordKey(domain: TenantContext, collection: string, key: string): Key {
  return itemKey(domain, RECORD, collection, key);
}

/** The sort-key prefix of a collection's records whose keys start with `keyPrefix`. */
export function recordPrefix(domain: TenantContext, collection: string, keyPrefix = ''): string {
  return `${itemKey(domain, RECORD, collection).SK}#${keyPrefix}`;
}

export function usageKey(domain: TenantContext): Key {
  return itemKey(domain, USAGE);
}
