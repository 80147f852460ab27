/**
 * `npm start`'s Ctrl-C (lib/local/stop-signals.ts): one Ctrl-C reaches the platform two or three
 * times (terminal process group, npm's forwarding, tsx's relay) and must still be one gentle stop that
 * lets runs finish; only a later second signal exits at once.
 */
import { describe, expect, it } from 'vitest';
import { stopOnSignals } from '../../../../lib/local/stop-signals.ts';

function harness() {
  let clock = 1_000_000;
  let finishStop: () => void = () => undefined;
  const stopped = new Promise<void>((resolve) => {
    finishStop = resolve;
  });
  const calls = { stop: 0, exits: [] as number[], out: [] as string[] };
  const onSignal = stopOnSignals({
    stop: () => {
      calls.stop += 1;
      return stopped;
    },
    write: (text) => calls.out.push(text),
    exit: (code) => calls.exits.push(code),
    now: () => clock,
  });
  return {
    calls,
    onSignal,
    finishStop,
    advance: (ms: number) => {
      clock += ms;
    },
  };
}

describe('stopOnSignals', () => {
  it('takes the copies of one Ctrl-C that arrive together as one gentle stop', async () => {
    const { calls, onSignal, finishStop, advance } = harness();
    const first = onSignal('SIGINT');
    advance(30); // npm's forwarded copy, then tsx's relay
    await onSignal('SIGINT');
    advance(30);
    await onSignal('SIGINT');
    expect(calls.exits).toEqual([]);
    expect(calls.stop).toBe(1);
    finishStop();
    await first;
    expect(calls.exits).toEqual([0]);
    expect(calls.out.join('')).toContain('SIGINT: stopping ExecFabric (finishing runs in flight');
    expect(calls.out.join('')).not.toContain('exiting now');
  });

  it('exits at once on a second Ctrl-C pressed later, without waiting for the runs', async () => {
    const { calls, onSignal, advance } = harness();
    void onSignal('SIGTERM');
    advance(2_000);
    await onSignal('SIGINT');
    expect(calls.stop).toBe(1);
    expect(calls.exits).toEqual([130]);
    expect(calls.out.at(-1)).toBe('SIGINT again: exiting now.\n');
  });
});
