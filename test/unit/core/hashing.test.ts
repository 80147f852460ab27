/**
 * The one SHA-256 helper of core: the hex digest every module stores and compares, and the check of
 * a presented secret against a stored hash — only the secret that was hashed matches; a missing
 * hash (no such token, no lease), an all-zero one (what a miss is compared against), a truncated or
 * non-hex one never match, whatever is presented.
 */
import { createHash } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { matchesSecretHash, sha256 } from '../../../functions/core/hashing.ts';

describe('sha256', () => {
  it('is the hex digest of the UTF-8 bytes', () => {
    expect(sha256('')).toBe('e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855');
    expect(sha256('é')).toBe(createHash('sha256').update(Buffer.from('é', 'utf8')).digest('hex'));
  });
});

describe('matchesSecretHash', () => {
  it('matches the secret that was hashed, and no other', () => {
    fc.assert(
      fc.property(fc.string(), fc.string(), (secret, other) => {
        expect(matchesSecretHash(secret, sha256(secret))).toBe(true);
        if (other !== secret) expect(matchesSecretHash(other, sha256(secret))).toBe(false);
      }),
    );
  });

  it('never matches without a usable stored hash', () => {
    for (const stored of [undefined, null, '', '0'.repeat(64), sha256('s').slice(0, 62), 'zz'.repeat(32)]) {
      expect(matchesSecretHash('s', stored)).toBe(false);
      expect(matchesSecretHash('', stored)).toBe(false);
    }
  });
});
