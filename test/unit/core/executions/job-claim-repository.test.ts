/**
 * The job claim repository against a real local claims table (dynalite) through the real SDK
 * client: a claim is taken once, whoever comes second (a worker, or a second cancel) is answered
 * `false`; a stop request lands only on a claim someone holds, and never creates one — a stop
 * request that made a claim would keep a worker from ever starting the job without closing its run.
 */
import { GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import { beforeAll, describe, expect, it } from 'vitest';
import type { Table } from '../../../../functions/core/db.ts';
import { JobClaimRepository } from '../../../../functions/core/executions/job-claim-repository.ts';
import { localTable } from '../../../support/unit-table.ts';

const localStore = localTable('claims');
let table: Table;
let claims: JobClaimRepository;
const LATER = Math.floor(Date.parse('2030-01-01T00:00:00.000Z') / 1000);

async function claimItem(jobId: string): Promise<Record<string, unknown> | undefined> {
  const result = await table.client.send(
    new GetCommand({ TableName: table.name, Key: { jobId }, ConsistentRead: true }),
  );
  return result.Item;
}

beforeAll(() => {
  table = localStore();
  claims = new JobClaimRepository(table);
});

describe('JobClaimRepository', () => {
  it('claims a job once: a second claim is refused as false and leaves the first as it was', async () => {
    expect(await claims.claim('t1:ex-once', LATER)).toBe(true);
    expect(await claims.claim('t1:ex-once', LATER + 60)).toBe(false);
    expect(await claimItem('t1:ex-once')).toEqual({
      jobId: 't1:ex-once',
      expiresAtEpoch: LATER,
      cancelled: true,
    });
  });

  it('does not take a job a worker holds', async () => {
    await table.client.send(
      new PutCommand({
        TableName: table.name,
        Item: { jobId: 't1:ex-held', worker: 'w1', expiresAtEpoch: LATER },
      }),
    );
    expect(await claims.claim('t1:ex-held', LATER)).toBe(false);
    expect((await claimItem('t1:ex-held'))?.cancelled).toBeUndefined();
  });

  it('writes a stop request on a held claim only; with no claim it answers false and creates none', async () => {
    expect(await claims.requestStop('t1:ex-nobody')).toBe(false);
    expect(await claimItem('t1:ex-nobody')).toBeUndefined();

    expect(await claims.claim('t1:ex-stop', LATER)).toBe(true);
    expect(await claims.requestStop('t1:ex-stop')).toBe(true);
    expect((await claimItem('t1:ex-stop'))?.stopRequested).toBe(true);
    // Idempotent: asking again is still an answer, not a fault.
    expect(await claims.requestStop('t1:ex-stop')).toBe(true);
  });
});
