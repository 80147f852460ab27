/** What `execfabric approve|reject` prints: how many approvals a run still waits for, or where it went. */
import { describe, expect, it } from 'vitest';
import { decidedLine } from '../../../../lib/cli/commands/runs.ts';
import type { RemoteRun } from '../../../../lib/cli/remote.ts';

const run = (fields: Record<string, unknown>): RemoteRun =>
  ({
    id: 'ex-1',
    skillId: 'sk-1',
    skillName: 'Wire money',
    input: {},
    asset: { kind: 'script', id: 'scr-1', version: 1 },
    requestedBy: 'bob',
    createdAt: '2026-12-05T00:00:00.000Z',
    ...fields,
  }) as RemoteRun;

describe('decidedLine', () => {
  it('counts the approvals a run still waits for (it said "it is now pending_approval")', () => {
    const waiting = run({ status: 'pending_approval', approvals: [{ by: 'alice' }], approvalsRequired: 2 });
    expect(decidedLine('approve', 'ex-1', waiting)).toBe(
      'Approved ex-1: 1 of 2 approvals; it waits for 1 more.',
    );
    const three = run({ status: 'pending_approval', approvals: [{ by: 'alice' }], approvalsRequired: 3 });
    expect(decidedLine('approve', 'ex-1', three)).toBe(
      'Approved ex-1: 1 of 3 approvals; it waits for 2 more.',
    );
  });

  it('says where a decided run went', () => {
    expect(decidedLine('approve', 'ex-1', run({ status: 'queued' }))).toBe(
      'Approved ex-1: it is now queued.',
    );
    expect(decidedLine('reject', 'ex-1', run({ status: 'rejected' }))).toBe(
      'Rejected ex-1: it is now rejected.',
    );
  });

  it('still reads as a sentence when the counts are missing', () => {
    expect(decidedLine('approve', 'ex-1', run({ status: 'pending_approval' }))).toBe(
      'Approved ex-1: it still waits for approval.',
    );
  });
});
