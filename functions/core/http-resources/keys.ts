/**
 * Keys of HTTP resource items, built on `itemKey` from the core's key module: the resource in the
 * public partition (configuration, grants, credential state — never a value) and, in each granted
 * tenant's partition, an index item so the tenant lists its grants without reading the others.
 */
import { PUBLIC_DOMAIN } from '../governance/keys.ts';
import { itemKey, type Key, TAG, typePrefix } from '../keys.ts';
import type { TenantContext } from '../tenancy/domain.ts';

const RESOURCE = TAG.httpResource;
const GRANT = TAG.httpGrant;

export function resourceKey(resourceId: string): Key {
  return itemKey(PUBLIC_DOMAIN, RESOURCE, resourceId);
}

export const RESOURCE_PREFIX = typePrefix(RESOURCE);

export function grantKey(domain: TenantContext, resourceId: string): Key {
  return itemKey(domain, GRANT, resourceId);
}

export const GRANT_PREFIX = typePrefix(GRANT);
