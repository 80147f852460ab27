/**
 * Errors of a tenant's extension data. Each extends a class of the core taxonomy, so the HTTP edge
 * (problem+json) and the data relay (an answer to the script) map them without knowing this module.
 */
import { ConflictError, NotFoundError } from '../errors.ts';

/** A conditional write or delete named a version the record is no longer (or not yet) at. */
export class VersionConflictError extends ConflictError {
  override readonly code = 'version-conflict';
  /** The record's version now; 0 when it does not exist. */
  readonly currentVersion: number;
  constructor(message: string, currentVersion: number) {
    super(message, { extra: { currentVersion } });
    this.currentVersion = currentVersion;
  }
}

export class CollectionNotFoundError extends NotFoundError {
  override readonly code = 'collection-not-found';
}

/** A collection cannot go while records or Skills still use it. */
export class CollectionInUseError extends ConflictError {
  override readonly code = 'collection-in-use';
}
