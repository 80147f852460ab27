/**
 * What both signed-in consoles share: the host check (`GET /api/health`), sign-in and sign-out,
 * the caller (`GET /api/me`, whose `menus` are rendered exactly as given), a page for anything the
 * caller's menus do not include, and the frame around each page.
 */
import { type ReactNode, useEffect, useState } from 'react';
import {
  type ApiProblem,
  api,
  clearSession,
  type Health,
  loadSession,
  type Me,
  onSessionEnded,
  type Session,
} from './api.ts';
import { useResource } from './hooks.ts';
import { LoginPage } from './login.tsx';
import { navigate, pathSegments, useLocation } from './router.tsx';
import { Shell } from './shell.tsx';
import { Empty, Loading, PageHeader, ProblemView } from './ui.tsx';

export interface RoutedPage {
  /** The menu this page belongs to (highlighted, and required: without it the page is refused). */
  readonly menu: string | null;
  readonly element: ReactNode;
}

export interface ConsoleProps {
  readonly product: string;
  /** Which domain kind this site expects; a host bound to the other kind gets an explanation. */
  readonly expects: Health['domain'];
  readonly loginHeading: (health: Health) => string;
  readonly loginIntro?: ReactNode;
  readonly context: (me: Me, health: Health) => string;
  readonly banner?: (me: Me) => ReactNode;
  /** The page for a path (split into segments), or null when there is none. */
  readonly route: (segments: readonly string[], me: Me) => RoutedPage | null;
}

export function Console(props: ConsoleProps) {
  const [session, setSession] = useState<Session | null>(() => loadSession());
  const [ended, setEnded] = useState<string | null>(null);
  const health = useResource<Health>('/api/health');

  useEffect(
    () =>
      onSessionEnded(() => {
        setSession(null);
        setEnded('Your session has ended. Please sign in again.');
      }),
    [],
  );

  if (health.state.status === 'loading') return <Loading label="Connecting…" />;
  if (health.state.status === 'error') return <HostProblem problem={health.state.problem} />;
  const bound = health.state.data;
  if (bound.domain !== props.expects) {
    return (
      <main className="login" id="main">
        <div className="login-card card">
          <h1>Wrong address</h1>
          <p>
            This address belongs to {bound.domain === 'tenant' ? 'an organisation' : 'the platform'}, not to
            this site.
          </p>
        </div>
      </main>
    );
  }
  if (session === null) {
    return (
      <LoginPage
        heading={props.loginHeading(bound)}
        intro={props.loginIntro}
        message={ended}
        onSignedIn={(next) => {
          setEnded(null);
          setSession(next);
        }}
      />
    );
  }
  return (
    <SignedIn
      key={session.token}
      {...props}
      health={bound}
      session={session}
      onSignOut={() => {
        const token = session.token;
        clearSession();
        setSession(null);
        navigate('/', { replace: true });
        // The server forgets the session too; a failure here changes nothing for the user.
        void api
          .post('/api/auth/logout', undefined, { auth: false, headers: { authorization: `Bearer ${token}` } })
          .catch(() => undefined);
      }}
    />
  );
}

/** Replaces the address (the start page is the first menu); renders nothing meanwhile. */
function Redirect({ to }: { readonly to: string }) {
  useEffect(() => navigate(to, { replace: true }), [to]);
  return <Loading />;
}

function HostProblem({ problem }: { readonly problem: ApiProblem }) {
  const unknown = problem.status === 404;
  return (
    <main className="login" id="main">
      <div className="login-card card">
        <h1>{unknown ? 'Unknown address' : 'Cannot reach ExecFabric'}</h1>
        {unknown ? (
          <p>This address is not bound to any ExecFabric organisation. Check the link you were given.</p>
        ) : (
          <ProblemView problem={problem} />
        )}
      </div>
    </main>
  );
}

function SignedIn(
  props: ConsoleProps & {
    readonly health: Health;
    readonly session: Session;
    readonly onSignOut: () => void;
  },
) {
  const me = useResource<Me>('/api/me');
  const location = useLocation();
  const segments = pathSegments(location.path);

  if (me.state.status === 'loading') return <Loading label="Loading your workspace…" />;
  if (me.state.status === 'error') {
    return (
      <main className="login" id="main">
        <div className="login-card card">
          <h1>Could not load your workspace</h1>
          <ProblemView problem={me.state.problem} />
          <div className="form-actions">
            <button type="button" onClick={me.reload}>
              Try again
            </button>
            <button type="button" className="secondary" onClick={props.onSignOut}>
              Sign out
            </button>
          </div>
        </div>
      </main>
    );
  }
  const caller = me.state.data;
  const first = caller.menus[0];
  const page = segments.length === 0 ? null : props.route(segments, caller);
  const allowed = page !== null && (page.menu === null || caller.menus.some((menu) => menu.id === page.menu));
  let content: ReactNode;
  if (segments.length === 0) {
    content =
      first === undefined ? (
        <>
          <PageHeader title="Welcome" />
          <Empty>
            <p>Your account has no pages yet. Ask an administrator to give you a role.</p>
          </Empty>
        </>
      ) : (
        <Redirect to={`/${first.id}`} />
      );
  } else if (page === null) {
    content = (
      <>
        <PageHeader title="Page not found" />
        <Empty>
          <p>There is no page at this address.</p>
        </Empty>
      </>
    );
  } else if (!allowed) {
    content = (
      <>
        <PageHeader title="Not available to you" />
        <Empty>
          <p>Your role does not include this page. Ask an administrator if you need it.</p>
        </Empty>
      </>
    );
  } else {
    content = page.element;
  }
  return (
    <Shell
      product={props.product}
      context={props.context(caller, props.health)}
      menus={caller.menus}
      activeMenu={page?.menu ?? null}
      menuHref={(id) => `/${id}`}
      username={caller.username}
      onSignOut={props.onSignOut}
      banner={props.banner?.(caller)}
      location={location.path}
    >
      {content}
    </Shell>
  );
}
