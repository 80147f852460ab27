/**
 * Runs: one run watched live (status, log lines as they arrive, result, error, who approved it),
 * approved or rejected while it waits (as in the inbox), cancelled (with a confirmation) or run
 * again with the same or an edited input; and the history of runs, filtered by status, Skill,
 * requester and dates (kept in the address, so a filtered view can be shared), or found by its id.
 */
import { useEffect, useRef, useState } from 'react';
import {
  apiPath,
  EXECUTION_STATUSES,
  type Execution,
  type HttpResourceSummary,
  type InboxItem,
  isTerminal,
  type LogChunk,
  type LogPage,
  MAX_CANCEL_REASON,
  type Skill,
} from '../../../functions/contract/index.ts';
import {
  type ApiProblem,
  api,
  asProblem,
  idempotencyHeaders,
  type Me,
  segment,
  withQuery,
} from '../shared/api.ts';
import { refreshNotifications } from '../shared/console.tsx';
import { ClearFilters, useAddressFilters } from '../shared/filters.tsx';
import { type Loadable, useAction, useNotice, usePaged, useResource } from '../shared/hooks.ts';
import { Link, navigate } from '../shared/router.tsx';
import {
  Badge,
  DateTime,
  formatDuration,
  JsonBlock,
  LoadMore,
  Notice,
  PageHeader,
  ProblemView,
  Section,
  Show,
  ShowList,
  Table,
  useConfirm,
} from '../shared/ui.tsx';
import { AgentNote, Decision } from './inbox.tsx';

const FIRST_POLL_MS = 300;
const MAX_POLL_MS = 1_000;
/** A run waiting for people is polled slowly. */
const WAITING_POLL_MS = 3_000;
/** A running job's log is read this often (the runtime sends it about every half second). */
const LOG_POLL_MS = 500;

function retryable(problem: ApiProblem): boolean {
  return problem.status === 0 || problem.status >= 500 || problem.status === 429;
}

/** Reads a run and keeps reading it (at most a second apart) until it reaches a terminal status. */
export function useExecution(id: string): { state: Loadable<Execution>; refresh: () => void } {
  const [state, setState] = useState<Loadable<Execution>>({ status: 'loading' });
  const [generation, setGeneration] = useState(0);
  useEffect(() => {
    let stopped = false;
    let timer: number | undefined;
    let delay = FIRST_POLL_MS;
    void generation;
    const poll = async () => {
      try {
        const execution = await api.get<Execution>(apiPath('/api/executions/{id}', { id }));
        if (stopped) return;
        setState({ status: 'ready', data: execution });
        if (isTerminal(execution.status)) return;
        const wait = execution.status === 'pending_approval' ? WAITING_POLL_MS : delay;
        delay = Math.min(MAX_POLL_MS, Math.round(delay * 1.5));
        timer = window.setTimeout(poll, wait);
      } catch (error) {
        if (stopped) return;
        const problem = asProblem(error);
        setState((previous) => (previous.status === 'ready' ? previous : { status: 'error', problem }));
        // Transient failures are retried; a missing run or a refused session is not.
        if (retryable(problem)) timer = window.setTimeout(poll, MAX_POLL_MS);
      }
    };
    void poll();
    return () => {
      stopped = true;
      if (timer !== undefined) window.clearTimeout(timer);
    };
  }, [id, generation]);
  return { state, refresh: () => setGeneration((value) => value + 1) };
}

/**
 * The run's log, page after page from `GET /api/executions/{id}/logs?after=<cursor>`, every second
 * while the run goes, until the answer says it is complete.
 */
export function useLogs(
  id: string,
  ended: boolean,
): { chunks: readonly LogChunk[]; truncated: boolean; problem: ApiProblem | null } {
  const [chunks, setChunks] = useState<readonly LogChunk[]>([]);
  const [truncated, setTruncated] = useState(false);
  const [problem, setProblem] = useState<ApiProblem | null>(null);
  const cursor = useRef<string | undefined>(undefined);
  const endedRef = useRef(ended);
  endedRef.current = ended;
  useEffect(() => {
    let stopped = false;
    let timer: number | undefined;
    cursor.current = undefined;
    setChunks([]);
    const poll = async () => {
      try {
        const page = await api.get<LogPage>(
          withQuery(apiPath('/api/executions/{id}/logs', { id }), { after: cursor.current }),
        );
        if (stopped) return;
        setProblem(null);
        if (page.chunks.length > 0) setChunks((previous) => [...previous, ...page.chunks]);
        cursor.current = page.cursor;
        setTruncated(page.truncated);
        if (page.complete) return;
        // A full page means more is waiting: read on at once.
        timer = window.setTimeout(poll, page.chunks.length >= 200 ? 0 : LOG_POLL_MS);
      } catch (error) {
        if (stopped) return;
        const failure = asProblem(error);
        setProblem(failure);
        if (retryable(failure) || !endedRef.current) timer = window.setTimeout(poll, 2_000);
      }
    };
    void poll();
    return () => {
      stopped = true;
      if (timer !== undefined) window.clearTimeout(timer);
    };
  }, [id]);
  return { chunks, truncated, problem };
}

const STATUS_TEXT: Readonly<Record<string, string>> = {
  requested: 'Requested…',
  pending_approval: 'Waiting for approval. The run starts once the required approvers agree.',
  queued: 'Queued, waiting for a worker…',
  running: 'Running…',
  succeeded: 'Finished successfully.',
  failed: 'The run failed.',
  timed_out: 'The run took longer than its time limit and was stopped.',
  rejected: 'An approver rejected this run.',
  cancelled: 'The run was cancelled.',
};

/** The API's lower-case reason ("waiting for agent laptop (online) to pick it up") as a sentence. */
function sentence(reason: string): string {
  return `${reason.charAt(0).toUpperCase()}${reason.slice(1)}.`;
}

/** Seconds since `from`, ticking while the run goes. */
function Elapsed({ from }: { readonly from: string }) {
  const [now, setNow] = useState(Date.now());
  useEffect(() => {
    const timer = window.setInterval(() => setNow(Date.now()), 1000);
    return () => window.clearInterval(timer);
  }, []);
  return <span className="muted"> · {formatDuration(now - Date.parse(from))} so far</span>;
}

function LogView({
  id,
  ended,
  headingLevel,
}: {
  readonly id: string;
  readonly ended: boolean;
  readonly headingLevel: 2 | 3;
}) {
  const { chunks, truncated, problem } = useLogs(id, ended);
  const Heading = headingLevel === 2 ? 'h2' : 'h3';
  const end = useRef<HTMLDivElement>(null);
  // Follow the newest line while the run goes.
  useEffect(() => {
    if (!ended && chunks.length > 0) end.current?.scrollIntoView({ block: 'nearest' });
  }, [chunks.length, ended]);
  return (
    <section aria-label="Logs">
      <Heading>Logs{truncated ? ' (truncated)' : ''}</Heading>
      {chunks.length === 0 ? (
        <p className="muted">{ended ? 'The run printed nothing.' : 'Waiting for output…'}</p>
      ) : (
        <figure className="code-figure" aria-label="Log">
          <div className="code source log" role="log" aria-live="polite">
            {chunks.map((chunk) => (
              <span key={chunk.seq} className={`log-chunk ${chunk.stream}`} data-stream={chunk.stream}>
                {chunk.text}
                {chunk.text.endsWith('\n') ? '' : '\n'}
              </span>
            ))}
            <div ref={end} />
          </div>
        </figure>
      )}
      <ProblemView problem={problem} />
    </section>
  );
}

/**
 * The HTTP calls a run made, each with its resource's name — from the tenant's granted resources when
 * the viewer may list them (Skill managers), else the resource's id.
 */
function EgressCalls({
  calls,
  namesVisible,
}: {
  readonly calls: NonNullable<Execution['egress']>;
  readonly namesVisible: boolean;
}) {
  const { state } = useResource<{ items: HttpResourceSummary[] }>(
    namesVisible ? '/api/http-resources' : null,
  );
  const names = new Map(state.status === 'ready' ? state.data.items.map((item) => [item.id, item.name]) : []);
  return (
    <ul className="plain">
      {calls.map((call) => (
        <li key={`${call.at} ${call.method} ${call.path}`} data-resource={call.resourceId}>
          {call.method} {call.path} →{' '}
          {call.inFlight === true
            ? 'no answer before the run ended'
            : call.status === 0
              ? 'no answer'
              : call.status}{' '}
          <span className="muted">({names.get(call.resourceId) ?? <code>{call.resourceId}</code>})</span>
        </li>
      ))}
    </ul>
  );
}

/** Everything about one run: status, timings, approvals, live logs, result, error and input. */
export function ExecutionDetails({
  execution,
  headingLevel = 2,
  me,
}: {
  readonly execution: Execution;
  readonly headingLevel?: 2 | 3;
  /** The viewer, when known: Skill managers see the names of the HTTP resources a run called. */
  readonly me?: Me;
}) {
  const Heading = headingLevel === 2 ? 'h2' : 'h3';
  const running = !isTerminal(execution.status);
  return (
    <div className="execution" data-execution={execution.id} data-status={execution.status}>
      <p className="run-status" role="status" aria-live="polite">
        <Badge value={execution.status} />{' '}
        {/* A run bound to an agent says what it waits for, not the generic worker line. */}
        {running && execution.waitingFor !== undefined
          ? sentence(execution.waitingFor)
          : (STATUS_TEXT[execution.status] ?? execution.status)}
        {running ? <span className="spinner inline" aria-hidden="true" /> : null}
        {execution.status === 'running' && execution.startedAt !== undefined ? (
          <Elapsed from={execution.startedAt} />
        ) : null}
        {execution.cancelRequested === true && running ? (
          <span className="muted">
            {' '}
            · cancel requested by {execution.cancelRequestedBy}
            {execution.cancelReason === undefined ? null : `: ${execution.cancelReason}`}
          </span>
        ) : null}
      </p>
      <dl className="facts">
        <dt>Run</dt>
        <dd>
          <Link to={`/executions/${segment(execution.id)}`}>
            <code>{execution.id}</code>
          </Link>
        </dd>
        <dt>Skill</dt>
        <dd>
          {execution.skillName} <span className="muted">(revision {execution.skillRevision})</span>
        </dd>
        <dt>{execution.asset.kind === 'http' ? 'HTTP resource' : 'Script'}</dt>
        <dd>
          {execution.assetName ?? execution.asset.kind}{' '}
          <span className="muted">version {String(execution.asset.version)}</span>
          {execution.asset.agent === undefined ? null : (
            <span className="muted"> on agent {execution.asset.agent}</span>
          )}
        </dd>
        <dt>Requested by</dt>
        <dd>
          {execution.requestedBy}
          {execution.client === undefined ? null : <AgentNote name={execution.client.name} />}
          {execution.schedule === undefined ? null : (
            <span className="muted">
              {' '}
              by the schedule{' '}
              <Link to={`/schedules/${segment(execution.schedule.id)}`}>{execution.schedule.name}</Link>
            </span>
          )}
        </dd>
        <dt>Requested</dt>
        <dd>
          <DateTime value={execution.createdAt} />
          {execution.waitMs === undefined ? null : (
            <span className="muted"> · started {formatDuration(execution.waitMs)} later</span>
          )}
        </dd>
        {execution.sandbox?.network === undefined ? null : (
          <>
            <dt>Contained by</dt>
            <dd>
              network: {execution.sandbox.network}, memory: {execution.sandbox.memory}, files:{' '}
              {execution.sandbox.disk}
            </dd>
          </>
        )}
        {execution.egress === undefined || execution.egress.length === 0 ? null : (
          <>
            <dt>HTTP calls</dt>
            <dd>
              <EgressCalls
                calls={execution.egress}
                namesVisible={me?.permissions.includes('skill:manage') === true}
              />
            </dd>
          </>
        )}
        {execution.finishedAt === undefined ? null : (
          <>
            <dt>Finished</dt>
            <dd>
              <DateTime value={execution.finishedAt} />
              {execution.durationMs === undefined ? null : (
                <span className="muted" data-testid="duration">
                  {' '}
                  · ran for {formatDuration(execution.durationMs)}
                </span>
              )}
            </dd>
          </>
        )}
        {execution.rerunOf === undefined ? null : (
          <>
            <dt>Re-run of</dt>
            <dd>
              <Link to={`/executions/${segment(execution.rerunOf)}`}>
                <code>{execution.rerunOf}</code>
              </Link>
            </dd>
          </>
        )}
      </dl>
      {(execution.decisions ?? []).length === 0 ? null : (
        <section aria-label="Approvals">
          <Heading>Approvals</Heading>
          <ul className="plain-list decisions">
            {(execution.decisions ?? []).map((vote) => (
              <li key={`${vote.approver}:${vote.at}`} data-approver={vote.approver}>
                <Badge
                  value={vote.decision === 'approve' ? 'succeeded' : 'rejected'}
                  label={vote.decision === 'approve' ? 'approved' : 'rejected'}
                />{' '}
                by <strong>{vote.approver}</strong> <DateTime value={vote.at} />
                {vote.comment ? <q className="comment">{vote.comment}</q> : null}
              </li>
            ))}
          </ul>
        </section>
      )}
      {execution.output === undefined ? null : (
        <section aria-label="Result">
          <Heading>Result</Heading>
          <JsonBlock value={execution.output} label="Result" />
        </section>
      )}
      {execution.error === undefined ? null : (
        <section aria-label="Error" className="problem">
          <Heading>
            Error: {execution.error.type}
            {execution.error.limit === undefined ? null : ` (limit: ${execution.error.limit})`}
          </Heading>
          <p>{execution.error.message}</p>
          {execution.error.issues !== undefined && execution.error.issues.length > 0 ? (
            <ul className="problem-fields">
              {execution.error.issues.map((issue) => (
                <li key={`${issue.path}:${issue.message}`}>
                  <code>{issue.path || '(root)'}</code> {issue.message}
                </li>
              ))}
            </ul>
          ) : null}
          {execution.error.trace === undefined ? null : (
            <details>
              <summary>Trace</summary>
              <pre className="code source">{execution.error.trace}</pre>
            </details>
          )}
        </section>
      )}
      {execution.status === 'pending_approval' || execution.status === 'rejected' ? null : (
        <LogView
          key={`${execution.id}:${isTerminal(execution.status)}`}
          id={execution.id}
          ended={isTerminal(execution.status)}
          headingLevel={headingLevel}
        />
      )}
      <section aria-label="Input">
        <Heading>Input</Heading>
        <JsonBlock value={execution.input} label="Input" />
      </section>
    </div>
  );
}

/** Cancel (with a confirmation), run again with the same input, or open the form with it. */
function RunActions({
  execution,
  me,
  onChanged,
}: {
  readonly execution: Execution;
  readonly me: Me;
  readonly onChanged: () => void;
}) {
  const { confirm, dialog } = useConfirm();
  const [message, setMessage] = useNotice();
  // Read when the dialog is confirmed, after it has closed: a ref, not the field itself.
  const reason = useRef('');
  const cancel = useAction(async () => {
    const given = reason.current.trim();
    return api.post<Execution>(
      apiPath('/api/executions/{id}/cancel', { id: execution.id }),
      given === '' ? {} : { reason: given },
    );
  });
  const rerun = useAction(async () =>
    api.post<{ id: string }>(
      apiPath('/api/skills/{id}/executions', { id: execution.skillId }),
      { input: execution.input, rerunOf: execution.id },
      { headers: idempotencyHeaders() },
    ),
  );
  const mayCancel =
    !isTerminal(execution.status) &&
    execution.cancelRequested !== true &&
    (execution.requestedBy === me.username || me.permissions.includes('execution:cancel'));
  const mayRun = me.permissions.includes('skill:run');
  return (
    <div className="run-actions">
      {dialog}
      <div className="form-actions">
        {mayCancel ? (
          <button
            type="button"
            className="danger"
            disabled={cancel.pending}
            onClick={async () => {
              reason.current = '';
              const ok = await confirm({
                title: 'Cancel this run?',
                body: (
                  <>
                    <p>
                      {execution.status === 'running'
                        ? `The run of ${execution.skillName} is running: the platform asks its runtime to stop it. What it has done so far stays done.`
                        : `The run of ${execution.skillName} has not started; it will never start.`}
                    </p>
                    <label htmlFor="cancel-reason">Reason (optional, shown on the run)</label>
                    <input
                      id="cancel-reason"
                      maxLength={MAX_CANCEL_REASON}
                      onChange={(event) => {
                        reason.current = event.target.value;
                      }}
                    />
                  </>
                ),
                confirm: 'Cancel the run',
                dismiss: execution.status === 'running' ? 'Keep running' : 'Keep the run',
                danger: true,
              });
              if (!ok) return;
              const done = await cancel.run();
              if (done !== undefined) {
                setMessage(
                  done.status === 'cancelled'
                    ? 'The run is cancelled.'
                    : 'Cancel requested: the run will be stopped.',
                );
                onChanged();
              }
            }}
          >
            Cancel run
          </button>
        ) : null}
        {mayRun && isTerminal(execution.status) ? (
          <>
            <button
              type="button"
              className="secondary"
              disabled={rerun.pending}
              onClick={async () => {
                const started = await rerun.run();
                if (started !== undefined) navigate(`/executions/${segment(started.id)}`);
              }}
            >
              Run again
            </button>
            <Link
              className="button secondary"
              to={withQuery(`/skills/${segment(execution.skillId)}`, { from: execution.id })}
            >
              Edit input and run again
            </Link>
          </>
        ) : null}
      </div>
      <Notice>{message}</Notice>
      <ProblemView problem={cancel.problem ?? rerun.problem} />
    </div>
  );
}

/**
 * Approve or reject a waiting run from its page, as in the approvals inbox (whose entry for the run
 * says whether the caller may decide); the API has the last word and its refusal is shown.
 */
function RunDecision({
  execution,
  self,
  onDecided,
}: {
  readonly execution: Execution;
  readonly self: string;
  readonly onDecided: (text: string) => void;
}) {
  const inbox = useResource<{ items: InboxItem[] }>('/api/approvals');
  const item =
    inbox.state.status === 'ready'
      ? inbox.state.data.items.find((entry) => entry.id === execution.id)
      : undefined;
  if (item === undefined) return null;
  return (
    <section aria-labelledby="run-decision" className="run-decision">
      <h2 id="run-decision">Your decision</h2>
      <Decision
        execution={item}
        self={self}
        onDecided={(text) => {
          inbox.reload();
          onDecided(text);
        }}
      />
    </section>
  );
}

export function ExecutionPage({ id, me }: { readonly id: string; readonly me: Me }) {
  const { state, refresh } = useExecution(id);
  const [decided, setDecided] = useNotice();
  return (
    <>
      <PageHeader title={state.status === 'ready' ? `Run of ${state.data.skillName}` : 'Run'}>
        <Link className="button secondary" to="/executions">
          All runs
        </Link>
      </PageHeader>
      <div className="card">
        <Show state={state} loading="Loading the run…">
          {(execution) => (
            <>
              <RunActions
                execution={execution}
                me={me}
                onChanged={() => {
                  refresh();
                  refreshNotifications();
                }}
              />
              {execution.status === 'pending_approval' && me.permissions.includes('approval:decide') ? (
                <RunDecision
                  execution={execution}
                  self={me.username}
                  onDecided={(text) => {
                    setDecided(text);
                    refresh();
                    refreshNotifications();
                  }}
                />
              ) : null}
              <Notice>{decided}</Notice>
              <ExecutionDetails execution={execution} me={me} />
            </>
          )}
        </Show>
      </div>
    </>
  );
}

const FILTERS = ['status', 'skillId', 'requestedBy', 'from', 'to'] as const;

/** `2026-05-01` → the start (or end) of that day, UTC, as the API's instant. */
function dayBound(day: string, end: boolean): string | undefined {
  if (day === '') return undefined;
  return `${day}T${end ? '23:59:59.999' : '00:00:00.000'}Z`;
}

export function ExecutionsPage() {
  const filters = useAddressFilters(FILTERS);
  const { current, draft, set } = filters;
  // A status the address names that is none (`?status=faild`): shown as it is, and said to be none.
  const strayStatus =
    current.status !== '' && !(EXECUTION_STATUSES as readonly string[]).includes(current.status)
      ? current.status
      : null;
  const [runId, setRunId] = useState('');
  const skills = useResource<{ items: Skill[] }>('/api/skills?archived=true');
  const path = withQuery('/api/executions', {
    status: current.status,
    skillId: current.skillId,
    requestedBy: current.requestedBy,
    from: dayBound(current.from, false),
    to: dayBound(current.to, true),
  });
  const list = usePaged<Execution>(path);
  const { filtered } = filters;
  const skillOptions =
    skills.state.status === 'ready'
      ? [...skills.state.data.items].sort((a, b) => a.name.localeCompare(b.name))
      : [];
  return (
    <>
      <PageHeader title="Runs">
        <button type="button" className="secondary" onClick={list.reload}>
          Refresh
        </button>
      </PageHeader>
      <Section title="Find runs">
        <form onSubmit={filters.apply} className="filters" aria-label="Filter runs">
          <div className="form-row filters-row">
            <div className="field">
              <label htmlFor="filter-status">Status</label>
              <select
                id="filter-status"
                value={draft.status}
                {...(strayStatus !== null && draft.status === strayStatus
                  ? { 'aria-invalid': true, 'aria-describedby': 'filter-status-error' }
                  : {})}
                onChange={(e) => set('status')(e.target.value)}
              >
                <option value="">Any</option>
                {EXECUTION_STATUSES.map((status) => (
                  <option key={status} value={status}>
                    {status.replace('_', ' ')}
                  </option>
                ))}
                {strayStatus === null ? null : (
                  <option value={strayStatus} disabled>
                    {strayStatus} (not a status)
                  </option>
                )}
              </select>
              {strayStatus === null ? null : (
                <p id="filter-status-error" className="field-error">
                  “{strayStatus}” is not a run status: choose one, or clear the filters.
                </p>
              )}
            </div>
            <div className="field">
              <label htmlFor="filter-skill">Skill</label>
              <select
                id="filter-skill"
                value={draft.skillId}
                onChange={(e) => set('skillId')(e.target.value)}
              >
                <option value="">Any</option>
                {skillOptions.map((skill) => (
                  <option key={skill.id} value={skill.id}>
                    {skill.name}
                    {skill.state === 'active' ? '' : ` (${skill.state})`}
                  </option>
                ))}
                {/* A Skill the address names that the list has not (yet): shown by its id, not as "Any". */}
                {draft.skillId === '' || skillOptions.some((skill) => skill.id === draft.skillId) ? null : (
                  <option value={draft.skillId}>
                    {draft.skillId}
                    {skills.state.status === 'ready' ? ' (no such Skill)' : ''}
                  </option>
                )}
              </select>
            </div>
            <div className="field">
              <label htmlFor="filter-requester">Requested by</label>
              <input
                id="filter-requester"
                value={draft.requestedBy}
                autoCapitalize="none"
                spellCheck={false}
                placeholder="username"
                onChange={(e) => set('requestedBy')(e.target.value)}
              />
            </div>
            <div className="field">
              <label htmlFor="filter-from">From</label>
              <input
                id="filter-from"
                type="date"
                value={draft.from}
                onChange={(e) => set('from')(e.target.value)}
              />
            </div>
            <div className="field">
              <label htmlFor="filter-to">To</label>
              <input
                id="filter-to"
                type="date"
                value={draft.to}
                onChange={(e) => set('to')(e.target.value)}
              />
            </div>
          </div>
          <div className="form-actions">
            <button type="submit">Apply filters</button>
            <ClearFilters filters={filters} />
          </div>
        </form>
        <form
          className="form-row search-row"
          aria-label="Open a run by id"
          onSubmit={(event) => {
            event.preventDefault();
            const id = runId.trim();
            if (id !== '') navigate(`/executions/${segment(id)}`);
          }}
        >
          <div className="field">
            <label htmlFor="run-search">Run id</label>
            <input
              id="run-search"
              value={runId}
              spellCheck={false}
              autoCapitalize="none"
              placeholder="ex-…"
              onChange={(e) => setRunId(e.target.value)}
            />
          </div>
          <div className="form-actions">
            <button type="submit" className="secondary">
              Open run
            </button>
          </div>
        </form>
      </Section>
      <Section title={filtered ? 'Matching runs' : 'History'}>
        <ShowList
          state={list.state}
          loading="Loading runs…"
          empty={
            filtered ? (
              <p>
                No run matches these filters{list.hasMore ? ' on this page; load more to look further' : ''}.
              </p>
            ) : (
              <>
                <p>No runs yet. Run a Skill from the catalogue and it shows up here.</p>
                <p>
                  <Link to="/skills">Open the catalogue</Link>
                </p>
              </>
            )
          }
        >
          {(items) => (
            <Table columns={['Requested', 'Skill', 'Status', 'By', 'Duration', 'Run']}>
              {items.map((execution) => (
                <tr key={execution.id} data-run={execution.id}>
                  <td>
                    <DateTime value={execution.createdAt} />
                  </td>
                  <td>{execution.skillName}</td>
                  <td>
                    <Badge value={execution.status} />
                    {execution.waitingFor === undefined ? null : (
                      <div className="muted">{sentence(execution.waitingFor)}</div>
                    )}
                  </td>
                  <td>{execution.requestedBy}</td>
                  <td>{formatDuration(execution.durationMs)}</td>
                  <td>
                    <Link
                      to={`/executions/${segment(execution.id)}`}
                      aria-label={`Details of the run of ${execution.skillName} requested at ${execution.createdAt}`}
                    >
                      Details
                    </Link>
                  </td>
                </tr>
              ))}
            </Table>
          )}
        </ShowList>
        <LoadMore list={list} />
      </Section>
    </>
  );
}
