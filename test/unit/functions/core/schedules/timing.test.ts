/**
 * Schedule timing: cron in a time zone (daylight-saving changes included), rates from their anchor,
 * one-time fires in local time; validation with the field named; the plan's shortest interval; and
 * the EventBridge Scheduler form of each — its cron checked against croner's own reading of it (AWS
 * numbers Sunday 1 and has six fields) for every day of week, step and list form (fast-check).
 */
import { Cron } from 'croner';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ValidationError } from '../../../../../functions/core/errors.ts';
import {
  instantOf,
  occurrences,
  validateTiming,
} from '../../../../../functions/core/schedules/occurrences.ts';
import { awsExpression, type Timing } from '../../../../../functions/core/schedules/timing.ts';

const NOW = new Date('2025-03-27T12:00:00Z');
const iso = (dates: Date[]) => dates.map((date) => date.toISOString());

function refusal(timing: Timing, timezone = 'UTC', minMinutes = 1): { path: string; message: string } {
  try {
    validateTiming(timing, timezone, minMinutes, NOW);
  } catch (error) {
    expect(error).toBeInstanceOf(ValidationError);
    return (error as ValidationError).issues[0] as { path: string; message: string };
  }
  throw new Error(`accepted ${JSON.stringify(timing)}`);
}

describe('cron', () => {
  it('fires at local times across a daylight-saving change', () => {
    const timing: Timing = { kind: 'cron', expression: '0 9 * * *' };
    expect(iso(occurrences(timing, 'Europe/Paris', NOW, NOW, 4))).toEqual([
      '2025-03-28T08:00:00.000Z',
      '2025-03-29T08:00:00.000Z',
      '2025-03-30T07:00:00.000Z', // summer time from 30 March
      '2025-03-31T07:00:00.000Z',
    ]);
  });

  it('reads day names, ranges, steps, 7 as Sunday and L as the last day of the month', () => {
    expect(iso(occurrences({ kind: 'cron', expression: '0 0 * * 7' }, 'UTC', NOW, NOW, 1))).toEqual([
      '2025-03-30T00:00:00.000Z',
    ]);
    expect(iso(occurrences({ kind: 'cron', expression: '0 0 L * ?' }, 'UTC', NOW, NOW, 2))).toEqual([
      '2025-03-31T00:00:00.000Z',
      '2025-04-30T00:00:00.000Z',
    ]);
    expect(iso(occurrences({ kind: 'cron', expression: '*/20 8 ? * MON-FRI' }, 'UTC', NOW, NOW, 4))).toEqual([
      '2025-03-28T08:00:00.000Z',
      '2025-03-28T08:20:00.000Z',
      '2025-03-28T08:40:00.000Z',
      '2025-03-31T08:00:00.000Z',
    ]);
  });

  it('refuses what EventBridge cannot run, naming the field', () => {
    expect(refusal({ kind: 'cron', expression: '0 9 * *' }).path).toBe('timing.expression');
    expect(refusal({ kind: 'cron', expression: '0 9 1 * MON' }).message).toMatch(/not both/);
    expect(refusal({ kind: 'cron', expression: '0 25 * * *' }).message).toMatch(/hour/);
    expect(refusal({ kind: 'cron', expression: '0 9 * * 5-2' }).message).toMatch(/backwards/);
    expect(refusal({ kind: 'cron', expression: '? 9 * * *' }).message).toMatch(/day fields/);
    expect(refusal({ kind: 'cron', expression: '0 9 1W * ?' }).path).toBe('timing.expression');
    expect(refusal({ kind: 'cron', expression: '0 9 * * *' }, 'Nowhere/Else').path).toBe('timezone');
  });

  it('holds the plan’s shortest interval', () => {
    expect(refusal({ kind: 'cron', expression: '*/5 * * * *' }, 'UTC', 15).message).toMatch(/15 minute/);
    expect(() => validateTiming({ kind: 'cron', expression: '*/15 * * * *' }, 'UTC', 15, NOW)).not.toThrow();
    expect(refusal({ kind: 'rate', every: 10, unit: 'minutes' }, 'UTC', 15).path).toBe('timing.every');
    expect(() => validateTiming({ kind: 'rate', every: 1, unit: 'hours' }, 'UTC', 15, NOW)).not.toThrow();
  });
});

describe('rate and once', () => {
  it('counts a rate from its anchor, whatever the time asked from', () => {
    const anchor = new Date('2025-03-27T11:59:30Z');
    const timing: Timing = { kind: 'rate', every: 1, unit: 'minutes' };
    expect(iso(occurrences(timing, 'UTC', anchor, NOW, 2))).toEqual([
      '2025-03-27T12:00:30.000Z',
      '2025-03-27T12:01:30.000Z',
    ]);
    expect(iso(occurrences(timing, 'UTC', anchor, new Date('2025-03-27T11:00:00Z'), 1))).toEqual([
      '2025-03-27T12:00:30.000Z',
    ]);
  });

  it('reads a one-time fire in its time zone, once', () => {
    expect(instantOf('2025-07-01T09:00', 'America/New_York').toISOString()).toBe('2025-07-01T13:00:00.000Z');
    const timing: Timing = { kind: 'once', at: '2025-07-01T09:00:30' };
    expect(iso(occurrences(timing, 'UTC', NOW, NOW, 3))).toEqual(['2025-07-01T09:00:30.000Z']);
    expect(occurrences(timing, 'UTC', NOW, new Date('2025-08-01T00:00:00Z'), 3)).toEqual([]);
    expect(refusal({ kind: 'once', at: '2025-03-27T11:00' }).message).toMatch(/past/);
    expect(refusal({ kind: 'once', at: '2035-03-27T11:00' }).message).toMatch(/five years/);
    expect(refusal({ kind: 'once', at: '2025-13-01T00:00' }).path).toBe('timing.at');
  });
});

describe('the EventBridge Scheduler form', () => {
  it('writes rates, one-time fires and cron in Scheduler’s own syntax', () => {
    expect(awsExpression({ kind: 'rate', every: 1, unit: 'minutes' })).toBe('rate(1 minute)');
    expect(awsExpression({ kind: 'rate', every: 6, unit: 'hours' })).toBe('rate(6 hours)');
    expect(awsExpression({ kind: 'once', at: '2025-07-01T09:00' })).toBe('at(2025-07-01T09:00:00)');
    expect(awsExpression({ kind: 'cron', expression: '0 9 * * 1-5' })).toBe(
      'cron(0 9 ? * MON,TUE,WED,THU,FRI *)',
    );
    expect(awsExpression({ kind: 'cron', expression: '*/15 * * * *' })).toBe('cron(0/15 * * * ? *)');
    expect(awsExpression({ kind: 'cron', expression: '0 0 L * ?' })).toBe('cron(0 0 L * ? *)');
    expect(awsExpression({ kind: 'cron', expression: '30 2 1,15 JAN-MAR *' })).toBe(
      'cron(30 2 1,15 1-3 ? *)',
    );
    expect(awsExpression({ kind: 'cron', expression: '0 0 * * 0,7' })).toBe('cron(0 0 ? * SUN *)');
  });

  /** Occurrences of an AWS cron, read by croner after mapping Sunday-1 day numbers back. */
  function awsOccurrences(expression: string, count: number): string[] {
    const fields = /^cron\((.*)\)$/.exec(expression)?.[1]?.split(' ') ?? [];
    const [minute, hour, dom, month, dow] = fields;
    const croner = [minute, hour, dom === '?' ? '*' : dom, month, dow === '?' ? '*' : dow].join(' ');
    return iso(
      new Cron(croner, { timezone: 'UTC', mode: '5-part', paused: true, sloppyRanges: true }).nextRuns(
        count,
        NOW,
      ),
    );
  }

  it('keeps the same fire times (fast-check over minutes, hours, days of week and steps)', () => {
    const part = (max: number, min = 0) =>
      fc.oneof(
        fc.constant('*'),
        fc.integer({ min, max }).map(String),
        fc
          .tuple(fc.integer({ min, max }), fc.integer({ min, max }))
          .map(([a, b]) => `${Math.min(a, b)}-${Math.max(a, b)}`),
        fc.integer({ min: 2, max: Math.max(2, Math.floor(max / 2)) }).map((step) => `*/${step}`),
        fc
          .uniqueArray(fc.integer({ min, max }), { minLength: 2, maxLength: 4 })
          .map((values) => values.join(',')),
      );
    fc.assert(
      fc.property(part(59), part(23), part(7), (minute, hour, dow) => {
        const expression = `${minute} ${hour} * * ${dow}`;
        const ours = iso(occurrences({ kind: 'cron', expression }, 'UTC', NOW, NOW, 6));
        expect(awsOccurrences(awsExpression({ kind: 'cron', expression }), 6)).toEqual(ours);
      }),
      { numRuns: 300 },
    );
  });
});
