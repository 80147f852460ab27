/**
 * The sign-up's limits and their configuration, apart from sign-up itself (signups.ts): the free
 * entry's function reads them at a cold start, so a bad value stops it there, and builds sign-up on
 * the first request that needs it (free-api/handler.ts).
 */

/** The sign-up's explicit limits (each refusal is a 429 saying when to try again). */
export interface SignupLimits {
  /** Sign-up attempts from one address (the viewer's IP) per hour. */
  readonly perAddressPerHour: number;
  /** Sign-up attempts for one email address per day. */
  readonly perEmailPerDay: number;
  /** Sign-up attempts for one handle per hour (squatting races, guessing). */
  readonly perHandlePerHour: number;
  /** Sign-up attempts across the whole platform per hour: a circuit breaker against floods. */
  readonly platformPerHour: number;
  /** Look-ups of a space by handle (the free entry's sign-in) from one address per hour. */
  readonly lookupsPerAddressPerHour: number;
}

export const DEFAULT_SIGNUP_LIMITS: SignupLimits = {
  perAddressPerHour: 5,
  perEmailPerDay: 3,
  perHandlePerHour: 10,
  platformPerHour: 300,
  lookupsPerAddressPerHour: 60,
};

/**
 * Sign-up limits from their configuration (JSON, any subset of SignupLimits); unset: the defaults.
 * A value that is not a whole number of at least 1 stops the function at start rather than
 * silently running without a limit.
 */
export function signupLimitsFrom(value: string | undefined): SignupLimits {
  if (value === undefined || value.trim() === '') return DEFAULT_SIGNUP_LIMITS;
  const parsed = JSON.parse(value) as Record<string, unknown>;
  const limits: Record<string, number> = { ...DEFAULT_SIGNUP_LIMITS };
  for (const [name, limit] of Object.entries(parsed)) {
    if (!(name in DEFAULT_SIGNUP_LIMITS)) throw new RangeError(`Unknown sign-up limit ${name}`);
    if (typeof limit !== 'number' || !Number.isInteger(limit) || limit < 1) {
      throw new RangeError(`Sign-up limit ${name} must be a whole number of at least 1`);
    }
    limits[name] = limit;
  }
  return limits as unknown as SignupLimits;
}
