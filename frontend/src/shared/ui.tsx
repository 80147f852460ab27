/** Small building blocks every page uses: loading, problem, empty and unavailable states, badges, dates. */
import { type ReactNode, useEffect, useId, useRef } from 'react';
import type { ProblemDetails } from './api.ts';
import type { Loadable, PagedList } from './hooks.ts';

export function Loading({ label = 'Loading…' }: { readonly label?: string }) {
  return (
    <p className="loading" role="status">
      <span className="spinner" aria-hidden="true" />
      {label}
    </p>
  );
}

/** An API problem as the user should see it: its title, its detail and each field's message. */
export function ProblemView({
  problem,
  focus = false,
}: {
  readonly problem: ProblemDetails | null;
  readonly focus?: boolean;
}) {
  const ref = useRef<HTMLDivElement>(null);
  useEffect(() => {
    if (focus && problem !== null) ref.current?.focus();
  }, [focus, problem]);
  if (problem === null) return null;
  return (
    <div className="problem" role="alert" tabIndex={-1} ref={ref}>
      <p className="problem-title">
        {problem.title}
        {problem.status > 0 ? <span className="problem-status"> ({problem.status})</span> : null}
      </p>
      {problem.detail !== '' && problem.detail !== problem.title ? <p>{problem.detail}</p> : null}
      {problem.errors.length > 0 ? (
        <ul className="problem-fields">
          {problem.errors.map((error) => (
            <li key={`${error.path}:${error.message}`}>
              {error.path === '' ? null : <code>{error.path}</code>} {error.message}
            </li>
          ))}
        </ul>
      ) : null}
    </div>
  );
}

export function Empty({ children }: { readonly children: ReactNode }) {
  return <div className="empty">{children}</div>;
}

/** A feature whose API is not on this platform yet (the route answers 404). */
export function Unavailable({ feature }: { readonly feature: string }) {
  return (
    <div className="empty unavailable">
      <p>
        <strong>{feature} is not available on this platform yet.</strong>
      </p>
      <p>The server does not offer this part of the API. Nothing is wrong with your account.</p>
    </div>
  );
}

/** Renders a loadable value: a loading line, the problem (or the unavailable state), or the content. */
export function Show<T>({
  state,
  loading,
  unavailable,
  children,
}: {
  readonly state: Loadable<T>;
  readonly loading?: string;
  /** Name of the feature, when a missing route means "not available yet" rather than an error. */
  readonly unavailable?: string;
  readonly children: (data: T) => ReactNode;
}) {
  if (state.status === 'loading') return <Loading label={loading} />;
  if (state.status === 'error') {
    if (unavailable !== undefined && state.problem.routeMissing) return <Unavailable feature={unavailable} />;
    return <ProblemView problem={state.problem} />;
  }
  return <>{children(state.data)}</>;
}

export function LoadMore<T>({ list }: { readonly list: PagedList<T> }) {
  if (!list.hasMore && list.moreProblem === null) return null;
  return (
    <div className="load-more">
      <ProblemView problem={list.moreProblem} />
      {list.hasMore ? (
        <button type="button" className="secondary" onClick={list.loadMore} disabled={list.loadingMore}>
          {list.loadingMore ? 'Loading…' : 'Load more'}
        </button>
      ) : null}
    </div>
  );
}

const TONES: Readonly<Record<string, string>> = {
  succeeded: 'good',
  active: 'good',
  paid: 'good',
  low: 'good',
  valid: 'good',
  running: 'busy',
  queued: 'busy',
  requested: 'busy',
  pending: 'busy',
  pending_approval: 'warn',
  trial: 'info',
  medium: 'warn',
  grace: 'warn',
  warning: 'warn',
  high: 'bad',
  critical: 'bad',
  failed: 'bad',
  timed_out: 'bad',
  rejected: 'bad',
  cancelled: 'muted',
  suspended: 'bad',
  archived: 'muted',
  disabled: 'muted',
  info: 'info',
};

export function Badge({ value, label }: { readonly value: string; readonly label?: string }) {
  return <span className={`badge tone-${TONES[value] ?? 'muted'}`}>{label ?? value.replace(/_/g, ' ')}</span>;
}

export function formatDateTime(value: string | undefined): string {
  if (value === undefined || value === '') return '—';
  const date = new Date(value);
  if (Number.isNaN(date.getTime())) return value;
  return date.toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'short' });
}

export function formatDate(value: string | undefined): string {
  if (value === undefined || value === '') return '—';
  const date = new Date(value);
  if (Number.isNaN(date.getTime())) return value;
  return date.toLocaleDateString(undefined, { dateStyle: 'medium' });
}

export function DateTime({ value }: { readonly value: string | undefined }) {
  if (value === undefined) return <>—</>;
  return <time dateTime={value}>{formatDateTime(value)}</time>;
}

/** Preformatted text named for assistive technology (a figure carries the name; a bare `pre` cannot). */
export function CodeBlock({
  label,
  source = false,
  children,
}: {
  readonly label: string;
  /** Source code keeps its lines (scrolls sideways) instead of wrapping. */
  readonly source?: boolean;
  readonly children: ReactNode;
}) {
  return (
    <figure className="code-figure" aria-label={label}>
      <pre className={source ? 'code source' : 'code'}>{children}</pre>
    </figure>
  );
}

export function JsonBlock({ value, label }: { readonly value: unknown; readonly label: string }) {
  return <CodeBlock label={label}>{JSON.stringify(value, null, 2)}</CodeBlock>;
}

export function PageHeader({ title, children }: { readonly title: string; readonly children?: ReactNode }) {
  return (
    <div className="page-header">
      <h1 id="page-title" tabIndex={-1}>
        {title}
      </h1>
      {children === undefined ? null : <div className="page-actions">{children}</div>}
    </div>
  );
}

/** A labelled region of a page (its heading names it for assistive technology). */
export function Section({
  title,
  children,
  className,
}: {
  readonly title: string;
  readonly children: ReactNode;
  readonly className?: string;
}) {
  const id = useId();
  return (
    <section className={`card ${className ?? ''}`} aria-labelledby={id}>
      <h2 id={id}>{title}</h2>
      {children}
    </section>
  );
}

/** A short confirmation after a write, announced politely. */
export function Notice({ children }: { readonly children: ReactNode }) {
  if (children === null || children === undefined || children === '') return null;
  return (
    <p className="notice" role="status">
      {children}
    </p>
  );
}

/** Splits a comma- or newline-separated list typed by a user. */
export function splitList(value: string): string[] {
  return value
    .split(/[\n,]/)
    .map((part) => part.trim())
    .filter((part) => part !== '');
}
