/**
 * Local stand-in for EventBridge Scheduler: fires each schedule of the topology at its next UTC
 * occurrence and delivers the schedule's input as the event, as Scheduler's universal target does.
 * Supports `rate(n minutes|hours|days)` and `cron(min hour * * ? *)` with numbers, lists, `*` and
 * `*\/n` in the minute and hour fields — what the topology uses; anything else is refused at start.
 */
import type { ScheduleSpec } from '../topology.ts';
import type { LocalInvoke } from './lambda.ts';

export class UnsupportedScheduleError extends Error {
  constructor(expression: string) {
    super(`The local scheduler cannot run ${expression}`);
    this.name = 'UnsupportedScheduleError';
  }
}

type Matcher = (value: number) => boolean;

function field(spec: string, expression: string): Matcher {
  if (spec === '*') return () => true;
  const step = /^\*\/(\d+)$/.exec(spec);
  if (step) {
    const every = Number(step[1]);
    return (value) => value % every === 0;
  }
  if (/^\d+(,\d+)*$/.test(spec)) {
    const values = new Set(spec.split(',').map(Number));
    return (value) => values.has(value);
  }
  throw new UnsupportedScheduleError(expression);
}

/** The first occurrence of `expression` strictly after `after`. */
export function nextOccurrence(expression: string, after: Date): Date {
  const rate = /^rate\((\d+) (minute|minutes|hour|hours|day|days)\)$/.exec(expression);
  if (rate) {
    const unit = rate[2]?.startsWith('minute')
      ? 60_000
      : rate[2]?.startsWith('hour')
        ? 3_600_000
        : 86_400_000;
    return new Date(after.getTime() + Number(rate[1]) * unit);
  }
  const cron = /^cron\((\S+) (\S+) (\S+) (\S+) (\S+) (\S+)\)$/.exec(expression);
  if (!cron) throw new UnsupportedScheduleError(expression);
  const [, minute = '', hour = '', dayOfMonth, month, dayOfWeek, year] = cron;
  const anyDay = (value: string | undefined) => value === '*' || value === '?';
  if (!anyDay(dayOfMonth) || !anyDay(month) || !anyDay(dayOfWeek) || !anyDay(year)) {
    throw new UnsupportedScheduleError(expression);
  }
  const minuteMatches = field(minute, expression);
  const hourMatches = field(hour, expression);
  const candidate = new Date(after.getTime());
  candidate.setUTCSeconds(0, 0);
  for (let step = 0; step < 2 * 24 * 60; step++) {
    candidate.setTime(candidate.getTime() + 60_000);
    if (minuteMatches(candidate.getUTCMinutes()) && hourMatches(candidate.getUTCHours())) return candidate;
  }
  throw new UnsupportedScheduleError(expression);
}

export interface LocalScheduler {
  /** Fires a schedule now, as its timer would. */
  fire(name: string): Promise<unknown>;
  stop(): void;
}

export function startScheduler(
  schedules: readonly ScheduleSpec[],
  invoke: (schedule: ScheduleSpec) => LocalInvoke,
  onError: (schedule: ScheduleSpec, error: unknown) => void,
  now: () => Date = () => new Date(),
): LocalScheduler {
  const timers = new Map<string, NodeJS.Timeout>();
  let stopped = false;
  for (const schedule of schedules) nextOccurrence(schedule.expression, now());

  function arm(schedule: ScheduleSpec) {
    if (stopped) return;
    const delay = Math.max(0, nextOccurrence(schedule.expression, now()).getTime() - now().getTime());
    // Timers cannot wait longer than ~24.8 days; re-arm in steps.
    const timer = setTimeout(
      () => {
        invoke(schedule)({ ...schedule.input })
          .catch((error: unknown) => onError(schedule, error))
          .finally(() => arm(schedule));
      },
      Math.min(delay, 2 ** 31 - 1),
    );
    timer.unref();
    timers.set(schedule.name, timer);
  }

  for (const schedule of schedules) arm(schedule);
  return {
    fire(name) {
      const schedule = schedules.find((candidate) => candidate.name === name);
      if (schedule === undefined) return Promise.reject(new Error(`No schedule named ${name}`));
      return invoke(schedule)({ ...schedule.input });
    },
    stop() {
      stopped = true;
      for (const timer of timers.values()) clearTimeout(timer);
      timers.clear();
    },
  };
}
