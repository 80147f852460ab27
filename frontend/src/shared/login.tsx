/**
 * The sign-in page of a host: a plain form (labels, Enter submits) posting to `/api/auth/login` for
 * a cookie session. A wrong password reads as such, with the API's detail kept under it; the password
 * field is cleared and focused for the next attempt.
 */
import { type FormEvent, type ReactNode, useEffect, useRef, useState } from 'react';
import { ApiProblem, api, type LoginAnswer, setCsrfToken } from './api.ts';
import { useAction } from './hooks.ts';
import { ProblemView } from './ui.tsx';

export interface LoginPageProps {
  readonly heading: string;
  readonly intro?: ReactNode;
  /** A logo shown above the heading (a dedicated delivery's). */
  readonly logo?: string;
  /** Why the user is here again (an ended session). */
  readonly message?: string | null;
  readonly onSignedIn: (answer: LoginAnswer) => void;
}

/** What a failed sign-in says: a wrong password is not an "Unauthorized (401)". */
function signInProblem(problem: ApiProblem | null): ApiProblem | null {
  if (problem === null) return null;
  if (problem.status === 401) {
    return new ApiProblem({
      ...problem,
      title: 'Wrong username or password',
      detail: `${problem.detail || 'Invalid credentials'}. Check both and try again; five failures within a quarter of an hour (:00, :15, :30, :45) lock the username here until that quarter ends.`,
    });
  }
  if (problem.status === 429) {
    return new ApiProblem({ ...problem, title: 'Too many failed sign-ins' });
  }
  return problem;
}

export function LoginPage({ heading, intro, logo, message, onSignedIn }: LoginPageProps) {
  const [username, setUsername] = useState('');
  const [password, setPassword] = useState('');
  const usernameRef = useRef<HTMLInputElement>(null);
  const passwordRef = useRef<HTMLInputElement>(null);
  const login = useAction(async () => {
    const answer = await api.post<LoginAnswer>(
      '/api/auth/login',
      { username, password, session: 'cookie' },
      { auth: false },
    );
    setCsrfToken(answer.csrfToken);
    return answer;
  });

  useEffect(() => {
    usernameRef.current?.focus();
  }, []);

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    const answer = await login.run();
    if (answer !== undefined) onSignedIn(answer);
    else {
      // The password is typed again where the cursor already is (the disabled button dropped focus).
      setPassword('');
      passwordRef.current?.focus();
    }
  };

  return (
    <main className="login" id="main">
      <div className="login-card card">
        {logo === undefined ? null : <img className="brand-logo large" src={logo} alt="" />}
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
              ref={passwordRef}
              type="password"
              autoComplete="current-password"
              required
              value={password}
              onChange={(event) => setPassword(event.target.value)}
            />
          </div>
          <div id="login-problem">
            <ProblemView problem={signInProblem(login.problem)} />
          </div>
          <button type="submit" disabled={login.pending}>
            {login.pending ? 'Signing in…' : 'Sign in'}
          </button>
        </form>
      </div>
    </main>
  );
}
