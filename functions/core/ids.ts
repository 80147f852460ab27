/** Identifiers the core mints: prefixed random ids, and sort keys for version numbers. */
import { randomBytes } from 'node:crypto';

const ALPHABET = 'abcdefghijklmnopqrstuvwxyz0123456789';

/** `scr-` + 12 lowercase letters and digits (≈ 62 bits), e.g. `scr-k3j9x0q2m1ab`. */
export function randomId(prefix: string, length = 12): string {
  return `${prefix}-${[...randomBytes(length)].map((byte) => ALPHABET[byte % ALPHABET.length]).join('')}`;
}

/** A version or revision number as a sort key that orders numerically (`00000012`). */
export function ordinalKey(value: number): string {
  return String(value).padStart(8, '0');
}
