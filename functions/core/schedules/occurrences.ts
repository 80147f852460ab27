/**
 * When a tenant schedule fires (timing.ts holds what a timing is and its syntax): its occurrences,
 * computed with croner (time zones and daylight-saving changes included), and the checks that need
 * them (a cron's shortest interval, a one-time schedule's instant). Loaded on first use
 * (schedules.ts imports it dynamically): croner stays out of the tenant API's cold start, which
 * mostly serves requests that never compute a time.
 */

import { Cron } from 'croner';
import { counted } from '../../contract/wording.ts';
import {
  invalid,
  isTimeZone,
  LOCAL_DATE_TIME,
  MAX_ONCE_AHEAD_MS,
  MAX_RATE,
  parseCron,
  RATE_UNITS,
  type Timing,
  UNIT_MS,
} from './timing.ts';

function croner(expression: string, timezone: string): Cron {
  // `?` means "any" here (croner would read it as "now"); at most one day field is restricted.
  const pattern = expression
    .trim()
    .split(/\s+/)
    .map((field) => (field === '?' ? '*' : field))
    .join(' ');
  // `sloppyRanges` lets croner read `start/step` (as EventBridge does); `parseCron` checked the syntax.
  return new Cron(pattern, { timezone, mode: '5-part', paused: true, sloppyRanges: true });
}

/** The instant a local date-time in a time zone stands for. */
export function instantOf(localDateTime: string, timezone: string): Date {
  const match = LOCAL_DATE_TIME.exec(localDateTime);
  if (match === null) throw invalid('at is a local date and time, YYYY-MM-DDTHH:MM[:SS]', 'timing.at');
  const [year, month, day, hour, minute, second] = match
    .slice(1)
    .map((part) => Number(part ?? 0)) as number[] as [number, number, number, number, number, number];
  const date = new Date(Date.UTC(year, month - 1, day, hour, minute, second));
  if (
    date.getUTCMonth() !== month - 1 ||
    date.getUTCDate() !== day ||
    hour > 23 ||
    minute > 59 ||
    second > 59
  ) {
    throw invalid('at is not a valid date and time', 'timing.at');
  }
  let instant: Date | null;
  try {
    instant = new Cron(`${localDateTime.length === 16 ? `${localDateTime}:00` : localDateTime}`, {
      timezone,
      paused: true,
    }).nextRun(new Date(0));
  } catch {
    instant = null;
  }
  if (instant === null) throw invalid('at is not a valid date and time', 'timing.at');
  return instant;
}

/**
 * Checks a timing: its syntax, its time zone, and that two fires are at least `minMinutes` apart
 * (the plan's shortest interval). Throws ValidationError.
 */
export function validateTiming(timing: Timing, timezone: string, minMinutes: number, now: Date): void {
  if (!isTimeZone(timezone)) {
    throw invalid(`${timezone} is not a known IANA time zone (e.g. Europe/Paris, UTC)`, 'timezone');
  }
  switch (timing.kind) {
    case 'cron': {
      parseCron(timing.expression);
      let runs: Date[];
      try {
        runs = croner(timing.expression, timezone).nextRuns(48, now);
      } catch (error) {
        throw invalid((error as Error).message.replace(/^CronPattern: /, ''));
      }
      if (runs.length === 0) throw invalid('the expression never fires');
      for (let index = 1; index < runs.length; index++) {
        const gap = (runs[index] as Date).getTime() - (runs[index - 1] as Date).getTime();
        if (gap < minMinutes * 60_000) {
          throw invalid(
            `fires more often than every ${counted(minMinutes, 'minute')}, the shortest interval this plan allows`,
          );
        }
      }
      return;
    }
    case 'rate': {
      if (!Number.isInteger(timing.every) || timing.every < 1 || timing.every > MAX_RATE) {
        throw invalid(`every is an integer from 1 to ${MAX_RATE}`, 'timing.every');
      }
      if (!RATE_UNITS.includes(timing.unit))
        throw invalid(`unit is one of ${RATE_UNITS.join(', ')}`, 'timing.unit');
      if (timing.every * UNIT_MS[timing.unit] < minMinutes * 60_000) {
        throw invalid(
          `fires more often than every ${counted(minMinutes, 'minute')}, the shortest interval this plan allows`,
          'timing.every',
        );
      }
      return;
    }
    case 'once': {
      const at = instantOf(timing.at, timezone);
      if (at.getTime() <= now.getTime()) throw invalid('at is in the past', 'timing.at');
      if (at.getTime() - now.getTime() > MAX_ONCE_AHEAD_MS)
        throw invalid('at is more than five years ahead', 'timing.at');
      return;
    }
  }
}

/**
 * The first `count` occurrences strictly after `after`. A rate counts from `anchor` (when the
 * schedule was last enabled or changed).
 */
export function occurrences(
  timing: Timing,
  timezone: string,
  anchor: Date,
  after: Date,
  count: number,
): Date[] {
  switch (timing.kind) {
    case 'cron':
      return croner(timing.expression, timezone).nextRuns(count, after);
    case 'rate': {
      const step = timing.every * UNIT_MS[timing.unit];
      const elapsed = after.getTime() - anchor.getTime();
      const first = elapsed < 0 ? 1 : Math.floor(elapsed / step) + 1;
      return Array.from({ length: count }, (_, index) => new Date(anchor.getTime() + (first + index) * step));
    }
    case 'once': {
      const at = instantOf(timing.at, timezone);
      return at.getTime() > after.getTime() && count > 0 ? [at] : [];
    }
  }
}

export function nextOccurrence(timing: Timing, timezone: string, anchor: Date, after: Date): Date | null {
  return occurrences(timing, timezone, anchor, after, 1)[0] ?? null;
}

/** Occurrences in `(from, to]`, counted (at most `cap`). */
export function countBetween(
  timing: Timing,
  timezone: string,
  anchor: Date,
  from: Date,
  to: Date,
  cap = 10_000,
): number {
  let count = 0;
  let cursor = from;
  while (count < cap) {
    const next = nextOccurrence(timing, timezone, anchor, cursor);
    if (next === null || next.getTime() > to.getTime()) break;
    count++;
    cursor = next;
  }
  return count;
}
