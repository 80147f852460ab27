/**
 * One user's personal access tokens, for a user admin (`GET /api/users/{username}/tokens`): what
 * each may do and when it was last used, never its secret, and a Revoke behind a confirmation
 * (`DELETE /api/users/{username}/tokens/{id}`, audited).
 */

import type { AccessToken } from '../../../functions/contract/index.ts';
import { api, segment } from './api.ts';
import { useAction, useNotice, useResource } from './hooks.ts';
import { Badge, DateTime, Empty, Notice, ProblemView, Section, Show, Table, useConfirm } from './ui.tsx';

/** How a token stands: revoked, ended with its user's sessions, expired, or active. */
export function tokenState(token: AccessToken, now = Date.now()): 'revoked' | 'ended' | 'expired' | 'active' {
  if (token.revoked) return 'revoked';
  if (token.endedAt !== undefined) return 'ended';
  if (Date.parse(token.expiresAt) <= now) return 'expired';
  return 'active';
}

export function TokenStateBadge({ token }: { readonly token: AccessToken }) {
  const state = tokenState(token);
  return state === 'active' ? (
    <Badge value="active" />
  ) : state === 'ended' ? (
    <span title="Its user's sessions were ended after it was made (a new password, a disabling or “End all sessions”)">
      <Badge value="disabled" label="ended" />
    </span>
  ) : (
    <Badge value="disabled" label={state} />
  );
}

export function UserTokens({
  username,
  onClose,
}: {
  readonly username: string;
  readonly onClose: () => void;
}) {
  const path = `/api/users/${segment(username)}/tokens`;
  const { state, reload } = useResource<{ items: AccessToken[] }>(path);
  const revoke = useAction(async (id: string) => {
    await api.delete<void>(`${path}/${segment(id)}`);
    return true;
  });
  const { confirm, dialog } = useConfirm();
  const [message, setMessage] = useNotice();
  return (
    <Section title={`Access tokens of ${username}`} className="user-tokens">
      {dialog}
      <p className="muted">
        Tokens {username} made for the command line and agents. Their secrets are never shown; a new password,
        a disabling or “End all sessions” ends every token made before it.
      </p>
      <Notice>{message}</Notice>
      <ProblemView problem={revoke.problem} />
      <Show state={state} loading="Loading tokens…">
        {({ items }) =>
          items.length === 0 ? (
            <Empty>
              <p>{username} has no access tokens.</p>
            </Empty>
          ) : (
            <Table columns={['Name', 'Scopes', 'Created', 'Expires', 'Last used', 'Status', 'Actions']}>
              {items.map((token) => (
                <tr key={token.id} data-token={token.id}>
                  <td>{token.name}</td>
                  <td>{token.scopes.join(', ')}</td>
                  <td>
                    <DateTime value={token.createdAt} />
                  </td>
                  <td>
                    <DateTime value={token.expiresAt} />
                  </td>
                  <td>{token.lastUsedAt === null ? 'never' : <DateTime value={token.lastUsedAt} />}</td>
                  <td>
                    <TokenStateBadge token={token} />
                  </td>
                  <td className="actions">
                    {tokenState(token) === 'active' ? (
                      <button
                        type="button"
                        className="danger small"
                        disabled={revoke.pending}
                        onClick={async () => {
                          const ok = await confirm({
                            title: `Revoke the token ${token.name} of ${username}?`,
                            body: (
                              <p>
                                Whatever uses it (the command line, an agent) is refused from its next request
                                on. {username} can make a new one.
                              </p>
                            ),
                            confirm: 'Revoke the token',
                            danger: true,
                          });
                          if (!ok) return;
                          if ((await revoke.run(token.id)) === true) {
                            setMessage(`The token ${token.name} of ${username} is revoked.`);
                            reload();
                          }
                        }}
                      >
                        Revoke
                      </button>
                    ) : null}
                  </td>
                </tr>
              ))}
            </Table>
          )
        }
      </Show>
      <div className="form-actions">
        <button type="button" className="secondary small" onClick={onClose}>
          Close
        </button>
      </div>
    </Section>
  );
}
