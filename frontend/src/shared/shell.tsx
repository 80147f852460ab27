/**
 * The signed-in frame of both consoles: a skip link, the header with who is signed in, the menus
 * the API gave this user (exactly those, in that order), and the page. On phone widths the menu
 * folds behind a button. After each navigation focus moves to the new page's heading.
 */
import { type ReactNode, Suspense, useEffect, useRef, useState } from 'react';
import type { Menu } from './api.ts';
import { Link } from './router.tsx';
import { Loading } from './ui.tsx';

export interface ShellProps {
  readonly product: string;
  /** Where the user is: the tenant's name, or "Platform governance". */
  readonly context: string;
  readonly menus: readonly Menu[];
  readonly activeMenu: string | null;
  readonly menuHref: (id: string) => string;
  readonly username: string;
  readonly onSignOut: () => void;
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

  return (
    <div className="app">
      <a className="skip-link" href="#main">
        Skip to content
      </a>
      <header className="topbar">
        <div className="brand">
          <span className="product">{props.product}</span>
          <span className="context">{props.context}</span>
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
          <span className="username" title="Signed in as">
            {props.username}
          </span>
          <button type="button" className="secondary small" onClick={props.onSignOut}>
            Sign out
          </button>
        </div>
      </header>
      <nav id="main-nav" className={menuOpen ? 'nav open' : 'nav'} aria-label="Main">
        <ul>
          {props.menus.map((menu) => (
            <li key={menu.id}>
              <Link
                to={props.menuHref(menu.id)}
                data-menu={menu.id}
                aria-current={props.activeMenu === menu.id ? 'page' : undefined}
              >
                {menu.label}
              </Link>
            </li>
          ))}
        </ul>
      </nav>
      <main id="main" tabIndex={-1}>
        {props.banner}
        <Suspense fallback={<Loading />}>{props.children}</Suspense>
      </main>
    </div>
  );
}
