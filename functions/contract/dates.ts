/**
 * How an instant is written for a person: the API's sentences (a notice's deadline, a quota's reset)
 * and the fronts' notification cards around them use this one format, so a reader never sees the
 * same moment written two ways on one card.
 */

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/**
 * An instant as a person reads it in a sentence, the same for every reader whatever their locale:
 * `2026-12-08T03:31:50.059Z` → `8 Dec 2026, 03:31 UTC`. Null when it is not an instant.
 */
export function readableUtc(value: string): string | null {
  const time = Date.parse(value);
  if (Number.isNaN(time)) return null;
  const date = new Date(time);
  const hours = String(date.getUTCHours()).padStart(2, '0');
  const minutes = String(date.getUTCMinutes()).padStart(2, '0');
  return `${date.getUTCDate()} ${MONTHS[date.getUTCMonth()]} ${date.getUTCFullYear()}, ${hours}:${minutes} UTC`;
}
