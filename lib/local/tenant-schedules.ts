/**
 * Local stand-in for EventBridge Scheduler's tenant schedules: every `intervalMs` the ticker reads the
 * enabled schedules due by now from the table's sparse index and invokes `schedule-fire` for each with
 * the event Scheduler would send — the sealed schedule reference and the scheduled time. The fire
 * function moves each schedule's next fire time on (so a due schedule is fired once), applies the
 * missed-fire policy to late ones (after a restart, every schedule whose time passed while the
 * platform was down is due at once, and each is logged as missed, not run) and logs every fire.
 */

import type { MessageSigner } from '../../functions/core/messages/signing.ts';
import type { Core } from '../../functions/core/platform.ts';
import { fireEvent } from '../../functions/core/schedules/scheduler-port.ts';
import type { LocalInvoke } from './lambda.ts';

/** How often due schedules are looked for (fires are at most this late). */
export const TICK_INTERVAL_MS = 1000;

export interface TenantScheduleTicker {
  /** Fires every schedule due at `at` (default now); resolves with how many were fired. */
  tick(at?: Date): Promise<number>;
  stop(): Promise<void>;
}

export interface TickerOptions {
  readonly core: Pick<Core, 'schedules'>;
  readonly signer: MessageSigner;
  readonly invoke: LocalInvoke;
  readonly onError: (error: unknown) => void;
  /** @default TICK_INTERVAL_MS; 0 starts no timer (ticks only when asked) */
  readonly intervalMs?: number;
  readonly now?: () => Date;
}

export function startTenantScheduleTicker(options: TickerOptions): TenantScheduleTicker {
  const now = options.now ?? (() => new Date());
  let running: Promise<number> | null = null;
  let stopped = false;

  async function pass(at: Date): Promise<number> {
    let fired = 0;
    for await (const due of options.core.schedules.due(at)) {
      if (stopped) break;
      try {
        await options.invoke(fireEvent(options.signer, due.tenantId, due.scheduleId, due.nextFireAt));
        fired++;
      } catch (error) {
        // Left due: the next pass tries again (as Scheduler retries), until the missed-fire grace.
        options.onError(error);
      }
    }
    return fired;
  }

  function tick(at?: Date): Promise<number> {
    // One pass at a time: a fire that is slow never lets the next pass fire the same schedule.
    const previous = running ?? Promise.resolve(0);
    const next = previous.catch(() => 0).then(() => pass(at ?? now()));
    running = next;
    void next
      .finally(() => {
        if (running === next) running = null;
      })
      .catch(() => undefined);
    return next;
  }

  const interval = options.intervalMs ?? TICK_INTERVAL_MS;
  const timer =
    interval > 0
      ? setInterval(() => {
          if (running === null && !stopped) tick().catch(options.onError);
        }, interval)
      : undefined;
  timer?.unref();
  return {
    tick,
    async stop() {
      stopped = true;
      if (timer !== undefined) clearInterval(timer);
      await running?.catch(() => undefined);
    },
  };
}
