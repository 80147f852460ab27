/**
 * Errors of the free edition, each a class of the core taxonomy so the HTTP edge maps it without
 * knowing this module; `code` is the stable problem type.
 */
import { ConflictError } from '../errors.ts';

/** The handle is someone else's (or a platform host's): 409, with the handle in `extra`. */
export class HandleUnavailableError extends ConflictError {
  override readonly code = 'handle-unavailable';
}

/** A lead or space is not in a state that allows the action (converting a disabled space, …). */
export class LeadStateError extends ConflictError {
  override readonly code = 'lead-state';
}

/**
 * A conversion order can no longer be applied as ordered (its admin name or a host was taken since):
 * 409, nothing written; cancel it and order the conversion again.
 */
export class ConversionConflictError extends ConflictError {
  override readonly code = 'conversion-conflict';
}
