/**
 * The per-tenant wait list of the script dispatcher: a job of a tenant whose slots are all held
 * waits on the list (./slots.ts) instead of on the queue, and starts as soon as one of its tenant's
 * jobs ends — the dispatcher that ran that job hands the freed slot to the longest-waiting run and
 * sends its job back to the queue with no delay (a "wake" message), so the wait is one release and
 * one queue hop, not a redelivery delay of a second or more.
 *
 * The queue stays the safety net. Joining the list also sends a delayed copy of the job (a new
 * message, so waiting never counts toward the dead-letter limit); each copy that comes back reads
 * where its run stands: still listed (it takes a free slot, else it waits again), handed a slot (its
 * wake message runs it; the copy waits again), stranded (handed a slot by a dispatcher that died
 * before waking it, or left on no list: the copy runs it) or gone (it ran: the copy is dropped). A
 * duplicate start is refused by the worker's claim, as any duplicate delivery is.
 *
 * What proves an entry genuine: the list lives in the coordination table, which the dispatcher, the
 * worker (its claims) and the tenant API (cancel claims) may write — no tenant code holds a
 * credential for it. Whatever is read from it is still checked as a message from outside would be:
 * a job leaves the list only if its MAC verifies under the jobs key and it names the list's tenant
 * and run; anything else is refused as a security event, its slot given back and its entry deleted.
 * The wake message is verified again by the dispatcher that takes it, and by the worker.
 */
import { SendMessageCommand, type SQSClient } from '@aws-sdk/client-sqs';
import type { SQSRecord } from 'aws-lambda';
import { MAC_ATTRIBUTE } from '../messages/signing.ts';
import type { TenantSlots, WaitingJob } from './slots.ts';

/** Attribute counting how often a job went back to the queue to wait (a plain or a listed copy). */
export const DEFERRALS_ATTRIBUTE = 'execfabric-deferrals';
/**
 * Attribute of a listed job's messages: `copy` (the delayed safety net) or `woken` (sent by the
 * release that handed it a slot). Unsigned, as the deferral count: it only chooses which checks run
 * first, and the worst a wrong value does is one start the worker's claim refuses.
 */
export const LISTED_ATTRIBUTE = 'execfabric-listed';
/** The longest a plain deferred job (a throttled worker) sleeps on the queue before it is tried again. */
export const MAX_DEFER_SECONDS = 5;
/** A listed job's safety-net copy first comes back after this, then after each multiple up to the max. */
export const LISTED_COPY_STEP_SECONDS = 5;
export const MAX_LISTED_COPY_SECONDS = 30;
/** The lease of a slot handed to a listed run until its wake message's dispatcher takes it. */
export const HANDOFF_LEASE_SECONDS = 30;

/** What the list needs of a verified job. */
export interface ListedJob {
  readonly tenantId: string;
  readonly executionId: string;
  /** The tenant's cap as the job was signed with it. */
  readonly concurrency: number;
}

/** The part of the message signer the list uses. */
export interface JobVerifier {
  verify(label: 'job', body: string, signature: string | undefined): boolean;
}

export interface WaitListOptions {
  readonly slots: TenantSlots;
  readonly sqs: SQSClient;
  /** The script queue. */
  readonly queueUrl: string;
  readonly signer: JobVerifier;
  /** Reports a job refused from the list (a security event), or a wake that failed. */
  readonly warn: (message: string, fields: Record<string, unknown>) => void;
}

/** What the dispatcher does with a verified job: run it now (its slot is held), or nothing more. */
export type Admission = 'run' | 'waiting' | 'done';

function attribute(record: SQSRecord, name: string): string | undefined {
  return record.messageAttributes[name]?.stringValue;
}

export class TenantWaitList {
  readonly #slots: TenantSlots;
  readonly #sqs: SQSClient;
  readonly #queueUrl: string;
  readonly #signer: JobVerifier;
  readonly #warn: WaitListOptions['warn'];

  constructor(options: WaitListOptions) {
    this.#slots = options.slots;
    this.#sqs = options.sqs;
    this.#queueUrl = options.queueUrl;
    this.#signer = options.signer;
    this.#warn = options.warn;
  }

  /**
   * Takes a slot for the job (`run`), or puts it on its tenant's wait list (`waiting`), or finds that
   * it already ran from the list (`done`). Only `run` asks the caller to start it and then `finish`.
   */
  async admit(record: SQSRecord, job: ListedJob, leaseSeconds: number): Promise<Admission> {
    const { tenantId, executionId, concurrency } = job;
    const listed = attribute(record, LISTED_ATTRIBUTE);
    // A copy delivered again (its dispatcher failed: the worker must see it to report the attempt
    // lost) is taken as a new job; a copy on its first delivery asks where its run stands.
    if (listed === 'copy' && Number(record.attributes.ApproximateReceiveCount ?? '1') <= 1) {
      switch (await this.#slots.waitState(tenantId, executionId)) {
        case 'gone':
          return 'done';
        case 'waiting':
          if (await this.#slots.takeFromList(tenantId, executionId, concurrency, leaseSeconds)) return 'run';
          await this.#copy(record);
          return 'waiting';
        case 'held':
          await this.#copy(record);
          return 'waiting';
        case 'stranded':
          break; // taken as a new job below
      }
    }
    // A new job's entry, if this call writes one and the job then runs or waits unlisted, is deleted.
    let entered = false;
    const forgetEntry = async () => {
      if (entered && listed === undefined) await this.#slots.forget(tenantId, executionId);
    };
    for (let attempt = 0; attempt < 3; attempt++) {
      if (await this.#slots.acquire(tenantId, executionId, concurrency, leaseSeconds)) {
        await forgetEntry();
        return 'run';
      }
      const waiting: WaitingJob = {
        executionId,
        body: record.body,
        mac: attribute(record, MAC_ATTRIBUTE),
        group: record.attributes.MessageGroupId,
      };
      entered = true;
      if (await this.#slots.wait(tenantId, waiting, concurrency)) {
        // A new job starts its copy going round, and a copy sends the next one; a woken job's copy is
        // still going round.
        if (listed !== 'woken') await this.#copy(record);
        return 'waiting';
      }
      // A slot was freed between the two: take it.
    }
    await forgetEntry();
    await this.defer(record);
    return 'waiting';
  }

  /**
   * After the job ran (whatever its outcome): gives its slot back, hands it to the tenant's
   * longest-waiting run and wakes that run's job; deletes the job's own list entry if it had one.
   */
  async finish(record: SQSRecord, job: ListedJob): Promise<void> {
    const { tenantId, executionId, concurrency } = job;
    // Its entry goes first: a copy that finds neither entry nor slot knows the job ran.
    if (attribute(record, LISTED_ATTRIBUTE) !== undefined) await this.#slots.forget(tenantId, executionId);
    let next = await this.#slots.release(tenantId, executionId, {
      cap: concurrency,
      leaseSeconds: HANDOFF_LEASE_SECONDS,
    });
    // A refused entry's slot is given back at once, which may hand it to the next one (a few at most).
    for (let refused = 0; next !== null && refused < 3; refused++) {
      if (this.#genuine(next, tenantId)) {
        await this.#wake(next, tenantId);
        return;
      }
      await this.#slots.forget(tenantId, next.executionId);
      next = await this.#slots.release(tenantId, next.executionId, {
        cap: concurrency,
        leaseSeconds: HANDOFF_LEASE_SECONDS,
      });
    }
  }

  /**
   * Puts a job back on the queue, unchanged, to be tried again shortly (a throttled worker). It goes
   * back as a plain job: whatever list entry it had is deleted by `finish`, so its copy is dropped.
   */
  async defer(record: SQSRecord): Promise<void> {
    const deferrals = Number(attribute(record, DEFERRALS_ATTRIBUTE) ?? 0) + 1;
    await this.#send(record.body, attribute(record, MAC_ATTRIBUTE), record.attributes.MessageGroupId, {
      delaySeconds: Math.min(MAX_DEFER_SECONDS, deferrals),
      deferrals,
      listed: undefined,
    });
  }

  /** A listed job's safety-net copy: back after 5 s, then 10 s… up to MAX_LISTED_COPY_SECONDS. */
  async #copy(record: SQSRecord): Promise<void> {
    const deferrals = Number(attribute(record, DEFERRALS_ATTRIBUTE) ?? 0) + 1;
    await this.#send(record.body, attribute(record, MAC_ATTRIBUTE), record.attributes.MessageGroupId, {
      delaySeconds: Math.min(MAX_LISTED_COPY_SECONDS, LISTED_COPY_STEP_SECONDS * deferrals),
      deferrals,
      listed: 'copy',
    });
  }

  /** True when a job read from the list is one the platform signed, for this tenant and this run. */
  #genuine(job: WaitingJob, tenantId: string): boolean {
    let named: { tenantId?: unknown; executionId?: unknown } | null = null;
    if (this.#signer.verify('job', job.body, job.mac)) {
      try {
        named = JSON.parse(job.body) as { tenantId?: unknown; executionId?: unknown };
      } catch {
        named = null;
      }
    }
    if (named?.tenantId === tenantId && named.executionId === job.executionId) return true;
    this.#warn('Refused a waiting job that is not a genuine job of its list', {
      securityEvent: 'message-refused',
      tenantId,
      executionId: job.executionId,
    });
    return false;
  }

  async #wake(job: WaitingJob, tenantId: string): Promise<void> {
    try {
      await this.#send(job.body, job.mac, job.group, { delaySeconds: 0, deferrals: 0, listed: 'woken' });
    } catch (error) {
      // Its copy finds it handed a slot, and runs it once that lease has run out.
      this.#warn('Could not wake a waiting job', { tenantId, executionId: job.executionId, error });
    }
  }

  async #send(
    body: string,
    mac: string | undefined,
    group: string | undefined,
    options: { delaySeconds: number; deferrals: number; listed: 'copy' | 'woken' | undefined },
  ): Promise<void> {
    const attributes: Record<string, { DataType: string; StringValue: string }> = {};
    if (mac !== undefined) attributes[MAC_ATTRIBUTE] = { DataType: 'String', StringValue: mac };
    if (options.deferrals > 0)
      attributes[DEFERRALS_ATTRIBUTE] = { DataType: 'Number', StringValue: String(options.deferrals) };
    if (options.listed !== undefined)
      attributes[LISTED_ATTRIBUTE] = { DataType: 'String', StringValue: options.listed };
    await this.#sqs.send(
      new SendMessageCommand({
        QueueUrl: this.#queueUrl,
        MessageBody: body,
        DelaySeconds: options.delaySeconds,
        MessageAttributes: attributes,
        ...(group === undefined ? {} : { MessageGroupId: group }),
      }),
    );
  }
}
