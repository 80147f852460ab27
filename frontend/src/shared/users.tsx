/**
 * Users and roles of the current domain (a tenant's users, or the platform's operators): the
 * same `/api/users` and `/api/roles` routes on every host. Built-in roles are fixed; custom roles
 * hold any subset of the permissions the built-in ones use. An admin sets another user's new password
 * here (`PATCH /api/users/{username} {password}`), which ends every session that user had; one's own
 * password is changed on the account page (account.tsx). A user's access tokens are listed, and
 * revoked, from their row (user-tokens.tsx). A user is removed from their row after a confirmation
 * saying what ends with them (`DELETE /api/users/{username}`). Where the tenant's plan limits its
 * users (the free plan), the new-user form says how many are left (`GET /api/usage`).
 */
import { type FormEvent, useMemo, useState } from 'react';
import { MAX_PASSWORD_LENGTH, MIN_PASSWORD_LENGTH } from '../../../functions/contract/index.ts';
import { api, type Role, segment, type User } from './api.ts';
import { useAction, useNotice, usePaged, useResource } from './hooks.ts';
import {
  Badge,
  CheckList,
  DateTime,
  fieldError,
  LoadMore,
  Notice,
  PageHeader,
  ProblemView,
  Section,
  Show,
  ShowList,
  Submit,
  splitList,
  Table,
  TextField,
  useConfirm,
} from './ui.tsx';
import { UserTokens } from './user-tokens.tsx';

export interface UsersPageProps {
  readonly title: string;
  /** Whether the roles can be managed here (the caller holds `role:manage`). */
  readonly canManageRoles: boolean;
  /** Public domain: offer the super-admin marker and the console whitelist. */
  readonly platform?: boolean;
  /** The signed-in user: nobody disables their own account or edits their own roles (the API refuses). */
  readonly self: string;
}

export function UsersPage({ title, canManageRoles, platform = false, self }: UsersPageProps) {
  const users = usePaged<User>('/api/users', 50);
  const roles = useResource<{ items: Role[] }>('/api/roles');
  const roleNames = roles.state.status === 'ready' ? roles.state.data.items.map((role) => role.name) : [];
  const [message, setMessage] = useNotice();
  const [editing, setEditing] = useState<string | null>(null);
  const [resetting, setResetting] = useState<string | null>(null);
  const { confirm, dialog } = useConfirm();
  const [tokensOf, setTokensOf] = useState<string | null>(null);
  const update = useAction(async (username: string, change: Record<string, unknown>) =>
    api.patch<User>(`/api/users/${segment(username)}`, change),
  );
  const removal = useAction(async (username: string) => {
    await api.delete<unknown>(`/api/users/${segment(username)}`);
    return true;
  });
  // The new-user form is mounted again after a removal, so the places left it shows are read again.
  const [removals, setRemovals] = useState(0);
  const remove = async (username: string) => {
    const confirmed = await confirm({
      title: `Remove ${username}?`,
      body: (
        <>
          <p>
            {username} can no longer sign in: their sessions end, and their access tokens
            {platform ? '' : ' and AI clients'} are revoked.
            {platform
              ? ' Their audit entries stay under their name.'
              : ' Runs they asked for that have not started are cancelled, and their schedules are paused for someone to take over. Their past runs and audit entries stay under their name.'}
          </p>
          <p>This cannot be undone, and the name {username} cannot be given to a new user.</p>
        </>
      ),
      confirm: `Remove ${username}`,
      danger: true,
    });
    if (!confirmed) return;
    if ((await removal.run(username)) === true) {
      setMessage(`${username} is removed.`);
      if (tokensOf === username) setTokensOf(null);
      setRemovals((count) => count + 1);
      users.reload();
    }
  };
  const change = async (username: string, body: Record<string, unknown>, text: string) => {
    if ((await update.run(username, body)) !== undefined) {
      setMessage(text);
      setEditing(null);
      setResetting(null);
      users.reload();
    }
  };
  const setPassword = async (username: string, password: string) => {
    const confirmed = await confirm({
      title: `Set a new password for ${username}?`,
      body: (
        <p>
          Every session {username} has ends now (browsers, devices and the CLI): they sign in again with the
          new password. Tell them the new password another way than this page.
        </p>
      ),
      confirm: 'Set the password',
      danger: true,
    });
    if (confirmed) {
      await change(username, { password }, `New password set for ${username}; their sessions have ended.`);
    }
  };

  return (
    <>
      <PageHeader title={title} />
      {dialog}
      <Notice>{message}</Notice>
      <Section title="Users">
        <ProblemView problem={update.problem} />
        <ProblemView problem={removal.problem} />
        <ShowList state={users.state} loading="Loading users…" empty={<p>No users yet.</p>}>
          {(items) => (
            <Table columns={['User', 'Roles', 'Status', 'Created', 'Actions']}>
              {items.map((user) => (
                <tr key={user.username} data-user={user.username}>
                  <td>
                    {user.username} {user.superAdmin ? <Badge value="info" label="super-admin" /> : null}
                  </td>
                  <td>
                    {editing === user.username ? (
                      <RolesEditor
                        username={user.username}
                        current={user.roles}
                        roleNames={roleNames}
                        pending={update.pending}
                        onCancel={() => setEditing(null)}
                        onSave={(next) =>
                          change(user.username, { roles: next }, `Roles of ${user.username} saved.`)
                        }
                      />
                    ) : user.roles.length === 0 ? (
                      <span className="muted">none</span>
                    ) : (
                      user.roles.join(', ')
                    )}
                  </td>
                  <td>{user.disabled ? <Badge value="disabled" /> : <Badge value="active" />}</td>
                  <td>
                    <DateTime value={user.createdAt} />
                  </td>
                  <td className="actions">
                    {user.username === self ? (
                      <span className="muted">you</span>
                    ) : editing === user.username ? null : (
                      <button
                        type="button"
                        className="secondary small"
                        onClick={() => setEditing(user.username)}
                      >
                        Roles…
                      </button>
                    )}
                    {user.username === self || resetting === user.username ? null : (
                      <button
                        type="button"
                        className="secondary small"
                        onClick={() => {
                          update.reset();
                          setResetting(user.username);
                        }}
                      >
                        Set password…
                      </button>
                    )}
                    {resetting === user.username ? (
                      <PasswordEditor
                        username={user.username}
                        pending={update.pending}
                        error={fieldError(update.problem, 'password')}
                        onCancel={() => setResetting(null)}
                        onSave={(password) => setPassword(user.username, password)}
                      />
                    ) : null}
                    <button
                      type="button"
                      className="secondary small"
                      aria-pressed={tokensOf === user.username}
                      onClick={() => setTokensOf(tokensOf === user.username ? null : user.username)}
                    >
                      Tokens…
                    </button>
                    {user.username === self ? null : (
                      <button
                        type="button"
                        className={user.disabled ? 'small' : 'danger small'}
                        disabled={update.pending}
                        onClick={() =>
                          change(
                            user.username,
                            { disabled: !user.disabled },
                            `${user.username} is ${user.disabled ? 'enabled' : 'disabled'}.`,
                          )
                        }
                      >
                        {user.disabled ? 'Enable' : 'Disable'}
                      </button>
                    )}
                    {user.username === self ? null : (
                      <button
                        type="button"
                        className="danger small"
                        disabled={removal.pending}
                        onClick={() => remove(user.username)}
                      >
                        Remove…
                      </button>
                    )}
                  </td>
                </tr>
              ))}
            </Table>
          )}
        </ShowList>
        <LoadMore list={users} />
      </Section>
      {tokensOf === null ? null : (
        <UserTokens key={tokensOf} username={tokensOf} onClose={() => setTokensOf(null)} />
      )}
      <NewUser
        key={removals}
        roleNames={roleNames}
        platform={platform}
        onCreated={(username) => {
          setMessage(`User ${username} created.`);
          users.reload();
        }}
      />
      <Section title="Roles">
        <Show state={roles.state} loading="Loading roles…">
          {({ items }) => <RolesTable roles={items} canManage={canManageRoles} onChanged={roles.reload} />}
        </Show>
      </Section>
      {canManageRoles && roles.state.status === 'ready' ? (
        <NewRole roles={roles.state.data.items} onCreated={roles.reload} />
      ) : null}
    </>
  );
}

/** An admin's new password for another user, typed twice; saved after a confirmation. */
function PasswordEditor({
  username,
  pending,
  error,
  onSave,
  onCancel,
}: {
  readonly username: string;
  readonly pending: boolean;
  readonly error: string | undefined;
  readonly onSave: (password: string) => void;
  readonly onCancel: () => void;
}) {
  const [password, setPassword] = useState('');
  const [again, setAgain] = useState('');
  const [mismatch, setMismatch] = useState(false);
  const id = `set-password-${username}`;
  return (
    <form
      className="password-editor"
      aria-label={`Set a new password for ${username}`}
      onSubmit={(event) => {
        event.preventDefault();
        if (password !== again) {
          setMismatch(true);
          return;
        }
        onSave(password);
      }}
    >
      <TextField
        id={id}
        label={`New password for ${username}`}
        type="password"
        required
        minLength={MIN_PASSWORD_LENGTH}
        maxLength={MAX_PASSWORD_LENGTH}
        autoComplete="new-password"
        hint={`${MIN_PASSWORD_LENGTH} to ${MAX_PASSWORD_LENGTH} characters`}
        value={password}
        onChange={setPassword}
        error={error}
      />
      <TextField
        id={`${id}-again`}
        label="Type it again"
        type="password"
        required
        maxLength={MAX_PASSWORD_LENGTH}
        autoComplete="new-password"
        value={again}
        onChange={(value) => {
          setAgain(value);
          setMismatch(false);
        }}
        error={mismatch ? 'does not match the new password' : undefined}
      />
      <div className="form-actions">
        <button type="submit" className="small" disabled={pending}>
          Set password
        </button>
        <button type="button" className="secondary small" onClick={onCancel}>
          Cancel
        </button>
      </div>
    </form>
  );
}

function RolesEditor({
  username,
  current,
  roleNames,
  pending,
  onSave,
  onCancel,
}: {
  readonly username: string;
  readonly current: readonly string[];
  readonly roleNames: readonly string[];
  readonly pending: boolean;
  readonly onSave: (roles: string[]) => void;
  readonly onCancel: () => void;
}) {
  const [selected, setSelected] = useState<string[]>([...current]);
  return (
    <form
      onSubmit={(event) => {
        event.preventDefault();
        onSave(selected);
      }}
    >
      <CheckList
        legend={`Roles of ${username}`}
        legendClassName="sr-only"
        options={roleNames}
        selected={selected}
        onChange={setSelected}
      />
      <div className="form-actions">
        <button type="submit" className="small" disabled={pending}>
          Save roles
        </button>
        <button type="button" className="secondary small" onClick={onCancel}>
          Cancel
        </button>
      </div>
    </form>
  );
}

/** The plan's users quota (`GET /api/usage`, a tenant's own). */
interface UsersUsage {
  readonly plan: string;
  readonly users: { readonly used: number; readonly limit: number | null; readonly remaining: number | null };
}

/** How many users the plan keeps and how many are left; nothing where it keeps any number. */
function UsersLeft({ usage }: { readonly usage: UsersUsage | null }) {
  if (usage === null || usage.users.limit === null) return null;
  return (
    <p className="hint" data-quota="users">
      The {usage.plan} plan keeps {usage.users.limit} users, disabled ones too: {usage.users.used} used,{' '}
      {usage.users.remaining ?? 0} left.
    </p>
  );
}

/** Why no user can be created on this plan now, or undefined while there is room. */
function noRoomReason(usage: UsersUsage | null): string | undefined {
  if (usage === null || usage.users.limit === null || (usage.users.remaining ?? 0) > 0) return undefined;
  return `The ${usage.plan} plan’s ${usage.users.limit} users are all taken (disabled ones count too): no user can be created on it.`;
}

function NewUser({
  roleNames,
  platform,
  onCreated,
}: {
  readonly roleNames: readonly string[];
  readonly platform: boolean;
  readonly onCreated: (username: string) => void;
}) {
  // The platform's operators are not counted by any plan.
  const usage = useResource<UsersUsage>(platform ? null : '/api/usage');
  const [username, setUsername] = useState('');
  const [password, setPassword] = useState('');
  const [roles, setRoles] = useState<string[]>([]);
  const [superAdmin, setSuperAdmin] = useState(false);
  const [consoleTenants, setConsoleTenants] = useState('');
  const create = useAction(async () =>
    api.post<User>('/api/users', {
      username,
      password,
      roles,
      ...(platform && superAdmin ? { superAdmin: true } : {}),
      ...(platform && consoleTenants.trim() !== '' ? { consoleTenants: splitList(consoleTenants) } : {}),
    }),
  );
  const submit = async (event: FormEvent) => {
    event.preventDefault();
    const created = await create.run();
    // Refused or not, the count may have moved (another admin, another tab): the form shows it anew.
    usage.reload();
    if (created !== undefined) {
      onCreated(username);
      setUsername('');
      setPassword('');
      setRoles([]);
      setSuperAdmin(false);
      setConsoleTenants('');
    }
  };
  return (
    <Section title="New user">
      <UsersLeft usage={usage.state.status === 'ready' ? usage.state.data : null} />
      <form onSubmit={submit}>
        <div className="form-row">
          <TextField
            id="new-user-name"
            label="Username"
            required
            maxLength={128}
            autoComplete="off"
            value={username}
            onChange={setUsername}
          />
          <TextField
            id="new-user-password"
            label="Initial password"
            type="password"
            required
            minLength={MIN_PASSWORD_LENGTH}
            maxLength={MAX_PASSWORD_LENGTH}
            autoComplete="new-password"
            value={password}
            onChange={setPassword}
          />
        </div>
        <CheckList legend="Roles" options={roleNames} selected={roles} onChange={setRoles} />
        {platform ? (
          <>
            <div className="field">
              <label className="check">
                <input
                  type="checkbox"
                  checked={superAdmin}
                  onChange={(e) => setSuperAdmin(e.target.checked)}
                />
                Platform super-admin
              </label>
            </div>
            <div className="field">
              <label htmlFor="new-user-console">Console tenants (ids, comma-separated)</label>
              <input
                id="new-user-console"
                value={consoleTenants}
                onChange={(e) => setConsoleTenants(e.target.value)}
              />
              <p className="hint">
                For tenant admins with the tenant-console role: the tenants they may look at.
              </p>
            </div>
          </>
        ) : null}
        <Submit
          action={create}
          busy="Creating…"
          reason={noRoomReason(usage.state.status === 'ready' ? usage.state.data : null)}
        >
          Create user
        </Submit>
      </form>
    </Section>
  );
}

function RolesTable({
  roles,
  canManage,
  onChanged,
}: {
  readonly roles: readonly Role[];
  readonly canManage: boolean;
  readonly onChanged: () => void;
}) {
  const remove = useAction(async (name: string) => {
    await api.delete<void>(`/api/roles/${segment(name)}`);
    return true;
  });
  return (
    <>
      <ProblemView problem={remove.problem} />
      <div className="table-wrap">
        <table>
          <thead>
            <tr>
              <th scope="col">Role</th>
              <th scope="col">Permissions</th>
              {canManage ? <th scope="col">Actions</th> : null}
            </tr>
          </thead>
          <tbody>
            {roles.map((role) => (
              <tr key={role.name}>
                <td>
                  {role.name} {role.builtIn ? <Badge value="info" label="built-in" /> : null}
                  {role.description ? <div className="muted">{role.description}</div> : null}
                </td>
                <td>{role.permissions.join(', ')}</td>
                {canManage ? (
                  <td className="actions">
                    {role.builtIn ? null : (
                      <button
                        type="button"
                        className="danger small"
                        disabled={remove.pending}
                        onClick={async () => {
                          if ((await remove.run(role.name)) === true) onChanged();
                        }}
                      >
                        Delete
                      </button>
                    )}
                  </td>
                ) : null}
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </>
  );
}

function NewRole({ roles, onCreated }: { readonly roles: readonly Role[]; readonly onCreated: () => void }) {
  const permissions = useMemo(
    () => [...new Set(roles.filter((role) => role.builtIn).flatMap((role) => role.permissions))].sort(),
    [roles],
  );
  const [name, setName] = useState('');
  const [description, setDescription] = useState('');
  const [selected, setSelected] = useState<string[]>([]);
  const create = useAction(async () =>
    api.post<Role>('/api/roles', {
      name,
      permissions: selected,
      ...(description === '' ? {} : { description }),
    }),
  );
  const submit = async (event: FormEvent) => {
    event.preventDefault();
    if ((await create.run()) !== undefined) {
      setName('');
      setDescription('');
      setSelected([]);
      onCreated();
    }
  };
  return (
    <Section title="New role">
      <form onSubmit={submit}>
        <div className="form-row">
          <TextField
            id="new-role-name"
            label="Name"
            required
            maxLength={64}
            value={name}
            onChange={setName}
          />
          <TextField
            id="new-role-description"
            label="Description"
            maxLength={500}
            value={description}
            onChange={setDescription}
          />
        </div>
        <CheckList legend="Permissions" options={permissions} selected={selected} onChange={setSelected} />
        <Submit action={create}>Create role</Submit>
      </form>
    </Section>
  );
}
