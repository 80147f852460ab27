/**
 * What both signed-in consoles share: the host check (`GET /api/health`), the tenant's appearance
 * (`GET /api/branding`: a dedicated delivery's name, logo, colours and menus, applied from the same
 * build), sign-in and sign-out, the caller (`GET /api/me`, whose `menus` are rendered exactly as
 * given), the notification counts, a page for anything the caller's menus do not include, the
 * caller's own account page (`/account`: their password) and the frame around each page.
 *
 * The session is a cookie the page cannot read: on load (a reload, a new tab, a link opened from
 * elsewhere) `GET /api/me` tells whether it is still signed in and hands over the CSRF token — asked
 * only when this browser may hold a session here (`mayHoldSession`), so a signed-out load logs no 401.
 */
import { type ReactNode, useCallback, useEffect, useState } from 'react';
import { AccountPage } from './account.tsx';
import {
  type ApiProblem,
  type Appearance,
  api,
  asProblem,
  type Health,
  type Me,
  mayHoldSession,
  onSessionEnded,
  type PlatformHostLink,
  redeemHandoff,
  setCsrfToken,
  signOut,
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

export interface Notifications {
  readonly approvalsWaiting: number;
  readonly approvalsWaitingMore: boolean;
  readonly unreadAnnouncements: number;
  readonly unreadAnnouncementsMore: boolean;
}

export interface ConsoleProps {
  readonly product: string;
  /** Which domain kind this site expects; a host bound to the other kind gets an explanation. */
  readonly expects: Health['domain'];
  readonly loginHeading: (health: Health, appearance: Appearance | null) => string;
  readonly loginIntro?: ReactNode;
  readonly context: (me: Me, health: Health) => string;
  readonly banner?: (me: Me) => ReactNode;
  /** Where the notification counts come from (tenant front). @default none */
  readonly notifications?: string;
  /** The page for a path (split into segments), or null when there is none. */
  readonly route: (segments: readonly string[], me: Me) => RoutedPage | null;
}

/** Pages ask the frame to read the notification counts again (after a decision, a read mark). */
export const NOTIFICATIONS_CHANGED = 'execfabric:notifications';

export function refreshNotifications(): void {
  window.dispatchEvent(new Event(NOTIFICATIONS_CHANGED));
}

/** Relative luminance of `#rrggbb` (WCAG), to pick readable text on a brand colour. */
function luminance(hex: string): number {
  const channel = (index: number) => {
    const value = Number.parseInt(hex.slice(1 + index * 2, 3 + index * 2), 16) / 255;
    return value <= 0.03928 ? value / 12.92 : ((value + 0.055) / 1.055) ** 2.4;
  };
  return 0.2126 * channel(0) + 0.7152 * channel(1) + 0.0722 * channel(2);
}

/** Applies a dedicated delivery's colours and name to the page; a shared tenant keeps the standard look. */
function applyAppearance(appearance: Appearance | null): void {
  const root = document.documentElement;
  const colors = appearance?.branding?.colors;
  if (appearance?.deliveryMode !== 'dedicated' || appearance.branding === undefined) {
    delete root.dataset.brand;
    for (const name of ['--brand-primary', '--brand-on-primary', '--brand-accent'])
      root.style.removeProperty(name);
    return;
  }
  root.dataset.brand = 'dedicated';
  if (colors?.primary !== undefined) {
    root.style.setProperty('--brand-primary', colors.primary);
    root.style.setProperty('--brand-on-primary', luminance(colors.primary) > 0.45 ? '#111111' : '#ffffff');
  }
  if (colors?.accent !== undefined) root.style.setProperty('--brand-accent', colors.accent);
}

type SessionState =
  | { readonly status: 'checking' }
  /** The pages are gone while the session ends, so none of them asks anything of it meanwhile. */
  | { readonly status: 'signing-out' }
  | { readonly status: 'signed-out'; readonly message: string | null }
  | { readonly status: 'signed-in'; readonly me: Me }
  | { readonly status: 'error'; readonly problem: ApiProblem };

export function Console(props: ConsoleProps) {
  const health = useResource<Health>('/api/health');
  const appearance = useResource<Appearance>(props.expects === 'tenant' ? '/api/branding' : null);
  const [session, setSession] = useState<SessionState>({ status: 'checking' });
  const [generation, setGeneration] = useState(0);
  const shownAppearance = appearance.state.status === 'ready' ? appearance.state.data : null;
  useEffect(() => applyAppearance(shownAppearance), [shownAppearance]);

  useEffect(() => {
    const controller = new AbortController();
    void generation;
    // A sign-up's one-time handoff first (a refused one leaves the sign-in page, with why).
    redeemHandoff()
      .catch((error: unknown) => {
        const problem = asProblem(error);
        setSession({ status: 'signed-out', message: problem.detail || problem.title });
      })
      .then(() => {
        // No session to ask about (none started here, or it ended): the sign-in page, with no 401.
        if (!mayHoldSession()) {
          setSession((previous) =>
            previous.status === 'signed-out' ? previous : { status: 'signed-out', message: null },
          );
          return;
        }
        return api.get<Me>('/api/me', { auth: false, signal: controller.signal }).then((me) => {
          setCsrfToken(me.csrfToken);
          setSession({ status: 'signed-in', me });
        });
      })
      .catch((error: unknown) => {
        if (controller.signal.aborted) return;
        const problem = asProblem(error);
        if (problem.status === 401) setCsrfToken(undefined);
        setSession((previous) =>
          problem.status === 401 || problem.status === 403
            ? {
                status: 'signed-out',
                // A session the API ended for a reason it tells (a new password) says why.
                message:
                  problem.sessionEndMessage ?? (previous.status === 'signed-out' ? previous.message : null),
              }
            : { status: 'error', problem },
        );
      });
    return () => controller.abort();
  }, [generation]);

  useEffect(
    () =>
      onSessionEnded((reason) => {
        setSession({
          status: 'signed-out',
          message: reason || 'Your session has ended. Please sign in again.',
        });
      }),
    [],
  );

  if (health.state.status === 'loading' || session.status === 'checking')
    return <Loading label="Connecting…" />;
  if (session.status === 'signing-out') return <Loading label="Signing out…" />;
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
  const branding = shownAppearance?.branding;
  if (session.status === 'error') {
    return (
      <main className="login" id="main">
        <div className="login-card card">
          <h1>Could not load your workspace</h1>
          <ProblemView problem={session.problem} />
          <button type="button" onClick={() => setGeneration((value) => value + 1)}>
            Try again
          </button>
        </div>
      </main>
    );
  }
  if (session.status === 'signed-out') {
    return (
      <LoginPage
        heading={props.loginHeading(bound, shownAppearance)}
        intro={props.loginIntro}
        {...(branding?.logo === undefined ? {} : { logo: branding.logo })}
        message={session.message}
        onSignedIn={() => setGeneration((value) => value + 1)}
      />
    );
  }
  return (
    <SignedIn
      key={session.me.username}
      {...props}
      health={bound}
      me={session.me}
      appearance={shownAppearance}
      onSignOut={(everywhere) => {
        // The page first, then the request: a page's own request answered after the session ended
        // would be refused (and logged by the browser).
        setSession({ status: 'signing-out' });
        navigate('/', { replace: true });
        void signOut(everywhere).catch(() => undefined);
      }}
    />
  );
}

/** Replaces the address (the start page is the first menu); renders nothing meanwhile. */
function Redirect({ to }: { readonly to: string }) {
  useEffect(() => navigate(to, { replace: true }), [to]);
  return <Loading />;
}

const HOST_ROLE_TEXT: Readonly<Record<PlatformHostLink['role'], string>> = {
  console: 'the governance console',
  tenant: 'an organisation',
  free: 'the personal edition',
  docs: 'the documentation',
};

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
        {unknown && problem.platformHosts !== undefined && problem.platformHosts.length > 0 ? (
          <nav aria-label="This platform's addresses">
            <p>This platform answers at:</p>
            <ul>
              {problem.platformHosts.map((link) => (
                <li key={link.url}>
                  <a href={link.url}>{link.host}</a> — {HOST_ROLE_TEXT[link.role]}
                  {link.name === undefined ? null : ` (${link.name})`}
                </li>
              ))}
            </ul>
          </nav>
        ) : null}
      </div>
    </main>
  );
}

/** The notification counts, read now, every 30 seconds, and whenever a page says they changed. */
function useNotifications(path: string | undefined): Notifications | null {
  const [counts, setCounts] = useState<Notifications | null>(null);
  const load = useCallback(() => {
    if (path === undefined) return;
    api
      .get<Notifications>(path)
      .then(setCounts)
      .catch(() => undefined);
  }, [path]);
  useEffect(() => {
    if (path === undefined) return undefined;
    load();
    const timer = window.setInterval(load, 30_000);
    window.addEventListener(NOTIFICATIONS_CHANGED, load);
    return () => {
      window.clearInterval(timer);
      window.removeEventListener(NOTIFICATIONS_CHANGED, load);
    };
  }, [path, load]);
  return counts;
}

function SignedIn(
  props: ConsoleProps & {
    readonly health: Health;
    readonly me: Me;
    readonly appearance: Appearance | null;
    readonly onSignOut: (everywhere: boolean) => void;
  },
) {
  const location = useLocation();
  const segments = pathSegments(location.path);
  const counts = useNotifications(props.notifications);
  const caller = props.me;
  const first = caller.menus[0];
  // Every signed-in user's own account (their password), on every console, whatever their menus.
  const page: RoutedPage | null =
    segments.length === 1 && segments[0] === 'account'
      ? { menu: null, element: <AccountPage me={caller} /> }
      : segments.length === 0
        ? null
        : props.route(segments, caller);
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
  const branding = props.appearance?.branding;
  return (
    <Shell
      product={branding?.displayName ?? props.product}
      {...(branding?.logo === undefined ? {} : { logo: branding.logo })}
      context={props.context(caller, props.health)}
      menus={caller.menus}
      badges={
        counts === null
          ? {}
          : { approvals: { count: counts.approvalsWaiting, more: counts.approvalsWaitingMore } }
      }
      unread={
        counts === null
          ? { count: 0 }
          : { count: counts.unreadAnnouncements, more: counts.unreadAnnouncementsMore }
      }
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
