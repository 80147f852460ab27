/**
 * Wake-ups for requests that wait on a run's end (`Prefer: wait`, MCP tool calls: `Executions.settle`),
 * within one process. When a run reaches its end here — the recorder stored a verified result, a
 * cancel or a sweep closed it — the store's accepted write is followed by `ended(tenant, run)`, and a
 * waiter on that tenant's run stops pausing and reads the run at once. Where the run ends in another
 * process (the recorder is another Lambda function), no wake-up comes and the waiter's own reads,
 * spaced as before, find the end: a wake-up only ever makes a read sooner, never replaces it.
 *
 * A wake-up may carry the ended run as the store returned it from the accepted end write (the
 * update's ALL_NEW item): the woken request then answers with it instead of reading it again, so its
 * answer does not wait for a read behind the recorder's own writes. The waiter takes it only if it
 * is that tenant's run, of that id, and ended (Executions.settle); anything else — a wake-up
 * without a run, or with a run that does not match — means "read again": the woken request reads
 * the stored run with its own tenant's context, so a wake-up for the wrong key costs one read and
 * can show no other run's state. Keys are a tenant id and a run id together, and nothing outside
 * this process's JavaScript can call `ended` (a tenant's script runs in another process, with no
 * network, behind the worker's relays). A run carried is the item right after its end: an ended
 * run's item is not written again (late log chunks are items of their own), so it is what a read
 * would find, without the read.
 *
 * Where this process records every run's end itself — the local platform, whose recorder, sweeps and
 * API all run in its one process — it says so (`recordedHere`), and a waiter's own reads become a
 * backstop, SETTLE_MAX_POLL_MS apart from the first: a short run then costs its waiter one read.
 *
 * A run that ends between the waiter's last read and the start of its wait is remembered: the last
 * few thousand ends, each with a sequence number (not the run), so a waiter that read before that
 * end is woken at once — and reads it — and one that read after it is not woken by it again.
 *
 * A waiter costs this process a held request and a read every SETTLE_MAX_POLL_MS, and a tenant can
 * open any number of them (replaying one Idempotency-Key waits on one run without making another):
 * 800 held by one tenant kept another tenant's waited run from answering for seconds. So a tenant
 * holds at most MAX_WAITS_PER_TENANT waits here at once (`hold`); a wait beyond them is not waited,
 * and its request is answered as one whose time ran out, with the run as it stands.
 */
import { HeldCounts } from '../held-counts.ts';
import type { Execution } from './model.ts';

/** Ends remembered for waiters that start waiting just after the end (oldest forgotten first). */
export const REMEMBERED_ENDS = 4096;
/** Waits one tenant may hold at once in one process; a wait beyond them answers at once. */
export const MAX_WAITS_PER_TENANT = 32;

type Sleep = (ms: number) => Promise<void>;

/** What a wait ends with: the ended run when its end woke the waiter with it, else nothing (read it). */
export type Woken = Execution | undefined;

function keyOf(tenantId: string, executionId: string): string {
  return JSON.stringify([tenantId, executionId]);
}

export class RunEnds {
  readonly #waiters = new Map<string, Set<(run: Woken) => void>>();
  /** Key → sequence number of its end, oldest first. */
  readonly #recent = new Map<string, number>();
  readonly #remember: number;
  /** Tenant id → waits it holds now (see `hold`). */
  readonly #held = new HeldCounts();
  #sequence = 0;
  #recorders = 0;

  constructor(remember = REMEMBERED_ENDS) {
    this.#remember = Math.max(1, remember);
  }

  /**
   * Every run's end is stored by this process (its recorder, sweeps and API run here), until the
   * returned function is called.
   */
  recordedHere(): () => void {
    this.#recorders++;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.#recorders--;
    };
  }

  /** Whether every run's end wakes its waiters here (see recordedHere). */
  endsHere(): boolean {
    return this.#recorders > 0;
  }

  /** The sequence number now: a waiter takes it just before it reads the run. */
  mark(): number {
    return this.#sequence;
  }

  /**
   * A run of this tenant has ended (its end is stored): its waiters answer with `run`, the item the
   * store returned from the end's write, or read it now when there is none.
   */
  ended(tenantId: string, executionId: string, run?: Execution): void {
    const key = keyOf(tenantId, executionId);
    this.#sequence++;
    this.#recent.delete(key);
    this.#recent.set(key, this.#sequence);
    while (this.#recent.size > this.#remember) {
      const oldest = this.#recent.keys().next().value as string;
      this.#recent.delete(oldest);
    }
    const waiting = this.#waiters.get(key);
    if (waiting === undefined) return;
    this.#waiters.delete(key);
    for (const wake of waiting) wake(run);
  }

  /**
   * Resolves after `ms`, or as soon as the run ends — at once when it ended after `since` (a mark
   * taken before the waiter's last read). It resolves with the ended run when the end that woke it
   * carried one (see the module header: the caller checks it is its run), else with nothing.
   * `sleep` replaces the timer (tests); it is raced, not cancelled.
   */
  wait(tenantId: string, executionId: string, since: number, ms: number, sleep?: Sleep): Promise<Woken> {
    const key = keyOf(tenantId, executionId);
    if ((this.#recent.get(key) ?? 0) > since) return Promise.resolve(undefined);
    return new Promise<Woken>((resolve) => {
      let timer: NodeJS.Timeout | undefined;
      const done = (run?: Woken) => {
        if (timer !== undefined) clearTimeout(timer);
        const waiting = this.#waiters.get(key);
        waiting?.delete(done);
        if (waiting?.size === 0) this.#waiters.delete(key);
        resolve(run);
      };
      let waiting = this.#waiters.get(key);
      if (waiting === undefined) {
        waiting = new Set();
        this.#waiters.set(key, waiting);
      }
      waiting.add(done);
      if (sleep === undefined) timer = setTimeout(() => done(), ms);
      else void sleep(ms).then(() => done());
    });
  }

  /**
   * Takes one of the tenant's MAX_WAITS_PER_TENANT waits for as long as a request waits on a run:
   * the function that gives it back (once), or null when the tenant holds all of them already.
   */
  hold(tenantId: string, max = MAX_WAITS_PER_TENANT): (() => void) | null {
    return this.#held.take(tenantId, max);
  }

  /** Waits the tenant holds now (see `hold`). */
  held(tenantId: string): number {
    return this.#held.count(tenantId);
  }

  /** Requests waiting now (tests: nothing is left behind). */
  waiting(): number {
    let count = 0;
    for (const waiting of this.#waiters.values()) count += waiting.size;
    return count;
  }
}

/** The one instance of a process: every `Executions` of the process wakes and waits through it. */
export const processRunEnds = new RunEnds();
