/**
 * When a tenant schedule fires: a cron expression (the five standard fields, in a time zone), a rate
 * (every n minutes, hours or days from when the schedule was enabled) or once (a local date and time
 * in a time zone). This module is their syntax; occurrences.ts computes when they fire (with croner),
 * the same in both wirings; `awsExpression` turns a timing into EventBridge Scheduler's
 * `cron(…)`/`rate(…)`/`at(…)` form, which has six fields, numbers Sunday 1 and cannot restrict both
 * day fields — so the accepted cron is the subset both understand: numbers, names, `*`, `?`, ranges,
 * lists, steps, and `L` (last day) in the day of month, with at most one of the two day fields
 * restricted.
 */
import { ValidationError } from '../errors.ts';

export const RATE_UNITS = ['minutes', 'hours', 'days'] as const;
export type RateUnit = (typeof RATE_UNITS)[number];

export type Timing =
  | { readonly kind: 'cron'; readonly expression: string }
  | { readonly kind: 'rate'; readonly every: number; readonly unit: RateUnit }
  | { readonly kind: 'once'; readonly at: string };

export const UNIT_MS: Readonly<Record<RateUnit, number>> = {
  minutes: 60_000,
  hours: 3_600_000,
  days: 86_400_000,
};
/** Largest rate step EventBridge Scheduler takes is bounded by this many units. */
export const MAX_RATE = 1000;
/** A local date and time for `once`: `YYYY-MM-DDTHH:MM` with optional `:SS`. */
export const LOCAL_DATE_TIME = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2}))?$/;
/** How far ahead `once` may be set. */
export const MAX_ONCE_AHEAD_MS = 5 * 366 * 86_400_000;

const MONTHS = ['JAN', 'FEB', 'MAR', 'APR', 'MAY', 'JUN', 'JUL', 'AUG', 'SEP', 'OCT', 'NOV', 'DEC'];
const DAYS = ['SUN', 'MON', 'TUE', 'WED', 'THU', 'FRI', 'SAT'];

interface FieldSpec {
  readonly name: string;
  readonly min: number;
  readonly max: number;
  readonly names?: readonly string[];
  /** Value of names[0] (1 for months, 0 for days). */
  readonly nameBase?: number;
}

const FIELDS: readonly FieldSpec[] = [
  { name: 'minute', min: 0, max: 59 },
  { name: 'hour', min: 0, max: 23 },
  { name: 'day of month', min: 1, max: 31 },
  { name: 'month', min: 1, max: 12, names: MONTHS, nameBase: 1 },
  // 0 and 7 are both Sunday, as in standard cron.
  { name: 'day of week', min: 0, max: 7, names: DAYS, nameBase: 0 },
];

export function invalid(message: string, path = 'timing.expression'): ValidationError {
  return new ValidationError(`Invalid schedule: ${message}`, [{ path, message }]);
}

function value(token: string, spec: FieldSpec): number {
  const upper = token.toUpperCase();
  const named = spec.names?.indexOf(upper) ?? -1;
  const number =
    named >= 0 ? named + (spec.nameBase ?? 0) : /^\d{1,2}$/.test(token) ? Number(token) : Number.NaN;
  if (!Number.isInteger(number) || number < spec.min || number > spec.max) {
    throw invalid(
      `${token} is not a valid ${spec.name} (${spec.min}-${spec.max}${spec.names ? ' or a name' : ''})`,
    );
  }
  return number;
}

/** The values one field selects, or null for "any" (`*` or `?`). */
function expand(field: string, spec: FieldSpec): Set<number> | null {
  if (field === '*' || field === '?') return null;
  const selected = new Set<number>();
  for (const part of field.split(',')) {
    const match = /^(\*|[A-Za-z0-9]+(?:-[A-Za-z0-9]+)?)(?:\/(\d{1,2}))?$/.exec(part);
    if (match === null) throw invalid(`"${part}" is not a valid ${spec.name}`);
    const [, range = '', stepText] = match;
    const step = stepText === undefined ? 1 : Number(stepText);
    if (step < 1) throw invalid(`a step in the ${spec.name} must be at least 1`);
    let low: number;
    let high: number;
    if (range === '*') {
      low = spec.min;
      high = spec.name === 'day of week' ? 6 : spec.max;
    } else if (range.includes('-')) {
      const [a = '', b = ''] = range.split('-');
      low = value(a, spec);
      high = value(b, spec);
      if (low > high) throw invalid(`the ${spec.name} range ${range} runs backwards`);
    } else {
      low = value(range, spec);
      high = stepText === undefined ? low : spec.name === 'day of week' ? 6 : spec.max;
    }
    for (let item = low; item <= high; item += step)
      selected.add(spec.name === 'day of week' ? item % 7 : item);
  }
  return selected;
}

export interface ParsedCron {
  readonly fields: readonly string[];
  readonly sets: readonly (Set<number> | null)[];
  readonly lastDay: boolean;
}

/** The five fields of a cron expression, checked: throws ValidationError naming what is wrong. */
export function parseCron(expression: string): ParsedCron {
  const fields = expression.trim().split(/\s+/);
  if (fields.length !== 5) {
    throw invalid('a cron expression has five fields: minute hour day-of-month month day-of-week');
  }
  const [, , dayOfMonth = '', , dayOfWeek = ''] = fields;
  if (dayOfMonth.includes('?') && dayOfMonth !== '?') throw invalid('? stands alone in a field');
  if (dayOfWeek.includes('?') && dayOfWeek !== '?') throw invalid('? stands alone in a field');
  for (const [index, field] of fields.entries()) {
    if (field === '?' && index !== 2 && index !== 4) throw invalid('? is allowed only in the day fields');
  }
  const lastDay = dayOfMonth === 'L';
  const sets = fields.map((field, index) =>
    index === 2 && lastDay ? null : expand(field, FIELDS[index] as FieldSpec),
  );
  const restrictedDom = lastDay || sets[2] !== null;
  if (restrictedDom && sets[4] !== null) {
    throw invalid('restrict the day of month or the day of week, not both (use * or ? in one of them)');
  }
  return { fields, sets, lastDay };
}

/** Whether `timezone` is an IANA time zone this runtime knows. */
export function isTimeZone(timezone: string): boolean {
  if (timezone.length === 0 || timezone.length > 64) return false;
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: timezone });
    return true;
  } catch {
    return false;
  }
}

function compress(values: readonly number[], spec: FieldSpec): string {
  const sorted = [...values].sort((a, b) => a - b);
  const runs: string[] = [];
  let start = sorted[0] as number;
  let previous = start;
  for (const item of [...sorted.slice(1), Number.NaN]) {
    if (item === previous + 1) {
      previous = item;
      continue;
    }
    runs.push(start === previous ? String(start) : `${start}-${previous}`);
    start = item;
    previous = item;
  }
  const list = runs.join(',');
  // An arithmetic progression to the end of the range is shorter as `start/step`.
  if (sorted.length > 2) {
    const step = (sorted[1] as number) - (sorted[0] as number);
    const progression =
      sorted.every((item, index) => item === (sorted[0] as number) + index * step) &&
      (sorted.at(-1) as number) + step > spec.max;
    if (progression && step > 1) return `${sorted[0]}/${step}`;
  }
  return list;
}

/** EventBridge Scheduler's expression for a timing (its time zone goes in ScheduleExpressionTimezone). */
export function awsExpression(timing: Timing): string {
  switch (timing.kind) {
    case 'rate':
      return `rate(${timing.every} ${timing.every === 1 ? timing.unit.slice(0, -1) : timing.unit})`;
    case 'once':
      return `at(${timing.at.length === 16 ? `${timing.at}:00` : timing.at})`;
    case 'cron': {
      const parsed = parseCron(timing.expression);
      const field = (index: number): string => {
        const set = parsed.sets[index];
        return set === null || set === undefined ? '*' : compress([...set], FIELDS[index] as FieldSpec);
      };
      const dayOfWeek = parsed.sets[4];
      const dow =
        dayOfWeek === null || dayOfWeek === undefined
          ? '?'
          : [...dayOfWeek]
              .sort((a, b) => a - b)
              .map((day) => DAYS[day])
              .join(',');
      const dom = dow !== '?' ? '?' : parsed.lastDay ? 'L' : field(2);
      return `cron(${field(0)} ${field(1)} ${dom} ${field(3)} ${dow} *)`;
    }
  }
}
