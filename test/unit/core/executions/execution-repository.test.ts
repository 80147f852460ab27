/**
 * The execution repository against a real local store (dynalite) through the real SDK client: a
 * run id is written once, a move from a status the run is not in changes nothing, an ended run
 * leaves the inbox and the index of unfinished runs, an approver votes once, an idempotency key is
 * held by the first request until it expires, a log chunk is written once, an item the store cannot
 * hold is RunNotStorableError — and a run history cursor of another tenant or outside the listing's
 * range is refused before any read.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import type { Table } from '../../../../functions/core/db.ts';
import { ConflictError, ValidationError } from '../../../../functions/core/errors.ts';
import {
  ExecutionExistsError,
  ExecutionRepository,
  RunNotStorableError,
  VoteCastError,
} from '../../../../functions/core/executions/execution-repository.ts';
import type { Execution } from '../../../../functions/core/executions/executions.ts';
import { newExecutionId } from '../../../../functions/core/executions/requests.ts';
import type { TenantContext } from '../../../../functions/core/tenancy/domain.ts';
import { localTable } from '../../../support/unit-table.ts';

const localStore = localTable();
let table: Table;
let runs: ExecutionRepository;

function tenant(id: string): TenantContext {
  return {
    kind: 'tenant',
    host: '',
    tenant: { id, name: id, status: 'active', plan: 'standard', expiresAt: '2030-01-01T00:00:00.000Z' },
  };
}

const ACME = tenant('acme');
const GLOBEX = tenant('globex');
let clock = Date.parse('2026-03-01T00:00:00.000Z');

function run(status: Execution['status'], overrides: Partial<Execution> = {}): Execution {
  clock += 1000;
  const now = new Date(clock);
  return {
    id: newExecutionId(now),
    tenantId: 'acme',
    skillId: 'echo',
    skillName: 'Echo',
    skillRevision: 1,
    status,
    input: { n: 1 },
    inputHash: 'h',
    asset: { kind: 'script', id: 'echo', version: 1, sha256: 'x' },
    limits: { timeoutSeconds: 30, memoryMb: 128 },
    requestedBy: 'alice',
    createdAt: now.toISOString(),
    deadline: new Date(clock + 60_000).toISOString(),
    approvalsRequired: status === 'pending_approval' ? 1 : 0,
    ...overrides,
  };
}

async function pendingIds(): Promise<string[]> {
  const ids: string[] = [];
  for await (const item of runs.pendingApprovals(ACME)) ids.push(item.id);
  return ids;
}

beforeAll(() => {
  table = localStore();
  runs = new ExecutionRepository(table);
});

describe('ExecutionRepository', () => {
  it('writes a run id once: a second write is ExecutionExistsError (a 409) and changes nothing', async () => {
    const first = run('queued');
    await runs.create(ACME, first);
    const again = runs.create(ACME, { ...first, requestedBy: 'mallory' });
    await expect(again).rejects.toBeInstanceOf(ExecutionExistsError);
    await expect(again).rejects.toBeInstanceOf(ConflictError);
    expect((await runs.find(ACME, first.id))?.requestedBy).toBe('alice');
    expect(await runs.find(GLOBEX, first.id)).toBeNull();
  });

  it('moves a run only from the statuses it may leave, and an ended run leaves both indexes', async () => {
    const pending = run('pending_approval');
    await runs.create(ACME, pending);
    expect(await pendingIds()).toContain(pending.id);
    expect(await runs.move(ACME, pending.id, { to: 'running', from: ['queued'], set: {} })).toBeNull();
    expect(await runs.status(ACME, pending.id)).toBe('pending_approval');
    const closed = await runs.move(ACME, pending.id, {
      to: 'rejected',
      from: ['pending_approval'],
      set: { finishedAt: new Date(clock).toISOString() },
      leaves: 'all',
    });
    expect(closed?.status).toBe('rejected');
    expect(await pendingIds()).not.toContain(pending.id);
    const overdue: string[] = [];
    for await (const item of runs.overdue(new Date('2100-01-01T00:00:00.000Z'))) overdue.push(item.id);
    expect(overdue).not.toContain(pending.id);
    // A move that names what the run must hold applies only where it holds it.
    const queued = run('queued');
    await runs.create(ACME, queued);
    const where = { to: 'running' as const, from: ['queued' as const], set: {}, where: { skillRevision: 2 } };
    expect(await runs.move(ACME, queued.id, where)).toBeNull();
    expect((await runs.move(ACME, queued.id, { ...where, where: { skillRevision: 1 } }))?.status).toBe(
      'running',
    );
  });

  it('refuses what the store cannot hold as RunNotStorableError', async () => {
    const queued = run('queued');
    await runs.create(ACME, queued);
    const move = runs.move(ACME, queued.id, {
      to: 'succeeded',
      from: ['queued'],
      set: { outputJson: 'x'.repeat(420 * 1024) },
      leaves: 'all',
    });
    await expect(move).rejects.toBeInstanceOf(RunNotStorableError);
    expect(await runs.status(ACME, queued.id)).toBe('queued');
  });

  it('records a cancel request only on a run a runtime may hold', async () => {
    const queued = run('queued');
    await runs.create(ACME, queued);
    expect((await runs.requestCancel(ACME, queued.id, 'now', 'bob'))?.cancelRequestedBy).toBe('bob');
    const ended = run('failed');
    await runs.create(ACME, ended);
    expect(await runs.requestCancel(ACME, ended.id, 'now', 'bob')).toBeNull();
    expect(await runs.requestCancel(GLOBEX, queued.id, 'now', 'bob')).toBeNull();
  });

  it('counts each approver once', async () => {
    const vote = { approver: 'carol', decision: 'approve' as const, comment: '', admin: false, at: 'now' };
    await runs.castVote(ACME, 'ex-vote', vote);
    const again = runs.castVote(ACME, 'ex-vote', { ...vote, decision: 'reject' });
    await expect(again).rejects.toBeInstanceOf(VoteCastError);
    expect(await runs.votes(ACME, 'ex-vote')).toEqual([vote]);
    expect(await runs.votes(GLOBEX, 'ex-vote')).toEqual([]);
  });

  it('holds an idempotency key for its first request until it expires', async () => {
    expect(await runs.claimIdempotency(ACME, 'k1', 'ex-first', 'f1', 100, 200)).toEqual({ won: true });
    expect(await runs.claimIdempotency(ACME, 'k1', 'ex-second', 'f2', 150, 250)).toEqual({
      won: false,
      held: { executionId: 'ex-first', fingerprint: 'f1' },
    });
    expect(await runs.claimIdempotency(ACME, 'k1', 'ex-third', 'f3', 201, 300)).toEqual({ won: true });
  });

  it('writes each log chunk once and reads them after a sequence number', async () => {
    const chunk = { seq: 1, stream: 'stdout' as const, text: 'one', at: 'now' };
    expect(await runs.putLogChunk(ACME, 'ex-log', chunk)).toBe(true);
    expect(await runs.putLogChunk(ACME, 'ex-log', { ...chunk, text: 'forged' })).toBe(false);
    expect(await runs.putLogChunk(ACME, 'ex-log', { ...chunk, seq: 2, text: 'two' })).toBe(true);
    expect(await runs.logChunks(ACME, 'ex-log', 0, 1)).toEqual({ chunks: [chunk], more: true });
    expect((await runs.logChunks(ACME, 'ex-log', 1, 10)).chunks.map((item) => item.text)).toEqual(['two']);
  });

  it('pages the run history newest first, and refuses a cursor of another tenant or range', async () => {
    const all = { lower: 'ex-', upper: 'ex-~' };
    const first = await runs.page(ACME, all, 2);
    expect(first.items).toHaveLength(2);
    expect(first.items[0]?.id.localeCompare(first.items[1]?.id ?? '')).toBe(1);
    const cursor = first.cursor as string;
    const second = await runs.page(ACME, all, 2, cursor);
    expect(second.items.map((item) => item.id)).not.toContain(first.items[0]?.id);
    await expect(runs.page(GLOBEX, all, 2, cursor)).rejects.toBeInstanceOf(ValidationError);
    const after = { lower: 'ex-~', upper: 'ex-~~' };
    await expect(runs.page(ACME, after, 2, cursor)).rejects.toBeInstanceOf(ValidationError);
    const byStatus = await runs.page(ACME, { ...all, status: 'queued' }, 10);
    expect(byStatus.items.every((item) => item.status === 'queued')).toBe(true);
    await expect(runs.page(ACME, { ...all, status: 'queued' }, 2, cursor)).rejects.toBeInstanceOf(
      ValidationError,
    );
  });
});
