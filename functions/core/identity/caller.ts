/**
 * Who is calling: resolved from a bearer token for one domain. Permissions are the union of the
 * caller's roles' permissions in that domain (narrowed by a token's scopes, or an AI client's).
 */

/** The AI (MCP) client a caller acts through: its user's permissions, narrowed to its Skills. */
export interface CallerClient {
  readonly id: string;
  readonly name: string;
  /** Skills the client may use, by id… */
  readonly skills: readonly string[];
  /** …or by tag. */
  readonly tags: readonly string[];
  /** How long a call waits for a run to finish before answering with a ticket. */
  readonly waitSeconds: number;
}

export interface Caller {
  readonly username: string;
  readonly roles: readonly string[];
  readonly permissions: ReadonlySet<string>;
  /** Recognised only from an explicit marker or the configured list, never from a name or an id. */
  readonly superAdmin: boolean;
  /** How the caller authenticated (`schedule`: a tenant schedule firing as its owner). */
  readonly via: 'session' | 'personal-access-token' | 'mcp-client' | 'schedule';
  /** Id of the session, token or client, for revocation and audit. */
  readonly credentialId: string;
  /** Set exactly when `via` is `mcp-client`. */
  readonly client?: CallerClient;
  /** Set exactly when `via` is `schedule`: the schedule that fired. */
  readonly schedule?: { readonly id: string; readonly name: string };
}
