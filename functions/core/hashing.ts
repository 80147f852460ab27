/**
 * SHA-256 as core uses it, in one place: the hex digest of a string's UTF-8 bytes (fingerprints,
 * content hashes, shard picks, the audit chain, and the hash stored for a secret), and the check of
 * a presented secret against the hash stored for it, in constant time.
 */
import { createHash, timingSafeEqual } from 'node:crypto';

/** The hex SHA-256 of a string's UTF-8 bytes. */
export function sha256(text: string): string {
  return createHash('sha256').update(text, 'utf8').digest('hex');
}

/** What a miss is compared against: as long as a stored hash, so a miss takes as long as a mismatch. */
const NO_HASH = '0'.repeat(64);

/**
 * Whether `secret` hashes to `storedHash` (hex, as `sha256` wrote it), compared in constant time.
 * With no stored hash (no such token, no lease) it still hashes and compares, against a hash nothing matches:
 * call it before deciding on the stored item, so a miss takes as long as a wrong secret.
 */
export function matchesSecretHash(secret: string, storedHash: string | null | undefined): boolean {
  const expected = Buffer.from(storedHash ?? NO_HASH, 'hex');
  const given = createHash('sha256').update(secret, 'utf8').digest();
  const same = expected.length === given.length && timingSafeEqual(expected, given);
  return same && typeof storedHash === 'string';
}
