/**
 * Requests held open at once in this process, counted by key (a tenant, an agent), each key at most
 * `max` at once: the process's bound on waits and polls (RunEnds.hold, agents/poll-slots.ts). Where
 * many processes serve one request each (Lambda), the table's leased slots count instead
 * (store/leased-slots.ts).
 */
export class HeldCounts {
  readonly #held = new Map<string, number>();

  /** Takes one of `key`'s `max`: the function that gives it back (once), or null when all are held. */
  take(key: string, max: number): (() => void) | null {
    const held = this.#held.get(key) ?? 0;
    if (held >= max) return null;
    this.#held.set(key, held + 1);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const left = (this.#held.get(key) ?? 1) - 1;
      if (left <= 0) this.#held.delete(key);
      else this.#held.set(key, left);
    };
  }

  /** How many `key` holds now. */
  count(key: string): number {
    return this.#held.get(key) ?? 0;
  }
}
