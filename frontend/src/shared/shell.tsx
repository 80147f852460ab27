/**
 * The signed-in frame of both consoles: a skip link, the header with who is signed in (a link to
 * their account page, where they change their password) (and a
 * dedicated delivery's name and logo), the menus the API gave this user (exactly those, in that
 * order, with a count where something waits: approvals), and the page. On phone widths the menu
 * folds behind a button. After each navigation focus moves to the new page's heading.
 */
import { type ReactNode, Suspense, useEffect, useRef, useState } from 'react';
import type { Menu } from './api.ts';
import { Link } from './router.tsx';
import { Loading } from './ui.tsx';

/** A count the API caps: `more` when more are there than it counted (shown "100+"). */
export interface Count {
  readonly count: number;
  readonly more?: boolean;
}

const NONE: Count = { count: 0 };

export function countLabel(value: Count): string {
  return value.more === true ? `${value.count}+` : String(value.count);
}

export interface ShellProps {
  readonly product: string;
  readonly logo?: string;
  /** Where the user is: the tenant's name, or "Platform governance". */
  readonly context: string;
  readonly menus: readonly Menu[];
  /** Counts shown beside menus (e.g. runs waiting for this user's approval). */
  readonly badges?: Readonly<Record<string, Count>>;
  /** Announcements the user has not read (a link to the home page, where they show). */
  readonly unread?: Count;
  readonly activeMenu: string | null;
  readonly menuHref: (id: string) => string;
  readonly username: string;
  readonly onSignOut: (everywhere: boolean) => void;
  readonly banner?: ReactNode;
  /** Changes on every navigation (moves focus to the page heading). */
  readonly location: string;
  readonly children: ReactNode;
}

export function Shell(props: ShellProps) {
  const [menuOpen, setMenuOpen] = useState(false);
  const { location } = props;
  const shownLocation = useRef(location);

  useEffect(() => {
    // Focus follows navigation only; the first render keeps focus where the browser put it.
    if (shownLocation.current === location) return;
    shownLocation.current = location;
    setMenuOpen(false);
    document.getElementById('page-title')?.focus({ preventScroll: true });
  }, [location]);

  const unread = props.unread ?? NONE;
  const hasHome = props.menus.some((menu) => menu.id === 'home');
  return (
    <div className="app">
      <a className="skip-link" href="#main">
        Skip to content
      </a>
      <header className="topbar">
        <div className="brand">
          {props.logo === undefined ? null : <img className="brand-logo" src={props.logo} alt="" />}
          <div className="brand-text">
            <span className="product">{props.product}</span>
            <span className="context">{props.context}</span>
          </div>
        </div>
        <button
          type="button"
          className="menu-toggle secondary"
          aria-expanded={menuOpen}
          aria-controls="main-nav"
          onClick={() => setMenuOpen((open) => !open)}
        >
          Menu
        </button>
        <div className="who">
          {unread.count > 0 && hasHome ? (
            <Link
              className="notify"
              to="/home"
              aria-label={`${countLabel(unread)} unread notification${unread.count === 1 && unread.more !== true ? '' : 's'}`}
            >
              <span aria-hidden="true">●</span> {countLabel(unread)}
            </Link>
          ) : null}
          <Link className="username" to="/account" title="Your account: change your password">
            <span className="visually-hidden">Your account: </span>
            {props.username}
          </Link>
          <button type="button" className="secondary small" onClick={() => props.onSignOut(false)}>
            Sign out
          </button>
          <button
            type="button"
            className="secondary small"
            title="Sign out on every browser and device, and end the access tokens and AI clients you made"
            onClick={() => props.onSignOut(true)}
          >
            End all sessions
          </button>
        </div>
      </header>
      <nav id="main-nav" className={menuOpen ? 'nav open' : 'nav'} aria-label="Main">
        <ul>
          {props.menus.map((menu) => {
            const badge = props.badges?.[menu.id] ?? NONE;
            const count = badge.count;
            return (
              <li key={menu.id}>
                <Link
                  to={props.menuHref(menu.id)}
                  data-menu={menu.id}
                  aria-current={props.activeMenu === menu.id ? 'page' : undefined}
                >
                  <span className="menu-label">{menu.label}</span>
                  {count > 0 ? (
                    <span className="count" data-count={countLabel(badge)}>
                      <span className="visually-hidden"> (</span>
                      {countLabel(badge)}
                      <span className="visually-hidden"> waiting)</span>
                    </span>
                  ) : null}
                </Link>
              </li>
            );
          })}
        </ul>
      </nav>
      <main id="main" tabIndex={-1}>
        {props.banner}
        <Suspense fallback={<Loading />}>{props.children}</Suspense>
      </main>
    </div>
  );
}
