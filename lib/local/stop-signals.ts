/**
 * How `npm start` reacts to Ctrl-C and SIGTERM: the first stops the platform gently (runs in flight
 * finish and are recorded), a second one later exits at once.
 *
 * One Ctrl-C can reach the platform's process more than once: the terminal signals the whole
 * process group, npm forwards the signal to its script, and tsx relays what it receives to the
 * process it runs. Copies that arrive within `sameRequestMs` of the first are that same request, not
 * the "second Ctrl-C" that skips the wait.
 */

export interface StopOnSignalsOptions {
  /** Stops the platform, letting runs in flight finish. */
  readonly stop: () => Promise<void>;
  readonly write: (text: string) => void;
  readonly exit: (code: number) => void;
  /** @default Date.now */
  readonly now?: () => number;
  /** @default 1000 */
  readonly sameRequestMs?: number;
}

/** A handler for SIGINT and SIGTERM (`process.on(signal, () => void handler(signal))`). */
export function stopOnSignals(options: StopOnSignalsOptions): (signal: string) => Promise<void> {
  const now = options.now ?? Date.now;
  const sameRequestMs = options.sameRequestMs ?? 1_000;
  let firstAt: number | null = null;
  return async (signal) => {
    if (firstAt !== null) {
      if (now() - firstAt < sameRequestMs) return; // the first signal again, by another route
      // A second Ctrl-C does not wait for jobs still running.
      options.write(`${signal} again: exiting now.\n`);
      options.exit(130);
      return;
    }
    firstAt = now();
    options.write(`\n${signal}: stopping ExecFabric (finishing runs in flight; Ctrl-C again to exit now)…\n`);
    await options.stop();
    options.write('ExecFabric stopped.\n');
    options.exit(0);
  };
}
