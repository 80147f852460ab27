/** Small building blocks every page uses: loading, problem, empty and unavailable states, badges, dates. */
import {
  type InputHTMLAttributes,
  type ReactNode,
  useCallback,
  useEffect,
  useId,
  useRef,
  useState,
} from 'react';
import { readableUtc } from '../../../functions/contract/index.ts';
import { humanTitle, type ProblemDetails, unsaidFields } from './api.ts';
import type { Loadable, PagedList } from './hooks.ts';

export function Loading({ label = 'Loading…' }: { readonly label?: string }) {
  return (
    <p className="loading" role="status">
      <span className="spinner" aria-hidden="true" />
      {label}
    </p>
  );
}

/**
 * An API problem as the user should see it: its heading, its detail and each field's message the
 * detail does not already say.
 */
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
  // The API's titles are HTTP's ("Unauthorized"); people get a plain heading, and the detail under it.
  const heading = GENERIC_TITLES.has(problem.title) ? humanTitle(problem) : problem.title;
  const fields = unsaidFields(problem.detail, problem.errors);
  return (
    <div className="problem" role="alert" tabIndex={-1} ref={ref} data-problem={problem.type}>
      <p className="problem-title">{heading}</p>
      {problem.detail !== '' && problem.detail !== heading ? <p>{problem.detail}</p> : null}
      {fields.length > 0 ? (
        <ul className="problem-fields">
          {fields.map((error) => (
            <li key={`${error.path}:${error.message}`}>
              {error.path === '' ? null : <code>{error.path}</code>} {error.message}
            </li>
          ))}
        </ul>
      ) : null}
    </div>
  );
}

/** The titles the API gives by HTTP status; replaced by a plain-language heading on screen. */
const GENERIC_TITLES: ReadonlySet<string> = new Set([
  'Bad Request',
  'Unauthorized',
  'Forbidden',
  'Not Found',
  'Method Not Allowed',
  'Conflict',
  'Content Too Large',
  'Unsupported Media Type',
  'Unprocessable Content',
  'Too Many Requests',
  'Internal Server Error',
  'Bad Gateway',
  'Service Unavailable',
  'Error',
]);

export interface ConfirmRequest {
  readonly title: string;
  readonly body: ReactNode;
  /** The confirming button's label (say what happens: "Confirm payment", "Archive"). */
  readonly confirm: string;
  /**
   * The dismissing button's label, when "Cancel" would read as the action itself (cancelling a run:
   * "Keep running" beside "Cancel the run"). @default 'Cancel'
   */
  readonly dismiss?: string;
  readonly danger?: boolean;
}

/**
 * Asks before a consequential action, in a modal `<dialog>` (focus stays inside, Escape cancels,
 * focus returns where it was). `confirm(...)` resolves true only when the user confirms.
 */
export function useConfirm(): { confirm: (request: ConfirmRequest) => Promise<boolean>; dialog: ReactNode } {
  const [pending, setPending] = useState<(ConfirmRequest & { resolve: (ok: boolean) => void }) | null>(null);
  const ref = useRef<HTMLDialogElement>(null);
  const titleId = useId();
  useEffect(() => {
    const dialog = ref.current;
    if (pending !== null && dialog !== null && !dialog.open) dialog.showModal();
  }, [pending]);
  const confirm = useCallback(
    (request: ConfirmRequest) =>
      new Promise<boolean>((resolve) => {
        setPending({ ...request, resolve });
      }),
    [],
  );
  const finish = (ok: boolean) => {
    const current = pending;
    ref.current?.close();
    setPending(null);
    current?.resolve(ok);
  };
  const dialog =
    pending === null ? null : (
      <dialog
        ref={ref}
        className="confirm"
        aria-labelledby={titleId}
        onCancel={(event) => {
          event.preventDefault();
          finish(false);
        }}
      >
        <h2 id={titleId}>{pending.title}</h2>
        <div className="confirm-body">{pending.body}</div>
        <div className="form-actions">
          <button type="button" className="secondary" onClick={() => finish(false)}>
            {pending.dismiss ?? 'Cancel'}
          </button>
          <button
            type="button"
            className={pending.danger === true ? 'danger' : undefined}
            onClick={() => finish(true)}
          >
            {pending.confirm}
          </button>
        </div>
      </dialog>
    );
  return { confirm, dialog };
}

/** `1.2 s`, `350 ms`, `2 min 5 s`. */
export function formatDuration(ms: number | undefined): string {
  if (ms === undefined || !Number.isFinite(ms) || ms < 0) return '—';
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)} s`;
  const minutes = Math.floor(ms / 60_000);
  const seconds = Math.round((ms % 60_000) / 1000);
  return minutes < 60 ? `${minutes} min ${seconds} s` : `${Math.floor(minutes / 60)} h ${minutes % 60} min`;
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

/** A loaded list: its empty state when it has no items, otherwise what `children` makes of them. */
export function ShowList<T>({
  state,
  loading,
  unavailable,
  empty,
  children,
}: {
  readonly state: Loadable<readonly T[]>;
  readonly loading?: string;
  readonly unavailable?: string;
  /** The content of the empty state (its paragraphs). */
  readonly empty: ReactNode;
  readonly children: (items: readonly T[]) => ReactNode;
}) {
  return (
    <Show state={state} loading={loading} unavailable={unavailable}>
      {(items) => (items.length === 0 ? <Empty>{empty}</Empty> : children(items))}
    </Show>
  );
}

/** A scrollable table with one header row of column names; `children` are the body rows. */
export function Table({
  columns,
  children,
}: {
  readonly columns: readonly string[];
  readonly children: ReactNode;
}) {
  return (
    <div className="table-wrap">
      <table>
        <thead>
          <tr>
            {columns.map((column) => (
              <th key={column} scope="col">
                {column}
              </th>
            ))}
          </tr>
        </thead>
        <tbody>{children}</tbody>
      </table>
    </div>
  );
}

type ChecksProps = {
  readonly options: readonly string[];
  readonly selected: readonly string[];
  readonly onChange: (update: (previous: string[]) => string[]) => void;
  /** What each option shows. @default the option itself */
  readonly label?: (option: string) => ReactNode;
};

/** Checkboxes, one per option, choosing a subset (kept in the order they were ticked). */
export function Checks({ options, selected, onChange, label }: ChecksProps) {
  return (
    <div className="checks">
      {options.map((option) => (
        <label key={option} className="check">
          <input
            type="checkbox"
            checked={selected.includes(option)}
            onChange={(e) =>
              onChange((previous) =>
                e.target.checked ? [...previous, option] : previous.filter((o) => o !== option),
              )
            }
          />
          {label === undefined ? option : label(option)}
        </label>
      ))}
    </div>
  );
}

/** A fieldset named by its legend, holding `Checks`. */
export function CheckList({
  legend,
  legendClassName,
  ...checks
}: ChecksProps & { readonly legend: ReactNode; readonly legendClassName?: string }) {
  return (
    <fieldset>
      <legend className={legendClassName}>{legend}</legend>
      <Checks {...checks} />
    </fieldset>
  );
}

/** The `option`s of a select whose values are shown as they are. */
export function Options({ values }: { readonly values: readonly string[] }) {
  return (
    <>
      {values.map((value) => (
        <option key={value} value={value}>
          {value}
        </option>
      ))}
    </>
  );
}

/**
 * A labelled text input in a form field; `onChange` receives the new text. A `hint` (the rule the
 * value must follow) shows under it from the start, not only once the browser refuses the value; an
 * `error` (what is wrong with it now, e.g. the API's field error) shows under it and marks it invalid.
 */
export function TextField({
  id,
  label,
  hint,
  error,
  onChange,
  ...input
}: Omit<InputHTMLAttributes<HTMLInputElement>, 'id' | 'value' | 'onChange'> & {
  readonly id: string;
  readonly label: string;
  readonly hint?: string;
  readonly error?: string | undefined;
  readonly value: string;
  readonly onChange: (value: string) => void;
}) {
  const described = [hint === undefined ? null : `${id}-hint`, error === undefined ? null : `${id}-error`]
    .filter((part) => part !== null)
    .join(' ');
  return (
    <div className="field">
      <label htmlFor={id}>{label}</label>
      <input
        id={id}
        {...input}
        {...(described === '' ? {} : { 'aria-describedby': described })}
        {...(error === undefined ? {} : { 'aria-invalid': true })}
        onChange={(e) => onChange(e.target.value)}
      />
      {hint === undefined ? null : (
        <p id={`${id}-hint`} className="hint">
          {hint}
        </p>
      )}
      {error === undefined ? null : (
        <p id={`${id}-error`} className="field-error">
          {error}
        </p>
      )}
    </div>
  );
}

/** The message of a problem's field error for `path`, if it names that field. */
export function fieldError(problem: ProblemDetails | null, path: string): string | undefined {
  return problem?.errors.find((error) => error.path === path)?.message;
}

/**
 * A form's end: the write's problem, if any, then its submit button (disabled while it runs, and
 * while there is a `reason` not to submit, which shows beside it).
 */
export function Submit({
  action,
  className,
  disabled = false,
  reason,
  busy,
  children,
}: {
  readonly action: { readonly pending: boolean; readonly problem: ProblemDetails | null };
  readonly className?: string;
  readonly disabled?: boolean;
  /** Why the form cannot be submitted now: disables the button and says so beside it. @default none */
  readonly reason?: ReactNode;
  /** The button's label while the write runs (its usual label otherwise). */
  readonly busy?: string;
  readonly children: ReactNode;
}) {
  const reasonId = useId();
  const held = reason !== undefined && reason !== null && reason !== '';
  return (
    <>
      <ProblemView problem={action.problem} />
      <div className="with-reason">
        <button
          type="submit"
          className={className}
          disabled={action.pending || disabled || held}
          {...(held ? { 'aria-describedby': reasonId } : {})}
        >
          {action.pending && busy !== undefined ? busy : children}
        </button>
        {held ? <DisabledReason id={reasonId}>{reason}</DisabledReason> : null}
      </div>
    </>
  );
}

/**
 * Why the control beside it is disabled, as text on the page (a `title` tooltip reaches neither
 * touch screens nor most readers); the control names it with `aria-describedby={id}`.
 */
export function DisabledReason({ id, children }: { readonly id: string; readonly children: ReactNode }) {
  return (
    <span id={id} className="disabled-reason">
      {children}
    </span>
  );
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
  online: 'good',
  offline: 'warn',
  revoked: 'bad',
  running: 'busy',
  queued: 'busy',
  requested: 'busy',
  pending: 'busy',
  pending_approval: 'warn',
  'pending-dns': 'warn',
  provisioning: 'busy',
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

/**
 * An instant in the API's own words (`8 Dec 2026, 03:31 UTC`, `readableUtc`): the notifications
 * (home, announcements, approvals) say their dates this way, because the notices' bodies the API
 * writes already do, and one card must not say the same moment in two formats.
 */
export function UtcDateTime({ value }: { readonly value: string | undefined }) {
  if (value === undefined || value === '') return <>—</>;
  return <time dateTime={value}>{readableUtc(value) ?? value}</time>;
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
