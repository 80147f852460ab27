/**
 * Conditional writes as repositories read them. A write refused by its condition
 * (`ConditionalCheckFailedException`) is either an answer the caller expects (a log entry taken
 * before, an order that moved, a window that is full) or the repository's own typed error (a name
 * taken, a revision changed); any other failure passes through unchanged.
 */
import { isConditionFailure } from '../db.ts';

/** The write's answer, or null when its condition refused it. */
export async function unlessRefused<T>(write: Promise<T>): Promise<T | null> {
  try {
    return await write;
  } catch (error) {
    if (isConditionFailure(error)) return null;
    throw error;
  }
}

/** Whether the write was made: false when its condition refused it. */
export async function written(write: Promise<unknown>): Promise<boolean> {
  return (await unlessRefused(write.then(() => true))) ?? false;
}

/** The write's answer; a refusal by its condition comes out as `refused(cause)`. */
export async function refusedAs<T>(write: Promise<T>, refused: (cause: unknown) => Error): Promise<T> {
  try {
    return await write;
  } catch (error) {
    if (isConditionFailure(error)) throw refused(error);
    throw error;
  }
}
