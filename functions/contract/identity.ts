/** How long a password may be: checked by the platform on every password it sets, offered by the fronts. */
export const MIN_PASSWORD_LENGTH = 10;
export const MAX_PASSWORD_LENGTH = 256;
