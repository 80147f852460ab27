/** How long a password may be: checked by the platform on every password it sets, offered by the fronts. */
export const MIN_PASSWORD_LENGTH = 10;
export const MAX_PASSWORD_LENGTH = 256;

/**
 * The problem `type` slug (after PROBLEM_TYPE_PREFIX) of the 401 for a session that ended for a
 * reason its holder may be told, with that reason in `reason`; every other dead credential gets the
 * plain `unauthenticated` one.
 */
export const SESSION_ENDED_PROBLEM = 'session-ended';

/** Why a session ended, as its 401 says it: its user's password changed after it began. */
export type SessionEndReason = 'password-changed';

/** What the API says of each ending (the problem's `detail`), and the sign-in pages show. */
export const SESSION_END_DETAIL: Readonly<Record<SessionEndReason, string>> = {
  'password-changed': 'You were signed out because your password was changed. Sign in with the new password.',
};
