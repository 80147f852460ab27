/**
 * Where job claims are stored, as the cancelling side sees them: the claims table (`jobId` key). A
 * runtime claims a job (`<tenant>:<execution>`) there before it runs it, and acknowledges a job it
 * cannot claim without running it. So cancelling a run that waits in a queue claims its job first:
 * if the claim is ours, no worker will ever start it and the run can be closed as cancelled; if a
 * worker holds it already, the run is starting or running: the cancel is written on the worker's
 * claim (`stopRequested`), which the Python worker reads about once a second while the job runs,
 * and then kills the job.
 */
import type { Table } from '../db.ts';
import { putItem, updateItem } from '../store/conditional.ts';

export interface JobClaims {
  /** Claims `jobId` for nobody to run; false when someone (a worker) claimed it first. */
  claim(jobId: string, expiresAtEpoch: number): Promise<boolean>;
  /**
   * Asks the runtime holding `jobId` to stop it. False when nobody holds it (no claim): then no
   * runtime runs it.
   */
  requestStop(jobId: string): Promise<boolean>;
}

/** How long a cancel claim is kept: longer than any job can wait in a queue or its dead-letter queue. */
export const CANCEL_CLAIM_SECONDS = 15 * 24 * 3600;

/**
 * The repository of job claims on the claims table of the topology: every DynamoDB call on a job's
 * claim made by the cancelling side, one conditional request each (a claim or stop refused by its
 * condition is the answer `false`). The Python worker claims jobs on its own side.
 */
export class JobClaimRepository implements JobClaims {
  readonly #table: Table;

  constructor(table: Table) {
    this.#table = table;
  }

  claim(jobId: string, expiresAtEpoch: number): Promise<boolean> {
    return putItem(this.#table, {
      Item: { jobId, expiresAtEpoch, cancelled: true },
      ConditionExpression: 'attribute_not_exists(jobId)',
    });
  }

  async requestStop(jobId: string): Promise<boolean> {
    const stopped = await updateItem(this.#table, {
      Key: { jobId },
      UpdateExpression: 'SET stopRequested = :yes',
      ConditionExpression: 'attribute_exists(jobId)',
      ExpressionAttributeValues: { ':yes': true },
    });
    return stopped !== null;
  }
}
