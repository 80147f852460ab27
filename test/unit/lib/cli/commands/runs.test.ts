/**
 * How the CLI says how long a run took (`execfabric run`'s "succeeded in …", the TOOK column of
 * `execfabric runs`): most script runs take milliseconds, which "0.0s" hid.
 */
import { describe, expect, it } from 'vitest';
import { took } from '../../../../../lib/cli/commands/runs.ts';

const createdAt = '2026-12-03T00:19:14.386Z';

describe('took', () => {
  it('gives milliseconds under a second', () => {
    expect(
      took({ createdAt, startedAt: '2026-12-03T00:19:14.420Z', finishedAt: '2026-12-03T00:19:14.430Z' }),
    ).toBe('10 ms');
    expect(took({ createdAt, startedAt: createdAt, finishedAt: createdAt })).toBe('0 ms');
  });

  it('gives seconds from one second on, and counts from the request when the run never started', () => {
    expect(
      took({ createdAt, startedAt: '2026-12-03T00:19:14.420Z', finishedAt: '2026-12-03T00:19:16.870Z' }),
    ).toBe('2.5s');
    expect(took({ createdAt, finishedAt: '2026-12-03T00:19:15.386Z' })).toBe('1.0s');
  });

  it('is empty while the run has not finished', () => {
    expect(took({ createdAt, startedAt: createdAt })).toBe('');
  });
});
