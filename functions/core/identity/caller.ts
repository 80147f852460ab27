/**
 * Who is calling: resolved from a bearer token for one domain. Permissions are the union of the
 * caller's roles' permissions in that domain.
 */
export interface Caller {
  readonly username: string;
  readonly roles: readonly string[];
  readonly permissions: ReadonlySet<string>;
  /** Recognised only from an explicit marker or the configured list, never from a name or an id. */
  readonly superAdmin: boolean;
  /** How the caller authenticated. */
  readonly via: 'session' | 'personal-access-token';
  /** Id of the session or token, for revocation and audit. */
  readonly credentialId: string;
}
