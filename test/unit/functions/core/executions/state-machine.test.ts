/**
 * The execution state machine (functions/core/executions/state-machine.ts), property-tested: the
 * lifecycle written out here independently is the specification; any sequence of attempted moves
 * and reports keeps a run inside it. The store applying the same rules is tested end to end in
 * test/integration/execution-state-machine.test.ts.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  attemptMove,
  EXECUTION_STATUSES,
  type ExecutionStatus,
  endOf,
  isTerminal,
  mayMove,
  REPORTABLE,
  refusedReport,
  sourcesOf,
} from '../../../../../functions/core/executions/state-machine.ts';

/** The lifecycle (docs/decisions/executions.md): where each status may go next. */
const ALLOWED: Readonly<Record<ExecutionStatus, readonly ExecutionStatus[]>> = {
  pending_approval: ['requested', 'rejected', 'cancelled', 'failed'],
  requested: ['queued', 'running', 'succeeded', 'failed', 'timed_out', 'cancelled'],
  queued: ['running', 'succeeded', 'failed', 'timed_out', 'cancelled'],
  running: ['succeeded', 'failed', 'timed_out', 'cancelled'],
  succeeded: [],
  failed: [],
  timed_out: [],
  rejected: [],
  cancelled: [],
};
const ENDS = ['succeeded', 'failed', 'timed_out', 'rejected', 'cancelled'];

const status = fc.constantFrom(...EXECUTION_STATUSES);
/** Where a run starts: waiting for approval, or queued (written so when it needs none). */
const first = fc.constantFrom<ExecutionStatus>('pending_approval', 'queued');

describe('the execution state machine', () => {
  it('moves only along the lifecycle, and the condition of each move names exactly its sources', () => {
    fc.assert(
      fc.property(status, status, (from, to) => {
        expect(mayMove(from, to)).toBe(ALLOWED[from].includes(to));
        expect(sourcesOf(to).includes(from)).toBe(ALLOWED[from].includes(to));
      }),
    );
  });

  it('never moves an ended run, never re-enters a status it left, and ends once at most', () => {
    fc.assert(
      fc.property(first, fc.array(status, { maxLength: 30 }), (start, attempts) => {
        let current = start;
        const taken = [current];
        for (const to of attempts) {
          const next = attemptMove(current, to);
          if (isTerminal(current)) expect(next).toBe(current);
          if (next !== current) {
            expect(ALLOWED[current]).toContain(next);
            expect(taken).not.toContain(next);
            taken.push(next);
          }
          current = next;
        }
        expect(taken.filter((taken) => ENDS.includes(taken)).length).toBeLessThanOrEqual(1);
        expect(isTerminal(current)).toBe(ENDS.includes(current));
      }),
    );
  });

  it('can end from every status a run may be in', () => {
    for (const from of EXECUTION_STATUSES) {
      const reached = new Set<ExecutionStatus>([from]);
      for (let round = 0; round < EXECUTION_STATUSES.length; round++) {
        for (const at of [...reached])
          for (const to of EXECUTION_STATUSES) if (mayMove(at, to)) reached.add(to);
      }
      expect([...reached].some(isTerminal), from).toBe(true);
    }
  });

  it('records a result only on a run that may take one, and recognises a replay by its report id', () => {
    const reportId = fc.option(fc.constantFrom('r-1', 'r-2'), { nil: undefined });
    fc.assert(
      fc.property(fc.option(status, { nil: null }), reportId, reportId, (current, ended, report) => {
        const run =
          current === null
            ? null
            : { status: current, ...(ended === undefined ? {} : { resultReportId: ended }) };
        const refused = refusedReport(run, report);
        if (current === null) expect(refused).toBe('unknown-run');
        else if (isTerminal(current))
          expect(refused).toBe(report !== undefined && ended === report ? 'replayed' : 'already-finished');
        else if (current === 'pending_approval') expect(refused).toBe('awaiting-approval');
        else {
          expect(refused).toBeNull();
          expect(REPORTABLE).toContain(current);
        }
      }),
    );
  });

  it('ends a run as its report says, unless the output was refused or no cancel was asked for', () => {
    fc.assert(
      fc.property(
        fc.constantFrom('succeeded', 'failed', 'timed_out', 'killed', 'cancelled' as const),
        fc.boolean(),
        fc.boolean(),
        (reported, outputRefused, cancelRequested) => {
          const end = endOf(reported, { outputRefused, cancelRequested });
          // Every end a report gives is one a reportable run may move to.
          for (const from of REPORTABLE) expect(mayMove(from, end)).toBe(true);
          if (reported === 'succeeded') expect(end).toBe(outputRefused ? 'failed' : 'succeeded');
          if (reported === 'cancelled') expect(end).toBe(cancelRequested ? 'cancelled' : 'failed');
          if (reported === 'failed' || reported === 'killed') expect(end).toBe('failed');
          if (reported === 'timed_out') expect(end).toBe('timed_out');
        },
      ),
    );
  });
});
