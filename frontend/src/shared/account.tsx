/**
 * The signed-in user's own account, on every console (a tenant's, the governance console, a free
 * personal space): who they are, and a form to change their password (`POST /api/me/password`). The
 * API checks the current password (wrong ones count toward the sign-in lock-out), ends every other
 * session of the user and renews this one, whose new CSRF token the page keeps.
 */
import { type FormEvent, useState } from 'react';
import { MAX_PASSWORD_LENGTH, MIN_PASSWORD_LENGTH } from '../../../functions/contract/index.ts';
import { api, type LoginAnswer, type Me, setCsrfToken } from './api.ts';
import { useAction, useNotice } from './hooks.ts';
import { fieldError, Notice, PageHeader, Section, Submit, TextField } from './ui.tsx';

export function AccountPage({ me }: { readonly me: Me }) {
  return (
    <>
      <PageHeader title="Your account" />
      <Section title="Signed in">
        <p>
          You are signed in as <strong>{me.username}</strong>
          {me.roles.length === 0 ? '' : ` (${me.roles.join(', ')})`}.
        </p>
      </Section>
      <ChangePassword username={me.username} />
    </>
  );
}

function ChangePassword({ username }: { readonly username: string }) {
  const [current, setCurrent] = useState('');
  const [next, setNext] = useState('');
  const [confirm, setConfirm] = useState('');
  const [mismatch, setMismatch] = useState(false);
  const [message, setMessage] = useNotice();
  const change = useAction(async () =>
    api.post<LoginAnswer>('/api/me/password', { currentPassword: current, newPassword: next }),
  );
  const submit = async (event: FormEvent) => {
    event.preventDefault();
    setMessage('');
    if (next !== confirm) {
      setMismatch(true);
      return;
    }
    setMismatch(false);
    const answer = await change.run();
    if (answer === undefined) return;
    // This session goes on in a renewed cookie: its writes carry the new CSRF token.
    setCsrfToken(answer.csrfToken);
    setCurrent('');
    setNext('');
    setConfirm('');
    setMessage('Your password is changed. Every other session you had has ended; this one goes on.');
  };
  return (
    <Section title="Change password">
      <Notice>{message}</Notice>
      <form onSubmit={submit} aria-label="Change password">
        {/* Lets a password manager file the new password under the right account. */}
        <input type="text" hidden readOnly autoComplete="username" value={username} />
        <TextField
          id="current-password"
          label="Current password"
          type="password"
          required
          maxLength={1024}
          autoComplete="current-password"
          value={current}
          onChange={setCurrent}
          error={fieldError(change.problem, 'currentPassword')}
        />
        <TextField
          id="new-password"
          label="New password"
          type="password"
          required
          minLength={MIN_PASSWORD_LENGTH}
          maxLength={MAX_PASSWORD_LENGTH}
          autoComplete="new-password"
          hint={`${MIN_PASSWORD_LENGTH} to ${MAX_PASSWORD_LENGTH} characters, not containing your username`}
          value={next}
          onChange={setNext}
          error={fieldError(change.problem, 'newPassword')}
        />
        <TextField
          id="confirm-password"
          label="Confirm the new password"
          type="password"
          required
          maxLength={MAX_PASSWORD_LENGTH}
          autoComplete="new-password"
          value={confirm}
          onChange={(value) => {
            setConfirm(value);
            setMismatch(false);
          }}
          error={mismatch ? 'does not match the new password' : undefined}
        />
        <p className="hint">
          Changing it signs you out everywhere else (other browsers, devices and the CLI).
        </p>
        <Submit action={change} busy="Changing…">
          Change password
        </Submit>
      </form>
    </Section>
  );
}
