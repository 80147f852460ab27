/**
 * The one port behind which HTTP resource credentials live: AWS Secrets Manager in the cloud wiring,
 * an encrypted file store on the local platform. A credential has at most two versions, `current`
 * and `previous`; which one a rotation keeps as previous is the caller's decision (see
 * docs/decisions/http-credentials.md). No implementation logs, returns in an error, or otherwise
 * reveals a value: values leave a store only as the result of `read`.
 */
import { ConflictError, ServiceUnavailableError, ValidationError } from '../errors.ts';

export type CredentialStage = 'current' | 'previous';

export interface StoredCredential {
  readonly value: string;
  /** Opaque id of the version (not secret; audit and execution records may name it). */
  readonly versionId: string;
  readonly stage: CredentialStage;
}

export interface CredentialVersions {
  readonly current?: string;
  readonly previous?: string;
}

/**
 * What the previous version becomes when a new value is stored: the version that was current
 * (`'current'`, the ordinary rotation), or the previous one stays as it was (`'unchanged'`: the old
 * current is dropped, e.g. because it never worked).
 */
export type PreviousPolicy = 'current' | 'unchanged';

/** What the executor needs: reading a version. */
export interface CredentialReader {
  /** The value at a stage, or null when there is none (no credential, or no previous). */
  read(key: string, stage: CredentialStage): Promise<StoredCredential | null>;
}

export interface CredentialStore extends CredentialReader {
  /** Stores a new value as current and returns the versions after the write. */
  put(
    key: string,
    value: string,
    previous: PreviousPolicy,
  ): Promise<CredentialVersions & { current: string }>;
  /** Version ids only, never values. */
  versions(key: string): Promise<CredentialVersions>;
  /** Forgets the previous version (after the current one was proven, or on demand). */
  dropPrevious(key: string): Promise<void>;
}

/** The store could not be reached or refused the call; never carries a value. */
export class CredentialStoreError extends ServiceUnavailableError {
  override readonly code = 'credential-store-unavailable';
}

/** The resource has no credential (yet) where one is needed. */
export class CredentialMissingError extends ConflictError {
  override readonly code = 'credential-missing';
}

/** Keys name one credential; they become secret names and file names, so they are kept plain. */
export const CREDENTIAL_KEY_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_-]{0,127}$/;

export function assertCredentialKey(key: string): void {
  if (!CREDENTIAL_KEY_PATTERN.test(key)) {
    throw new ValidationError('Invalid credential key', [
      { path: 'key', message: 'letters, digits, _ and -' },
    ]);
  }
}

/** A store for a function that was given no access to credentials: every call is refused. */
export const NO_CREDENTIALS: CredentialStore = {
  read: () => Promise.reject(new CredentialStoreError('This function has no access to HTTP credentials')),
  put: () => Promise.reject(new CredentialStoreError('This function has no access to HTTP credentials')),
  versions: () => Promise.reject(new CredentialStoreError('This function has no access to HTTP credentials')),
  dropPrevious: () =>
    Promise.reject(new CredentialStoreError('This function has no access to HTTP credentials')),
};
