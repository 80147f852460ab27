/**
 * Fixed-window rate limits of the free entry (sign-ups per address, per email, per handle, across
 * the platform; space look-ups per address). Each attempt takes its place in its window with one
 * conditional counter update, before anything else happens, so concurrent attempts can never get
 * more than the limit between them; a refused attempt says when the window ends. Subjects are kept
 * as SHA-256 digests: the table holds no address or email in a key.
 */

import { createHash } from 'node:crypto';
import { counted } from '../../contract/wording.ts';
import type { Table } from '../db.ts';
import { RateLimitedError } from '../errors.ts';
import { RateCounterRepository } from './rate-counter-repository.ts';

export interface RateRule {
  /** Stable name, part of the counter's key. */
  readonly name: string;
  /** Attempts allowed per window. */
  readonly limit: number;
  readonly windowSeconds: number;
  /** What the refusal says was limited, e.g. "sign-ups from this address". */
  readonly what: string;
}

export class FixedWindowLimiter {
  readonly #store: RateCounterRepository;
  readonly #now: () => Date;

  constructor(options: { readonly table: Table; readonly now?: () => Date }) {
    this.#store = new RateCounterRepository(options.table);
    this.#now = options.now ?? (() => new Date());
  }

  /** Counts one attempt of `subject` under `rule`; RateLimitedError (429) once the window is full. */
  async take(rule: RateRule, subject: string): Promise<void> {
    const nowSeconds = Math.floor(this.#now().getTime() / 1000);
    const window = Math.floor(nowSeconds / rule.windowSeconds);
    const digest = createHash('sha256').update(`${rule.name}|${subject}`, 'utf8').digest('hex');
    // A counter is kept one window past its own.
    const counter = { rule: rule.name, subjectDigest: digest, window };
    if (!(await this.#store.hit(counter, rule.limit, (window + 2) * rule.windowSeconds))) {
      const retryAfter = Math.max(1, (window + 1) * rule.windowSeconds - nowSeconds);
      throw new RateLimitedError(
        `Too many ${rule.what}: at most ${rule.limit} per ${describeWindow(rule.windowSeconds)}; try again in ${describeWait(retryAfter)}`,
        retryAfter,
      );
    }
  }
}

function describeWindow(seconds: number): string {
  if (seconds % 86_400 === 0) return seconds === 86_400 ? 'day' : `${seconds / 86_400} days`;
  if (seconds % 3600 === 0) return seconds === 3600 ? 'hour' : `${seconds / 3600} hours`;
  return `${seconds} seconds`;
}

function describeWait(seconds: number): string {
  if (seconds >= 3600) return counted(Math.ceil(seconds / 3600), 'hour');
  if (seconds >= 60) return counted(Math.ceil(seconds / 60), 'minute');
  return counted(seconds, 'second');
}
