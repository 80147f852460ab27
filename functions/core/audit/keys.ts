/**
 * Keys of a domain's audit chain, all in the domain's own partition: its entries
 * (`AUDIT#<at>#<suffix>`, in time order), its seals (`SEAL#<seq, 12 digits>`, in sequence order), its
 * head (`AUDITHEAD`, naming the newest seal) and the claims of keyed facts (`AUDITKEY#<key hash>`,
 * naming the entry that records the fact; outside the entries' range, so never sealed or listed). Entries of a category (security events) are also in
 * a sparse GSI1 partition of the domain (`<domain partition>#AUDIT#<category>`); every entry is in
 * the filter indexes by actor, target and action (keys.ts `FILTER_INDEXES`).
 */
import { AUDIT_ENTRY_PREFIX, INDEX, type Key, TAG, typePrefix } from '../keys.ts';

/** The sort-key prefix of every entry, and the lower bound of the entries' range. */
export const ENTRY_PREFIX = AUDIT_ENTRY_PREFIX;

/** The sort-key prefix of every seal. */
export const SEAL_PREFIX = typePrefix(TAG.auditSeal);

/** `~` sorts after every character an entry id or a seal number holds: the end of a range. */
export const RANGE_END = '~';

/** The index a category's entries are listed in. */
export const CATEGORY_INDEX = INDEX.listing;

export function entrySk(id: string): string {
  return `${ENTRY_PREFIX}${id}`;
}

export function sealSk(seq: number): string {
  return `${SEAL_PREFIX}${String(seq).padStart(12, '0')}`;
}

export function headKey(pk: string): Key {
  return { PK: pk, SK: TAG.auditHead };
}

/** The claim of a keyed fact: the entry that records it (`keyHash` is the SHA-256 of the fact's key). */
export function factClaimKey(pk: string, keyHash: string): Key {
  return { PK: pk, SK: `${typePrefix(TAG.auditKey)}${keyHash}` };
}

/** The GSI1 partition of a category's entries of a domain. */
export function categoryPartition(pk: string, category: string): string {
  return `${pk}#${TAG.audit}#${category}`;
}
