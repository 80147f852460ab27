/** The sign-in page of a host: a plain form (labels, Enter submits) posting to `/api/auth/login`. */
import { type FormEvent, type ReactNode, useEffect, useRef, useState } from 'react';
import { api, type LoginAnswer, type Session, saveSession } from './api.ts';
import { useAction } from './hooks.ts';
import { ProblemView } from './ui.tsx';

export interface LoginPageProps {
  readonly heading: string;
  readonly intro?: ReactNode;
  /** Why the user is here again (an ended session). */
  readonly message?: string | null;
  readonly onSignedIn: (session: Session) => void;
}

export function LoginPage({ heading, intro, message, onSignedIn }: LoginPageProps) {
  const [username, setUsername] = useState('');
  const [password, setPassword] = useState('');
  const usernameRef = useRef<HTMLInputElement>(null);
  const login = useAction(async () => {
    const answer = await api.post<LoginAnswer>('/api/auth/login', { username, password }, { auth: false });
    const session: Session = { token: answer.token, expiresAt: answer.expiresAt, user: answer.user };
    saveSession(session);
    return session;
  });

  useEffect(() => {
    usernameRef.current?.focus();
  }, []);

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    const session = await login.run();
    if (session !== undefined) onSignedIn(session);
    else setPassword('');
  };

  return (
    <main className="login" id="main">
      <div className="login-card card">
        <h1>{heading}</h1>
        {intro}
        {message ? (
          <p className="notice" role="status">
            {message}
          </p>
        ) : null}
        <form onSubmit={submit} aria-describedby={login.problem ? 'login-problem' : undefined}>
          <div className="field">
            <label htmlFor="login-username">Username</label>
            <input
              id="login-username"
              name="username"
              ref={usernameRef}
              autoComplete="username"
              autoCapitalize="none"
              spellCheck={false}
              required
              value={username}
              onChange={(event) => setUsername(event.target.value)}
            />
          </div>
          <div className="field">
            <label htmlFor="login-password">Password</label>
            <input
              id="login-password"
              name="password"
              type="password"
              autoComplete="current-password"
              required
              value={password}
              onChange={(event) => setPassword(event.target.value)}
            />
          </div>
          <div id="login-problem">
            <ProblemView problem={login.problem} />
          </div>
          <button type="submit" disabled={login.pending}>
            {login.pending ? 'Signing in…' : 'Sign in'}
          </button>
        </form>
      </div>
    </main>
  );
}
