/**
 * Password hashing with scrypt (memory-hard, from node:crypto). The stored form names its
 * parameters, so they can be raised later without breaking existing hashes. A verification against
 * a missing user runs against a dummy hash, so failures take the same time whether or not the user
 * exists.
 */
import { randomBytes, type ScryptOptions, scrypt, timingSafeEqual } from 'node:crypto';

/** N = 2^15, r = 8, p = 1: 32 MiB and ~50-100 ms per hash on a Lambda-class core. */
const DEFAULT = { N: 2 ** 15, r: 8, p: 1 } as const;
const KEY_LENGTH = 32;

export { MAX_PASSWORD_LENGTH, MIN_PASSWORD_LENGTH } from '../../contract/identity.ts';

function derive(password: string, salt: Buffer, options: ScryptOptions): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    scrypt(
      password,
      salt,
      KEY_LENGTH,
      { ...options, maxmem: 256 * (options.N ?? DEFAULT.N) * (options.r ?? DEFAULT.r) },
      (error, key) => (error ? reject(error) : resolve(key)),
    );
  });
}

export async function hashPassword(password: string): Promise<string> {
  const salt = randomBytes(16);
  const key = await derive(password, salt, DEFAULT);
  return [
    'scrypt',
    DEFAULT.N,
    DEFAULT.r,
    DEFAULT.p,
    salt.toString('base64url'),
    key.toString('base64url'),
  ].join('$');
}

let dummy: Promise<string> | undefined;

/** True when `password` matches `stored`; with `stored` undefined, burns the same time and says no. */
export async function verifyPassword(password: string, stored: string | undefined): Promise<boolean> {
  if (stored === undefined && dummy === undefined) dummy = hashPassword(randomBytes(16).toString('hex'));
  const encoded = stored ?? (await (dummy as Promise<string>));
  const [scheme, n, r, p, salt, key] = encoded.split('$');
  if (scheme !== 'scrypt' || salt === undefined || key === undefined) return false;
  const expected = Buffer.from(key, 'base64url');
  const actual = await derive(password, Buffer.from(salt, 'base64url'), {
    N: Number(n),
    r: Number(r),
    p: Number(p),
  });
  return stored !== undefined && actual.length === expected.length && timingSafeEqual(actual, expected);
}
