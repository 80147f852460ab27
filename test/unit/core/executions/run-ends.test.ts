/**
 * Wake-ups of requests waiting on a run's end (run-ends.ts): only the end of that tenant's run wakes
 * a waiter, an end just before the wait still counts and an end already read does not count twice,
 * what is remembered is bounded, and no waiter is left behind. The timers are replaced by sleeps the
 * test holds, so a waiter that resolves was woken, not timed out.
 */
import { describe, expect, it } from 'vitest';
import type { Execution } from '../../../../functions/core/executions/model.ts';
import { RunEnds } from '../../../../functions/core/executions/run-ends.ts';

const RUN = 'ex-0000000001abcdef0123';

/** A sleep that ends only when the test says so. */
function heldSleep() {
  const pending: (() => void)[] = [];
  return {
    sleep: (_ms: number) => new Promise<void>((resolve) => pending.push(resolve)),
    release: () => {
      for (const resolve of pending.splice(0)) resolve();
    },
  };
}

/** Whether a promise has settled once everything already queued has run. */
async function settledNow(promise: Promise<unknown>): Promise<boolean> {
  let settled = false;
  void promise.then(() => {
    settled = true;
  });
  await new Promise((resolve) => setImmediate(resolve));
  return settled;
}

describe('RunEnds', () => {
  it('wakes a waiter when its tenant’s run ends, before its pause is over', async () => {
    const ends = new RunEnds();
    const held = heldSleep();
    const waiting = ends.wait('acme', RUN, ends.mark(), 60_000, held.sleep);
    expect(await settledNow(waiting)).toBe(false);
    ends.ended('acme', RUN);
    expect(await settledNow(waiting)).toBe(true);
    expect(ends.waiting()).toBe(0);
    held.release();
  });

  it('is not woken by another tenant’s run of the same id, nor by another run, nor by keys built to collide', async () => {
    const ends = new RunEnds();
    const held = heldSleep();
    const waiting = ends.wait('acme', RUN, ends.mark(), 60_000, held.sleep);
    ends.ended('globex', RUN);
    ends.ended('acme', 'ex-0000000002abcdef0123');
    // A tenant or run id that carries a separator must not reach another pair's key.
    ends.ended('acme","ex', RUN);
    ends.ended('acme', `${RUN}"]`);
    ends.ended('', `acme${RUN}`);
    expect(await settledNow(waiting)).toBe(false);
    // Its own pause still ends it (the waiter then reads the run itself).
    held.release();
    expect(await settledNow(waiting)).toBe(true);
    expect(ends.waiting()).toBe(0);
  });

  it('wakes at once for an end after the waiter’s last read, and not again for an end it has read', async () => {
    const ends = new RunEnds();
    const held = heldSleep();
    const before = ends.mark();
    ends.ended('acme', RUN);
    // Read before the end: the end is news.
    expect(await settledNow(ends.wait('acme', RUN, before, 60_000, held.sleep))).toBe(true);
    // Read after the end: it was seen, so the waiter pauses (no busy loop of reads).
    const after = ends.mark();
    const again = ends.wait('acme', RUN, after, 60_000, held.sleep);
    expect(await settledNow(again)).toBe(false);
    // Another tenant's waiter on the same id never takes acme's end.
    const other = ends.wait('globex', RUN, before, 60_000, held.sleep);
    expect(await settledNow(other)).toBe(false);
    held.release();
    await Promise.all([again, other]);
    expect(ends.waiting()).toBe(0);
  });

  it('remembers a bounded number of ends, the oldest forgotten first', async () => {
    const ends = new RunEnds(2);
    const held = heldSleep();
    const before = ends.mark();
    ends.ended('acme', 'ex-0000000001abcdef0123');
    ends.ended('acme', 'ex-0000000002abcdef0123');
    ends.ended('acme', 'ex-0000000003abcdef0123');
    const forgotten = ends.wait('acme', 'ex-0000000001abcdef0123', before, 60_000, held.sleep);
    expect(await settledNow(forgotten)).toBe(false);
    expect(await settledNow(ends.wait('acme', 'ex-0000000003abcdef0123', before, 60_000, held.sleep))).toBe(
      true,
    );
    held.release();
    await forgotten;
  });

  it('ends a wait on its own timer and leaves no waiter behind', async () => {
    const ends = new RunEnds();
    const waits = Array.from({ length: 5 }, () => ends.wait('acme', RUN, ends.mark(), 5));
    expect(ends.waiting()).toBe(5);
    await Promise.all(waits);
    expect(ends.waiting()).toBe(0);
    // A later end finds nobody and changes nothing for a later reader of it.
    ends.ended('acme', RUN);
    expect(ends.waiting()).toBe(0);
  });

  it('hands the run its end stored to every waiter of that run, and nothing to a waiter woken otherwise', async () => {
    const ends = new RunEnds();
    const held = heldSleep();
    const run = { id: RUN, tenantId: 'acme', status: 'succeeded' } as Execution;
    const first = ends.wait('acme', RUN, ends.mark(), 60_000, held.sleep);
    const second = ends.wait('acme', RUN, ends.mark(), 60_000, held.sleep);
    const other = ends.wait('globex', RUN, ends.mark(), 60_000, held.sleep);
    ends.ended('acme', RUN, run);
    expect(await first).toBe(run);
    expect(await second).toBe(run);
    // An end without a run (a sweep elsewhere, a forged wake-up) only says "read it".
    const bare = ends.wait('acme', 'ex-0000000002abcdef0123', ends.mark(), 60_000, held.sleep);
    ends.ended('acme', 'ex-0000000002abcdef0123');
    expect(await bare).toBeUndefined();
    // An end remembered from before the wait is remembered without its run: the waiter reads it.
    expect(await ends.wait('acme', RUN, 0, 60_000, held.sleep)).toBeUndefined();
    // A waiter whose pause ends has nothing, and another tenant's waiter never had acme's run.
    held.release();
    expect(await other).toBeUndefined();
    expect(ends.waiting()).toBe(0);
  });

  it('counts the recorders that store every end in this process, each released once', () => {
    const ends = new RunEnds();
    expect(ends.endsHere()).toBe(false);
    const first = ends.recordedHere();
    const second = ends.recordedHere();
    first();
    first();
    expect(ends.endsHere()).toBe(true);
    second();
    expect(ends.endsHere()).toBe(false);
  });
});

describe('the waits a tenant may hold', () => {
  it('are counted per tenant, refused past the cap, and given back once each', () => {
    const ends = new RunEnds();
    const acme = [ends.hold('acme', 2), ends.hold('acme', 2)];
    expect(acme.every((release) => release !== null)).toBe(true);
    expect(ends.hold('acme', 2)).toBeNull();
    // Another tenant's allowance is its own.
    const globex = ends.hold('globex', 2);
    expect(globex).not.toBeNull();
    acme[0]?.();
    acme[0]?.();
    expect(ends.held('acme')).toBe(1);
    expect(ends.hold('acme', 2)).not.toBeNull();
    expect(ends.hold('acme', 2)).toBeNull();
    expect(ends.held('globex')).toBe(1);
  });
});
